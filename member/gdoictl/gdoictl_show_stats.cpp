// `gdoictl show stats`: per-group counters — registrations (GROUPKEY-PULL), rekeys
// (GROUPKEY-PUSH) accepted and rejected by reason, ACKs sent (RFC 8263), recovery
// probes, kernel SA soft/hard expires, replays dropped by time-based anti-replay; Junos
// `show security group-vpn member ... statistics`, IOS `show crypto gdoi` "Succeeded
// registration" / "Rekeys received". One block per group because the list of reasons varies.
#include "gdoictl/status_text.h"

namespace member {

std::string render_stats(const MemberStatus& status, const ViewFilter& filter) {
    const auto groups = selected_groups(status, filter);
    if (groups.empty()) return no_groups_text(filter);

    std::string out;
    for (const GroupStatus* g : groups) {
        const GroupCounters& c = g->counters;
        if (!out.empty()) out += '\n';
        out += "Group " + printable(g->name) + " (id " + std::to_string(g->id) + ")\n";
        TextTable table({{"  Counter"}, {"Value", TextTable::Align::right}});
        const auto row = [&](std::string name, uint64_t v) {
            table.add_row({"  " + name, std::to_string(v)});
        };
        row("Registrations", c.registrations);
        row("Registration failures", c.registration_failures);
        row("Rekeys accepted", c.rekeys_accepted);
        row("Rekeys rejected", c.rekeys_rejected);
        for (const auto& [reason, count] : c.rekeys_rejected_by_reason) row("  " + reason, count);
        row("ACKs sent", c.acks_sent);
        row("Recovery probes", c.recovery_probes);
        row("SA soft expires", c.soft_expires);
        row("SA hard expires", c.hard_expires);
        if (g->anti_replay_window != 0) {
            // Junos "Anti-replay time window" drops; each TEK's since its rule was written.
            row("Replays dropped (window " + std::to_string(g->anti_replay_window) + " s)",
                c.replays_dropped);
            for (const TekStatus& t : g->teks) row("  TEK " + t.spi, t.replays_dropped);
        }
        out += table.render();
    }
    return out;
}

}  // namespace member
