// nft rule model of the groups (see dataplane_rules.h).
#include "dataplane/dataplane_rules.h"

#include <algorithm>

namespace member {
namespace {
constexpr std::uint8_t kProtoUdp = 17;
}  // namespace

policy::RuleSet group_rule_set(const GroupConfig& group, const std::vector<policy::Selector>& tek_selectors,
                               bool keyed, const std::vector<NetPrefix>& lan_scope) {
    policy::RuleSet r;
    r.group_id = group.id;
    r.group_name = group.name;
    r.exclude = group.exclude;
    r.fail_open = group.fail_open;
    if (tek_selectors.empty()) {
        for (const auto& p : lan_scope) {
            policy::Selector s;
            s.source = p.to_policy();
            r.policies.push_back({s});
        }
        r.has_valid_tek = false;
        return r;
    }
    for (const auto& s : tek_selectors)
        if (std::none_of(r.policies.begin(), r.policies.end(),
                         [&](const policy::GroupPolicy& g) { return g.selector == s; }))
            r.policies.push_back({s});
    r.has_valid_tek = keyed;
    return r;
}

std::vector<policy::Selector> own_traffic_selectors(const GroupConfig& group,
                                                    const ServerAddress& local_address) {
    std::vector<policy::Selector> out;
    for (const auto& server : group.servers) {
        if (server.family() != AF_INET && server.family() != AF_INET6) continue;  // loader: IP literals only
        const auto address = server.address();
        policy::Selector s;
        s.destination = policy::Prefix::from(common::IpPrefix::host(address));
        if (local_address.len != 0)
            if (const auto local = local_address.address(); local.family == address.family)
                s.source = policy::Prefix::from(common::IpPrefix::host(local));
        s.protocol = kProtoUdp;
        s.source_port = policy::PortRange::single(group.local_port);
        s.destination_port = policy::PortRange::single(server.port());
        if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(std::move(s));
    }
    return out;
}

policy::MemberRules member_rules(const MemberConfig& config, const CarrierChoice& carrier,
                                 uint32_t clear_mark, const std::string& table_name,
                                 const std::vector<NetPrefix>& esp_scope,
                                 std::vector<policy::RuleSet> groups) {
    policy::MemberRules m;
    m.table_name = table_name;
    m.carrier = {carrier.ifname, carrier.g_in, carrier.g_out, std::nullopt, std::nullopt};
    m.wan_ifname = config.wan_interface;
    for (const auto& g : config.groups)
        for (const auto& lan : g.lan_interfaces)
            if (std::find(m.lan_ifnames.begin(), m.lan_ifnames.end(), lan) == m.lan_ifnames.end())
                m.lan_ifnames.push_back(lan);
    m.clear_mark = clear_mark;
    // Every carrier peer G_OUT_k lies in G_OUT's /24 (kernel_dataplane.h).
    m.carrier.peers = policy::Prefix::from(common::IpPrefix{carrier.g_out.ip(), 24}.network());
    // Every IPv6 carrier peer G_OUT6_k = G_OUT6 + k lies in G_OUT6's /120.
    if (carrier.g_in6 && carrier.g_out6)
        m.carrier.ipv6 =
            policy::Carrier6{*carrier.g_in6, *carrier.g_out6,
                             policy::Prefix::from(common::IpPrefix{*carrier.g_out6, 120}.network())};
    for (const auto& g : config.groups)
        for (auto& s : own_traffic_selectors(g, config.local_address))
            if (std::find(m.own_traffic.begin(), m.own_traffic.end(), s) == m.own_traffic.end())
                m.own_traffic.push_back(std::move(s));
    for (const auto& p : esp_scope) m.local_scope.push_back(p.to_policy());
    m.groups = std::move(groups);
    return m;
}

}  // namespace member
