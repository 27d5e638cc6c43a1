// The exclude rules in XFRM (issue 14's proof 3 found this): traffic an operator excludes from
// encryption (BGP between sites, tcp/179) crosses the WAN in clear both ways, but cleartext that
// arrives for a protected local prefix meets the carrier's fwd policies "remote -> local requires
// ESP" (xfrm/dataplane.h) and is dropped (XfrmInTmplMismatch) whatever nft accepted. So every
// exclude selector, in both directions, is also an XFRM `dir fwd action allow` policy without a
// template, at a priority that wins over the fwd policies: the priority order of ARCHITECTURE.md
// (exclude before group policy) holds in XFRM as in nft. Fail-open is not mirrored: its traffic
// passes only while the group has no TEK, when nothing is routed into the carrier either.
// Pure: the policies from the configuration.
#pragma once

#include <cstdint>
#include <vector>

#include "config/config.h"
#include "xfrm/policy.h"

namespace member {

// Below DataplaneConfig::policy_priority (1000, the fwd policies; lower wins), above the
// carrier guard (100).
inline constexpr uint32_t kExcludePolicyPriority = 500;

// One policy per exclude rule, direction, address family (both when the rule names no prefix)
// and aligned port block (an XFRM selector holds a port and a mask, not a range), without
// duplicates.
std::vector<xfrm::PolicySpec> exclude_policies(const std::vector<GroupConfig>& groups);

// Whether a policy is one of those (an own allow policy of that priority in dir fwd).
bool is_exclude_policy(const xfrm::PolicySpec& p);

}  // namespace member
