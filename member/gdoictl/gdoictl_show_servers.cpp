// `gdoictl show servers`: the configured key servers of each group in the order they
// are tried (up to 4), which one is in use, its failure count and last error; IOS
// `show crypto gdoi` "Group Server list", Junos `show security group-vpn member
// ike security-associations` (remote address).
#include "gdoictl/status_text.h"

namespace member {

std::string render_servers(const MemberStatus& status, const ViewFilter& filter) {
    const auto groups = selected_groups(status, filter);
    if (groups.empty()) return no_groups_text(filter);

    using A = TextTable::Align;
    TextTable table(
        {{"Group"}, {"#", A::right}, {"Key server"}, {"In use"}, {"Failures", A::right}, {"Last error"}});
    for (const GroupStatus* g : groups) {
        if (g->servers.empty()) table.add_row({g->name, "-", "-", "-", "-", "-"});
        for (std::size_t k = 0; k < g->servers.size(); ++k) {
            const ServerStatus& s = g->servers[k];
            table.add_row({g->name, std::to_string(k + 1), s.address, s.in_use ? "yes" : "no",
                           std::to_string(s.failures), s.last_error});
        }
    }
    return table.render();
}

}  // namespace member
