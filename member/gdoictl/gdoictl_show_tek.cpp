// `gdoictl show tek`: the traffic SAs of each group — SPI, ESP transform, role in the
// make-before-break rollover, remaining lifetime, the kernel's packet and byte counters of
// its inbound/outbound SAs and the traffic selector; Junos `show security group-vpn member
// ipsec security-associations`, IOS `show crypto gdoi` "TEK POLICY". Keys are never shown.
#include "gdoictl/status_text.h"

namespace member {
namespace {

// "IN/OUT" for one counter of the TEK's SAs, "-" for a direction without an SA, "-" alone
// when the kernel holds none (no kernel dataplane).
std::string in_out(const TekStatus& t, uint64_t SaCounterStatus::*counter) {
    if (t.sas.empty()) return "-";
    std::string in = "-";
    std::string out = "-";
    for (const SaCounterStatus& sa : t.sas) {
        if (sa.direction == "inbound") in = std::to_string(sa.*counter);
        if (sa.direction == "outbound") out = std::to_string(sa.*counter);
    }
    return in + "/" + out;
}

}  // namespace

std::string render_tek(const MemberStatus& status, const ViewFilter& filter) {
    const auto groups = selected_groups(status, filter);
    if (groups.empty()) return no_groups_text(filter);

    using A = TextTable::Align;
    TextTable table({{"Group"},
                     {"SPI"},
                     {"Algorithm"},
                     {"Role"},
                     {"Lifetime", A::right},
                     {"Packets in/out", A::right},
                     {"Bytes in/out", A::right},
                     {"Selector"}});
    for (const GroupStatus* g : groups) {
        if (g->teks.empty())
            table.add_row({g->name, "none (" + g->state + ")", "-", "-", "-", "-", "-", "-"});
        for (const TekStatus& t : g->teks) {
            table.add_row({g->name, t.spi, t.algorithm, t.role, format_duration(t.remaining_seconds),
                           in_out(t, &SaCounterStatus::packets), in_out(t, &SaCounterStatus::bytes),
                           t.selector});
        }
    }
    return table.render();
}

}  // namespace member
