// MemberRules -> TableSpec. Pure: no kernel access, so the whole rule layout is unit-testable.
#pragma once

#include <string>

#include "common/result.h"
#include "policy/rules.h"
#include "policy/table_spec.h"

namespace policy {

// Chain names of the member's table (stable: tests, docs and operators refer to them).
inline constexpr const char* kChainEspInbound = "esp_inbound";              // prerouting, raw (-300)
inline constexpr const char* kChainNotrackOutput = "notrack_output";        // output, raw (-300)
inline constexpr const char* kChainLanClassify = "lan_classify";            // prerouting, mangle
inline constexpr const char* kChainLocalClassify = "local_classify";        // route output, mangle
inline constexpr const char* kChainClassify = "classify";                   // regular: rules 1-3
inline constexpr const char* kChainForward = "forward";                     // forward, filter
inline constexpr const char* kChainInput = "input";                         // input, filter
inline constexpr const char* kChainOutbound = "outbound";                   // regular: enforce 2-4 LAN -> WAN
inline constexpr const char* kChainInbound = "inbound";                     // regular: WAN -> scope
inline constexpr const char* kChainPostrouting = "postrouting";             // carrier rewrite + WAN guard
inline constexpr const char* kChainHealthForward = "health_forward";        // forward, late: counts only
inline constexpr const char* kChainHealthInput = "health_input";            // input, late: counts only
inline constexpr const char* kChainPostroutingEarly = "postrouting_early";  // WAN guard before NAT
inline constexpr const char* kSetLanIfnames = "lan_ifnames";

// Priorities (nft names): ESP readdressing must run before conntrack (-200) so the inbound SA
// lookup and conntrack see g_out -> g_in; the WAN guard runs late (after NAT at 100) as a last resort.
inline constexpr int kPriorityRaw = -300;
inline constexpr int kPriorityMangle = -150;
inline constexpr int kPriorityFilter = 0;
inline constexpr int kPriorityGuard = 300;

std::string fail_open_set_name(std::uint32_t group_id, Family family);
// Comments of the per-group carrier guards in postrouting (the health check counts them), of
// the group's IPIP (ipv4) or ip6ip6 (ipv6) carrier.
std::string carrier_guard_comment(const RuleSet& group, Family family = Family::ipv4);
std::string peer_guard_comment(const RuleSet& group, Family family = Family::ipv4);
std::string scope_set_name(std::uint32_t group_id, Family family);
// Anti-replay: esp_inbound checks each inbound SPI's sequence number against the window and jumps
// to the group's chain replay_<id>, whose rule per SPI counts and drops (its comment: the
// dataplane reads the replays dropped per SPI from its counter; it is not rewritten when the
// window moves).
std::string replay_chain_name(std::uint32_t group_id);
std::string replay_rule_comment(const RuleSet& group, std::uint32_t spi);
namespace detail {
// The group's check rules in esp_inbound (compile() and set_replay_window() build them alike).
std::vector<RuleSpec> replay_check_rules(const RuleSet& group, const std::string& wan_ifname);
}  // namespace detail

// Validates, then compiles. Fail-open sets are filled for groups without a valid TEK.
common::Result<TableSpec> compile(const MemberRules& rules);

}  // namespace policy
