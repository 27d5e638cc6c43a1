// Building and parsing NETLINK_XFRM messages (linux/xfrm.h layouts). Internal.
#pragma once

#include <optional>
#include <span>

#include <linux/xfrm.h>
#include <sys/socket.h>

#include <cstring>

#include "common/result.h"
#include "xfrm/netlink.h"
#include "xfrm/policy.h"
#include "xfrm/sa.h"

namespace xfrm::detail {

// IPPROTO_ESP; the only XFRM protocol this library installs.
inline constexpr uint8_t kIpprotoEsp = 50;

inline xfrm_address_t to_xfrm(const Address& a) {
    xfrm_address_t x{};
    std::memcpy(&x, a.bytes.data(), sizeof(x));
    return x;
}

inline Address from_xfrm(const xfrm_address_t& x, uint16_t af) {
    Address a;
    a.family = af == AF_INET6 ? Family::ipv6 : Family::ipv4;
    std::memcpy(a.bytes.data(), &x, a.family == Family::ipv4 ? 4 : 16);
    return a;
}

// The API says 0 for "no limit"; the kernel says XFRM_INF.
inline uint64_t to_limit(uint64_t v) { return v ? v : XFRM_INF; }
inline uint64_t from_limit(uint64_t v) { return v == XFRM_INF ? 0 : v; }

Selector selector_from(const xfrm_selector& sel);

// Netlink payloads are only 4-byte aligned (NLMSG_ALIGNTO), and several XFRM
// structs hold __u64 (xfrm_lifetime_cfg/_cur): copy them out, never cast.
template <typename T>
T read_struct(const void* payload) {
    T value;
    std::memcpy(&value, payload, sizeof(T));
    return value;
}

common::Status build_sa(MessageBuffer& out, const SaSpec& sa, uint32_t owner, bool update);
void build_sa_id(MessageBuffer& out, const SaId& id, bool get);  // DELSA or GETSA
void build_set_outbound_seq(MessageBuffer& out, const SaId& id, uint32_t seq);  // NEWAE
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
