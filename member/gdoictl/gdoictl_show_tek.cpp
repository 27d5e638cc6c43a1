// `gdoictl show tek`: the traffic SAs of each group — SPI, ESP transform, role in the
// make-before-break rollover, remaining lifetime and the traffic selector; Junos
// `show security group-vpn member ipsec security-associations`, IOS `show crypto gdoi`
// "TEK POLICY". Keys are never shown.
#include "gdoictl/status_text.h"

namespace member {

std::string render_tek(const MemberStatus& status, const ViewFilter& filter) {
    const auto groups = selected_groups(status, filter);
    if (groups.empty()) return no_groups_text(filter);

    using A = TextTable::Align;
    TextTable table({{"Group"}, {"SPI"}, {"Algorithm"}, {"Role"}, {"Lifetime", A::right}, {"Selector"}});
    for (const GroupStatus* g : groups) {
        if (g->teks.empty()) table.add_row({g->name, "none (" + g->state + ")", "-", "-", "-", "-"});
        for (const TekStatus& t : g->teks) {
            table.add_row(
                {g->name, t.spi, t.algorithm, t.role, format_duration(t.remaining_seconds), t.selector});
        }
    }
    return table.render();
}

}  // namespace member
