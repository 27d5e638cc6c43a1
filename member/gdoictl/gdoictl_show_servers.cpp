// `gdoictl show servers`: the configured key servers of each group in the order they
// are tried (up to 4), which one is in use, its failure count and last error, the identity
// its last phase 1 authenticated and, with certificates, when its certificate expires; IOS
// `show crypto gdoi` "Group Server list", Junos `show security group-vpn member
// ike security-associations` (remote address). Under the table: our own certificate per group
// and every certificate warning (expired, or expiring within 30 days).
#include "gdoictl/status_text.h"

namespace member {
namespace {

// "2027-01-04 (29d23h)", "2026-12-01 (expired)".
std::string expiry_cell(const std::vector<CertificateStatus>& cert) {
    if (cert.empty()) return "-";
    const auto& c = cert.front();
    return printable(c.not_after.substr(0, 10)) + " (" +
           (c.seconds_left == 0 ? std::string("expired") : format_duration(c.seconds_left)) + ")";
}

}  // namespace

std::string render_servers(const MemberStatus& status, const ViewFilter& filter) {
    const auto groups = selected_groups(status, filter);
    if (groups.empty()) return no_groups_text(filter);

    using A = TextTable::Align;
    TextTable table({{"Group"},
                     {"#", A::right},
                     {"Key server"},
                     {"In use"},
                     {"Failures", A::right},
                     {"Identity"},
                     {"Cert expires"},
                     {"Last error"}});
    std::string notes;
    for (const GroupStatus* g : groups) {
        if (g->servers.empty()) table.add_row({g->name, "-", "-", "-", "-", "-", "-", "-"});
        for (std::size_t k = 0; k < g->servers.size(); ++k) {
            const ServerStatus& s = g->servers[k];
            table.add_row({g->name, std::to_string(k + 1), s.address, s.in_use ? "yes" : "no",
                           std::to_string(s.failures), printable(s.identity), expiry_cell(s.certificate),
                           s.last_error});
            for (const auto& c : s.certificate)
                if (!c.warning.empty())
                    notes += printable(g->name) + ": WARNING: key server " + printable(s.address) +
                             " certificate '" + printable(c.subject) + "' " + printable(c.warning) + "\n";
        }
        for (const auto& c : g->certificate) {
            notes += printable(g->name) + ": our certificate '" + printable(c.subject) + "' expires " +
                     expiry_cell(g->certificate) + "\n";
            if (!c.warning.empty())
                notes += printable(g->name) + ": WARNING: our certificate " + printable(c.warning) + "\n";
        }
    }
    return table.render() + (notes.empty() ? "" : "\n" + notes);
}

}  // namespace member
