// `gdoictl show policy`: the member's rules in evaluation order (exclude, group
// policy, fail-open, fail-closed) with their action and selector; Junos `show security
// group-vpn member policy`, IOS `show crypto gdoi` "ACL Downloaded From KS".
#include "gdoictl/status_text.h"

namespace member {

std::string render_policy(const MemberStatus& status, const ViewFilter& filter) {
    const auto groups = selected_groups(status, filter);
    if (groups.empty()) return no_groups_text(filter);

    using A = TextTable::Align;
    TextTable table({{"Group"}, {"#", A::right}, {"Kind"}, {"Action"}, {"Selector"}});
    for (const GroupStatus* g : groups) {
        if (g->policies.empty()) table.add_row({g->name, "-", "none", "-", "-"});
        for (std::size_t k = 0; k < g->policies.size(); ++k) {
            const PolicyStatus& p = g->policies[k];
            table.add_row({g->name, std::to_string(k + 1), p.kind, p.action, p.selector});
        }
    }
    return table.render();
}

}  // namespace member
