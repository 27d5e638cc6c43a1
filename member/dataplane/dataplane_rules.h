// The member's nft rule model (policy::MemberRules) from the configuration and the groups'
// TEKs. Pure.
//
// Fail-closed before the first registration: the key server's policies are not known yet,
// so the group's scope is everything to or from its LAN prefixes (selector "source = LAN
// prefix", both directions): LAN <-> WAN traffic is dropped unless excluded or fail-open,
// while the member's own traffic to the key server (WAN address) still passes. Once TEKs
// arrive, the scope is their selectors (also after the last TEK expires).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "dataplane/dataplane_selectors.h"
#include "policy/rules.h"

namespace member {

struct CarrierChoice {
    std::string ifname;
    policy::Ipv4 g_in;
    policy::Ipv4 g_out;
    // The IPv6 carriers' pseudo addresses, once a group has an IPv6 carrier (nullopt: none).
    std::optional<common::IpAddress> g_in6;
    std::optional<common::IpAddress> g_out6;
};

// tek_selectors: the selectors of the group's accepted TEKs (empty before registration).
policy::RuleSet group_rule_set(const GroupConfig& group, const std::vector<policy::Selector>& tek_selectors,
                               bool keyed, const std::vector<NetPrefix>& lan_scope);

policy::MemberRules member_rules(const MemberConfig& config, const CarrierChoice& carrier,
                                 uint32_t clear_mark, const std::string& table_name,
                                 const std::vector<NetPrefix>& esp_scope,
                                 std::vector<policy::RuleSet> groups);

// The group's own IKE/GDOI with each of its key servers (local port <-> server address and
// port, UDP): exempt from every other rule (policy::MemberRules::own_traffic).
std::vector<policy::Selector> own_traffic_selectors(const GroupConfig& group,
                                                    const ServerAddress& local_address);

}  // namespace member
