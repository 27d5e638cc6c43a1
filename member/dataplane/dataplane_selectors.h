// Selector and prefix conversions for the kernel dataplane: the key server's TEK selectors
// (gdoi::TrafficSelector, RFC 6407 §5.4.1 ID payloads) -> the member's nft rules
// (policy::Selector) and the carrier's routes and fwd policies (xfrm::Prefix).
//
// The prefix arithmetic is one implementation for both families: a NetPrefix carries its family
// and a 128-bit value (IPv4 in the low 32 bits); prefixes of different families never contain or
// overlap each other, so a list may mix both (a dual-stack group's scope).
//
// Remote prefixes: the addresses a TEK protects (its selectors' sources and destinations)
// minus the member's own protected scope (the prefixes of its LAN interfaces) and minus
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

// An address as an unsigned number in host byte order: IPv4 in the low 32 bits, IPv6 in all 128.
__extension__ using AddressValue = unsigned __int128;

// An IPv4 or IPv6 prefix: the unit of the prefix arithmetic. It meets the other libraries only
// as common::IpPrefix (xfrm::Prefix is that type; policy::Prefix converts).
struct NetPrefix {
    common::IpFamily family = common::IpFamily::ipv4;
    AddressValue address = 0;  // host bits zero
    uint8_t length = 0;        // 0..32 (IPv4) or 0..128 (IPv6)

    unsigned width() const { return family == common::IpFamily::ipv4 ? 32 : 128; }
    AddressValue first() const { return address; }
    AddressValue last() const { return address | host_mask(); }
    // The host bits of this prefix, within the family's width.
    AddressValue host_mask() const { return length >= width() ? 0 : all_ones() >> length; }
    AddressValue all_ones() const { return ~AddressValue{0} >> (128 - width()); }
    // False across families.
    bool contains(const NetPrefix& other) const;
    std::string to_string() const;
    bool operator==(const NetPrefix&) const = default;
    auto operator<=>(const NetPrefix&) const = default;

    static NetPrefix make(common::IpFamily family, AddressValue address, uint8_t length);  // clears host bits
    static common::Result<NetPrefix> parse(std::string_view text);  // "10.0.0.0/8", "2001:db8::/32"
    static NetPrefix from(const common::IpPrefix& p);
    static NetPrefix host(const common::IpAddress& a) { return from(common::IpPrefix::host(a)); }
    common::IpPrefix to_ip() const;
    policy::Prefix to_policy() const { return policy::Prefix::from(to_ip()); }
    xfrm::Prefix to_xfrm() const { return to_ip(); }
};

// The prefixes of one family.
std::vector<NetPrefix> of_family(const std::vector<NetPrefix>& prefixes, common::IpFamily family);

// The smallest list of prefixes of `family` covering exactly [first, last].
std::vector<NetPrefix> range_to_prefixes(common::IpFamily family, AddressValue first, AddressValue last);
// Sorted, without duplicates or prefixes inside others.
std::vector<NetPrefix> normalize(std::vector<NetPrefix> prefixes);
// Addresses of `from` not in `minus`, as prefixes (normalized).
std::vector<NetPrefix> subtract(const std::vector<NetPrefix>& from, const std::vector<NetPrefix>& minus);
// Addresses in both (normalized).
std::vector<NetPrefix> intersect(const std::vector<NetPrefix>& a, const std::vector<NetPrefix>& b);

// The prefixes an ID payload names: a subnet, a single address or a range (as prefixes), IPv4
// or IPv6 (RFC 2407 §4.6.2.1 types 1, 4, 7 and 5, 6, 8). Errors for a non-contiguous mask, a
// range whose end is below its start or whose ends differ in family, an address of the wrong size.
common::Result<std::vector<NetPrefix>> id_prefixes(const gdoi::TrafficId& id);

// The nft selectors for one TEK selector: source prefixes x destination prefixes, protocol
// (0 = any) and ports (0 = any). One selector for the usual subnet <-> subnet policy.
common::Result<std::vector<policy::Selector>> to_policy_selectors(const gdoi::TrafficSelector& s);

// Every address a TEK selector protects (sources and destinations).
common::Result<std::vector<NetPrefix>> scope_prefixes(const gdoi::TrafficSelector& s);

// Routed into the carrier: scope minus the local scope minus `never` (G_IN, G_OUT, key servers).
std::vector<NetPrefix> remote_prefixes(const std::vector<NetPrefix>& scope,
                                       const std::vector<NetPrefix>& local_scope,
                                       const std::vector<NetPrefix>& never);
// The local prefixes inside the group's scope: destinations of the fwd policies and of the
// inbound ESP readdressing (ESP to other LAN prefixes, e.g. a LAN host's own IPsec, is not ours).
std::vector<NetPrefix> local_group_prefixes(const std::vector<NetPrefix>& scope,
                                            const std::vector<NetPrefix>& local_scope);

}  // namespace member
