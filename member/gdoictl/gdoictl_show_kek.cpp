// `gdoictl show kek`: the rekey SA of each group — its SPI (the ISAKMP cookie pair of
// GROUPKEY-PUSH, RFC 6407 §5.3), encryption and signature algorithms, remaining
// lifetime, whether pushes ask for an ACK (RFC 8263) and how they arrive (unicast, or the
// multicast group the member joined); Junos `show security
// group-vpn member kek security-associations detail`. Keys are never shown.
#include "gdoictl/status_text.h"

namespace member {

std::string render_kek(const MemberStatus& status, const ViewFilter& filter) {
    const auto groups = selected_groups(status, filter);
    if (groups.empty()) return no_groups_text(filter);

    using A = TextTable::Align;
    TextTable table({{"Group"},
                     {"KEK SPI"},
                     {"Algorithm"},
                     {"Signature"},
                     {"Lifetime", A::right},
                     {"ACK"},
                     {"Rekeys via"}});
    for (const GroupStatus* g : groups) {
        if (g->kek.empty()) table.add_row({g->name, "none (" + g->state + ")", "-", "-", "-", "-", "-"});
        for (const KekStatus& k : g->kek) {
            table.add_row({g->name, k.spi, k.algorithm, k.signature, format_duration(k.remaining_seconds),
                           k.ack_requested ? "requested" : "no", k.rekey_via});
        }
    }
    return table.render();
}

}  // namespace member
