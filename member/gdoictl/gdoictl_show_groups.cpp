// `gdoictl show groups`: one row per group — registration state and for how long, the
// key server in use, the last rekey, the SEQ of the last accepted push (RFC 6407 §3.2.4)
// and the number of TEKs; IOS `show crypto gdoi` "Registration status" / "Registered
// with" / "Last rekey seq num", Junos `show security group-vpn member ike
// security-associations`.
#include "gdoictl/status_text.h"

namespace member {

std::string render_groups(const MemberStatus& status, const ViewFilter& filter) {
    std::string out = "gdoi-memberd " + printable(status.version) + ", up " +
                      format_duration(status.uptime_seconds) + "\n\n";
    const auto groups = selected_groups(status, filter);
    if (groups.empty()) return out + no_groups_text(filter);

    using A = TextTable::Align;
    TextTable table({{"Group"},
                     {"ID", A::right},
                     {"State"},
                     {"In state", A::right},
                     {"Key server"},
                     {"Last rekey", A::right},
                     {"SEQ", A::right},
                     {"KEK"},
                     {"TEKs", A::right},
                     {"Detail"}});
    for (const GroupStatus* g : groups) {
        table.add_row({g->name, std::to_string(g->id), g->state, format_duration(g->since_seconds), g->server,
                       format_ago(g->last_rekey_seconds_ago), std::to_string(g->sequence),
                       g->kek.empty() ? "no" : "yes", std::to_string(g->teks.size()), g->detail});
    }
    out += table.render();
    for (const GroupStatus* g : groups)
        if (!g->health.empty()) out += "\nWARNING " + g->name + ": " + g->health + "\n";
    return out;
}

}  // namespace member
