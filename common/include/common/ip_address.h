// The one IP address and prefix type shared by gdoi/, xfrm/, policy/ and member/: a family and a
// 16-byte network-order array (the kernel's xfrm_address_t layout; IPv4 uses the first 4 bytes).
// Header-only (inline) so that gdoi_common stays an INTERFACE target every library already links:
// the functions are small, and a static library would add a link edge to every target.
#pragma once

#include <arpa/inet.h>
#include <sys/socket.h>

#include <array>
#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace common {

enum class IpFamily : std::uint8_t { ipv4, ipv6 };

// Linux address family number (AF_INET / AF_INET6).
inline int to_af(IpFamily f) { return f == IpFamily::ipv4 ? AF_INET : AF_INET6; }

struct IpAddress {
    IpFamily family = IpFamily::ipv4;
    std::array<std::uint8_t, 16> bytes{};  // network order; IPv4 uses the first 4

    // "192.0.2.1", "2001:db8::1".
    static Result<IpAddress> parse(std::string_view text) {
        const std::string s(text);
        IpAddress a;
        if (inet_pton(AF_INET, s.c_str(), a.bytes.data()) == 1) return a;
        a.bytes.fill(0);
        if (inet_pton(AF_INET6, s.c_str(), a.bytes.data()) == 1) {
            a.family = IpFamily::ipv6;
            return a;
        }
        return make_error("not an IPv4 or IPv6 address: '" + s + "'");
    }
    static IpAddress ipv4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
        IpAddress r;
        r.bytes[0] = a;
        r.bytes[1] = b;
        r.bytes[2] = c;
        r.bytes[3] = d;
        return r;
    }
    std::string to_string() const {
        char buf[INET6_ADDRSTRLEN] = {};
        inet_ntop(to_af(family), bytes.data(), buf, sizeof(buf));
        return buf;
    }
    unsigned max_prefix() const { return family == IpFamily::ipv4 ? 32 : 128; }
    std::size_t byte_count() const { return family == IpFamily::ipv4 ? 4 : 16; }
    bool is_any() const {
        for (auto b : bytes)
            if (b) return false;
        return true;
    }
    bool operator==(const IpAddress&) const = default;
};

struct IpPrefix {
    IpAddress address;
    std::uint8_t length = 0;  // 0..32 or 0..128

    // "192.0.2.0/24", "2001:db8::/32", or a bare address (full length). Host bits are kept as
    // given; callers that must refuse them (operator input) check has_host_bits().
    static Result<IpPrefix> parse(std::string_view text) {
        const auto slash = text.find('/');
        auto addr = IpAddress::parse(text.substr(0, slash));
        if (!addr) return addr.error();
        IpPrefix p{*addr, static_cast<std::uint8_t>(addr->max_prefix())};
        if (slash != std::string_view::npos) {
            const auto len_text = text.substr(slash + 1);
            unsigned len = 0;
            const auto [end, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), len);
            if (ec != std::errc{} || end != len_text.data() + len_text.size() || len > addr->max_prefix())
                return make_error("bad prefix length in '" + std::string(text) + "'");
            p.length = static_cast<std::uint8_t>(len);
        }
        return p;
    }
    static IpPrefix host(const IpAddress& a) { return {a, static_cast<std::uint8_t>(a.max_prefix())}; }
    static IpPrefix any(IpFamily f) { return {IpAddress{f, {}}, 0}; }

    std::string to_string() const { return address.to_string() + "/" + std::to_string(length); }
    // The first address (host bits cleared) and the last (host bits set).
    IpAddress first_address() const { return with_host_bits(false); }
    IpAddress last_address() const { return with_host_bits(true); }
    bool has_host_bits() const { return first_address() != address; }
    IpPrefix network() const { return {first_address(), length}; }  // host bits cleared
    bool contains(const IpAddress& a) const {
        if (a.family != address.family) return false;
        return IpPrefix{a, length}.first_address() == first_address();
    }
    bool operator==(const IpPrefix&) const = default;

private:
    IpAddress with_host_bits(bool set) const {
        IpAddress r = address;
        for (std::size_t bit = length; bit < r.byte_count() * 8; ++bit) {
            const auto mask = static_cast<std::uint8_t>(0x80u >> (bit % 8));
            if (set)
                r.bytes[bit / 8] |= mask;
            else
                r.bytes[bit / 8] &= static_cast<std::uint8_t>(~mask);
        }
        return r;
    }
};

}  // namespace common
