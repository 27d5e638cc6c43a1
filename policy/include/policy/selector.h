// Traffic selectors: the addresses, protocol and ports a rule applies to.
// Same vocabulary as the GDOI SA TEK payload's ID payloads (RFC 6407 §5.4.1: source and
// destination identification with protocol and port) and as the member's exclude / fail-open
// configuration, so the key server's policies and the operator's rules share one type.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/ip_address.h"
#include "common/result.h"

namespace policy {

// The family of a selector: a concrete IP family (common::IpFamily), or any when the selector
// names no address.
enum class Family { any, ipv4, ipv6 };
Family family_of(common::IpFamily f);
common::IpFamily ip_family(Family f);  // any -> ipv4

// An address prefix in network byte order; host bits are always zero (validated at parse time,
// because "10.1.0.1/16" is a typo an operator wants to hear about, not a silent /16).
// The policy view of common::IpPrefix (ip() / from() convert; parsing, printing and the
// address arithmetic are common's).
struct Prefix {
    Family family = Family::ipv4;
    std::array<std::uint8_t, 16> address{};  // first 4 bytes used for IPv4
    std::uint8_t length = 0;                 // 0..32 or 0..128

    // "10.1.0.0/16", "2001:db8::/32", or a bare address (host prefix).
    static common::Result<Prefix> parse(std::string_view text);
    static Prefix any(Family family);

    std::size_t address_bytes() const { return family == Family::ipv6 ? 16 : 4; }
    std::uint8_t max_length() const { return family == Family::ipv6 ? 128 : 32; }
    std::string to_string() const;
    // The last address of the prefix (all host bits set), for interval set elements.
    std::array<std::uint8_t, 16> last_address() const;
    common::IpPrefix ip() const;
    static Prefix from(const common::IpPrefix& p);
    bool operator==(const Prefix&) const = default;
};

// One IPv4 address in network byte order (the carrier's pseudo addresses); ip() / from()
// convert to and from common::IpAddress.
struct Ipv4 {
    std::array<std::uint8_t, 4> bytes{};
    static common::Result<Ipv4> parse(std::string_view text);
    std::string to_string() const;
    common::IpAddress ip() const;
    static Ipv4 from(const common::IpAddress& a);  // IPv4 only (caller checks)
    bool operator==(const Ipv4&) const = default;
};

struct PortRange {
    std::uint16_t first = 0;
    std::uint16_t last = 65535;
    static PortRange single(std::uint16_t port) { return {port, port}; }
    bool is_single() const { return first == last; }
    std::string to_string() const;
    bool operator==(const PortRange&) const = default;
};

// An inclusive range of ESP sequence numbers (RFC 4303 §2.2).
struct SequenceRange {
    std::uint32_t first = 0;
    std::uint32_t last = 0;
    bool operator==(const SequenceRange&) const = default;
};

// Protocols whose transport header starts with source and destination ports; only these may
// carry port selectors (a port on ICMP or ESP would silently match header bytes that are not ports).
bool protocol_has_ports(std::uint8_t protocol);
// "tcp", "udp", "icmp", ... or the number.
std::string protocol_name(std::uint8_t protocol);
common::Result<std::uint8_t> parse_protocol(std::string_view text);

struct Selector {
    std::optional<Prefix> source;
    std::optional<Prefix> destination;
    std::optional<std::uint8_t> protocol;
    std::optional<PortRange> source_port;
    std::optional<PortRange> destination_port;

    // The address family the selector is bound to (any when it names no address).
    Family family() const;
    // The same selector seen in the other direction (replies, inbound traffic).
    Selector mirrored() const;
    // Checks families agree and ports go with a port protocol; message names the problem.
    common::Status validate() const;
    // Human form, e.g. "10.1.0.0/16 -> 10.2.0.0/16 tcp dport 179".
    std::string to_string() const;
    bool operator==(const Selector&) const = default;
};

}  // namespace policy
