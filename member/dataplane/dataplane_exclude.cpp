// The exclude rules as XFRM allow policies (see dataplane_exclude.h).
#include "dataplane/dataplane_exclude.h"

#include <algorithm>
#include <utility>

#include "dataplane/dataplane_selectors.h"

namespace member {
namespace {

struct PortBlock {
    uint16_t port = 0;
    uint16_t mask = 0;  // 0: any port
};

// The aligned blocks covering [first, last] exactly (any port: one block without a mask). The
// block arithmetic of address ranges (range_to_prefixes), on ports as the values below 2^16: a
// block a.b.c.d/L with L >= 16 is the port c.d with the mask of its last 16 prefix bits.
std::vector<PortBlock> port_blocks(const std::optional<policy::PortRange>& range) {
    if (!range) return {{0, 0}};
    std::vector<PortBlock> out;
    for (const auto& block : range_to_prefixes(common::IpFamily::ipv4, range->first, range->last))
        out.push_back(
            {static_cast<uint16_t>(block.address), static_cast<uint16_t>(~block.host_mask() & 0xffff)});
    return out;
}

xfrm::Prefix prefix_or_any(const std::optional<policy::Prefix>& p, common::IpFamily family) {
    return p ? xfrm::Prefix(p->ip()) : xfrm::Prefix::any(family);
}

}  // namespace

std::vector<xfrm::PolicySpec> exclude_policies(const std::vector<GroupConfig>& groups) {
    std::vector<xfrm::PolicySpec> out;
    for (const auto& g : groups)
        for (const auto& rule : g.exclude)
            for (const auto& s : {rule.selector, rule.selector.mirrored()}) {
                std::vector<common::IpFamily> families;
                if (s.family() == policy::Family::any)
                    families = {common::IpFamily::ipv4, common::IpFamily::ipv6};
                else
                    families = {policy::ip_family(s.family())};
                for (const auto family : families)
                    for (const auto& sp : port_blocks(s.source_port))
                        for (const auto& dp : port_blocks(s.destination_port)) {
                            xfrm::PolicySpec p;
                            p.selector.src = prefix_or_any(s.source, family);
                            p.selector.dst = prefix_or_any(s.destination, family);
                            p.selector.proto = s.protocol.value_or(0);
                            p.selector.src_port = sp.port;
                            p.selector.src_port_mask = sp.mask == 0xffff ? 0 : sp.mask;
                            p.selector.dst_port = dp.port;
                            p.selector.dst_port_mask = dp.mask == 0xffff ? 0 : dp.mask;
                            p.dir = xfrm::Direction::fwd;
                            p.action = xfrm::Action::allow;
                            p.priority = kExcludePolicyPriority;
                            if (std::none_of(out.begin(), out.end(), [&](const xfrm::PolicySpec& o) {
                                    return o.selector == p.selector;
                                }))
                                out.push_back(std::move(p));
                        }
            }
    return out;
}

bool is_exclude_policy(const xfrm::PolicySpec& p) {
    return p.dir == xfrm::Direction::fwd && p.action == xfrm::Action::allow && p.templates.empty() &&
           p.priority == kExcludePolicyPriority;
}

}  // namespace member
