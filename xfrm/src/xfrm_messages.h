// Building and parsing NETLINK_XFRM messages (linux/xfrm.h layouts). Internal.
#pragma once

#include <optional>
#include <span>

#include "common/result.h"
#include "xfrm/netlink.h"
#include "xfrm/policy.h"
#include "xfrm/sa.h"

namespace xfrm::detail {

common::Status build_sa(MessageBuffer& out, const SaSpec& sa, uint32_t owner, bool update);
void build_sa_id(MessageBuffer& out, const SaId& id, bool get);  // DELSA or GETSA
common::Status build_policy(MessageBuffer& out, const PolicySpec& policy, uint32_t owner, bool update);
void build_delete_policy(MessageBuffer& out, const PolicyId& id, uint32_t owner);
void build_sa_dump(MessageBuffer& out);
void build_policy_dump(MessageBuffer& out);

// XFRM_MSG_NEWSA (dump/get reply) and XFRM_MSG_NEWPOLICY (dump reply).
std::optional<SaState> parse_sa(std::span<const uint8_t> message);
std::optional<PolicyState> parse_policy(std::span<const uint8_t> message);
// struct xfrm_usersa_info (also inside XFRM_MSG_EXPIRE), without attributes.
SaState sa_state_from_info(const void* xfrm_usersa_info);

}  // namespace xfrm::detail
