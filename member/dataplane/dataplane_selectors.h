// Selector and prefix conversions for the kernel dataplane: the key server's TEK selectors
// (gdoi::TrafficSelector, RFC 6407 §5.4.1 ID payloads) -> the member's nft rules
// (policy::Selector) and the carrier's routes and fwd policies (xfrm::Prefix).
//
// The carrier is IPIP, so the dataplane is IPv4-only; IPv6 selectors are refused
// when the TEK is accepted (dataplane_tek.h). All prefix arithmetic here is IPv4.
//
// Remote prefixes: the addresses a TEK protects (its selectors' sources and destinations)
// minus the member's own protected scope (the IPv4 prefixes of its LAN interfaces) and minus
// the addresses that must never be routed into the carrier (G_IN, G_OUT, the key servers).
// They are routed into the carrier; the local prefixes inside the group's scope get the
// fwd policies "remote -> local requires ESP". A selector 10.0.0.0/8 <-> 10.0.0.0/8 on a
// member with LAN 10.1.0.0/24 gives 16 remote prefixes (10.0.0.0/16, 10.1.1.0/24, ...,
// 10.128.0.0/9) and one local prefix.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/ip_address.h"
#include "common/result.h"
#include "gdoi/group_state.h"
#include "policy/selector.h"
#include "xfrm/address.h"

namespace member {

// An IPv4 prefix in host byte order: the unit of the prefix arithmetic. It meets the other
// libraries only as common::IpPrefix (xfrm::Prefix is that type; policy::Prefix converts).
struct V4Prefix {
    uint32_t address = 0;  // host bits zero
    uint8_t length = 0;    // 0..32

    uint32_t first() const { return address; }
    uint32_t last() const { return address | host_mask(); }
    uint32_t host_mask() const {
        return length == 0 ? 0xffffffffu : (length == 32 ? 0 : (0xffffffffu >> length));
    }
    bool contains(const V4Prefix& other) const;
    std::string to_string() const;
    bool operator==(const V4Prefix&) const = default;
    auto operator<=>(const V4Prefix&) const = default;

    static V4Prefix make(uint32_t address, uint8_t length);  // clears host bits
    static common::Result<V4Prefix> parse(std::string_view text);
    static V4Prefix from(const common::IpPrefix& p);  // IPv4 only (caller checks)
    static V4Prefix host(const common::IpAddress& a) { return from(common::IpPrefix::host(a)); }
    common::IpPrefix to_ip() const;
    policy::Prefix to_policy() const { return policy::Prefix::from(to_ip()); }
    xfrm::Prefix to_xfrm() const { return to_ip(); }
};

// The smallest list of prefixes covering exactly [first, last].
std::vector<V4Prefix> range_to_prefixes(uint32_t first, uint32_t last);
// Sorted, without duplicates or prefixes inside others.
std::vector<V4Prefix> normalize(std::vector<V4Prefix> prefixes);
// Addresses of `from` not in `minus`, as prefixes (normalized).
std::vector<V4Prefix> subtract(const std::vector<V4Prefix>& from, const std::vector<V4Prefix>& minus);
// Addresses in both (normalized).
std::vector<V4Prefix> intersect(const std::vector<V4Prefix>& a, const std::vector<V4Prefix>& b);

// The prefixes an ID payload names: a subnet, a single address or a range (as prefixes).
// Errors for IPv6, a non-contiguous mask, a range whose end is below its start.
common::Result<std::vector<V4Prefix>> id_prefixes(const gdoi::TrafficId& id);

// The nft selectors for one TEK selector: source prefixes x destination prefixes, protocol
// (0 = any) and ports (0 = any). One selector for the usual subnet <-> subnet policy.
common::Result<std::vector<policy::Selector>> to_policy_selectors(const gdoi::TrafficSelector& s);

// Every address a TEK selector protects (sources and destinations).
common::Result<std::vector<V4Prefix>> scope_prefixes(const gdoi::TrafficSelector& s);

// Routed into the carrier: scope minus the local scope minus `never` (G_IN, G_OUT, key servers).
std::vector<V4Prefix> remote_prefixes(const std::vector<V4Prefix>& scope,
                                      const std::vector<V4Prefix>& local_scope,
                                      const std::vector<V4Prefix>& never);
// The local prefixes inside the group's scope: destinations of the fwd policies and of the
// inbound ESP readdressing (ESP to other LAN prefixes, e.g. a LAN host's own IPsec, is not ours).
std::vector<V4Prefix> local_group_prefixes(const std::vector<V4Prefix>& scope,
                                           const std::vector<V4Prefix>& local_scope);

}  // namespace member
