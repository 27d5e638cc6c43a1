// IP addresses and prefixes as the XFRM and rtnetlink APIs take them
// (IPv4 and IPv6; the kernel's xfrm_address_t is 16 bytes for both).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace xfrm {

enum class Family : uint8_t { ipv4, ipv6 };

struct Address {
    Family family = Family::ipv4;
    std::array<uint8_t, 16> bytes{};  // network order; IPv4 uses the first 4

    static common::Result<Address> parse(std::string_view text);
    static Address ipv4(uint8_t a, uint8_t b, uint8_t c, uint8_t d);
    std::string to_string() const;
    unsigned max_prefix() const { return family == Family::ipv4 ? 32 : 128; }
    bool is_any() const;
    bool operator==(const Address&) const = default;
};

struct Prefix {
    Address address;
    uint8_t length = 0;

    // "192.0.2.0/24", "2001:db8::/32", or a bare address (full length).
    static common::Result<Prefix> parse(std::string_view text);
    static Prefix host(const Address& a) { return {a, static_cast<uint8_t>(a.max_prefix())}; }
    static Prefix any(Family f) { return {Address{f, {}}, 0}; }
    std::string to_string() const;
    bool operator==(const Prefix&) const = default;
};

// Linux address family number (AF_INET / AF_INET6) for netlink headers.
int to_af(Family f);

}  // namespace xfrm
