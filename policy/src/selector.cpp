// Parsing and printing of prefixes, ports and selectors.
#include "policy/selector.h"

#include <arpa/inet.h>

#include <array>
#include <charconv>
#include <cstring>

namespace policy {
namespace {

bool parse_address(std::string_view text, Family& family, std::array<std::uint8_t, 16>& out) {
    std::string s(text);
    out.fill(0);
    if (inet_pton(AF_INET, s.c_str(), out.data()) == 1) {
        family = Family::ipv4;
        return true;
    }
    if (inet_pton(AF_INET6, s.c_str(), out.data()) == 1) {
        family = Family::ipv6;
        return true;
    }
    return false;
}

std::string format_address(Family family, const std::uint8_t* bytes) {
    char buf[INET6_ADDRSTRLEN] = {};
    inet_ntop(family == Family::ipv6 ? AF_INET6 : AF_INET, bytes, buf, sizeof buf);
    return buf;
}

struct ProtocolName {
    std::uint8_t number;
    const char* name;
};
// Names as nft prints them, so rule text and `nft list` agree.
constexpr ProtocolName kProtocols[] = {
    {1, "icmp"}, {2, "igmp"}, {4, "ipencap"}, {6, "tcp"},   {17, "udp"},       {33, "dccp"},
    {41, "ipv6"}, {47, "gre"}, {50, "esp"},   {51, "ah"},   {58, "ipv6-icmp"}, {89, "ospf"},
    {103, "pim"}, {112, "vrrp"}, {132, "sctp"}, {136, "udplite"},
};

}  // namespace

common::Result<Prefix> Prefix::parse(std::string_view text) {
    const auto bad = [&](const std::string& why) {
        return common::make_error("bad prefix '" + std::string(text) + "': " + why);
    };
    const auto slash = text.find('/');
    Prefix p;
    if (!parse_address(text.substr(0, slash), p.family, p.address))
        return bad("expected an IPv4 or IPv6 address, optionally /LENGTH (e.g. 10.1.0.0/16)");
    p.length = p.max_length();
    if (slash != std::string_view::npos) {
        const auto len_text = text.substr(slash + 1);
        unsigned len = 0;
        const auto [end, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), len);
        if (ec != std::errc{} || end != len_text.data() + len_text.size() || len_text.empty())
            return bad("the length after '/' must be a number");
        if (len > p.max_length())
            return bad("length " + std::to_string(len) + " exceeds " + std::to_string(p.max_length()));
        p.length = static_cast<std::uint8_t>(len);
    }
    // Host bits set is almost always a typo; say what was probably meant.
    Prefix masked = p;
    for (std::size_t bit = masked.length; bit < masked.address_bytes() * 8; ++bit)
        masked.address[bit / 8] &= static_cast<std::uint8_t>(~(0x80u >> (bit % 8)));
    if (masked.address != p.address)
        return bad("host bits are set (did you mean " + masked.to_string() + "?)");
    return p;
}

Prefix Prefix::any(Family family) {
    Prefix p;
    p.family = family == Family::ipv6 ? Family::ipv6 : Family::ipv4;
    p.length = 0;
    return p;
}

std::string Prefix::to_string() const {
    return format_address(family, address.data()) + "/" + std::to_string(length);
}

std::array<std::uint8_t, 16> Prefix::last_address() const {
    auto last = address;
    for (std::size_t bit = length; bit < address_bytes() * 8; ++bit)
        last[bit / 8] |= static_cast<std::uint8_t>(0x80u >> (bit % 8));
    return last;
}

common::Result<Ipv4> Ipv4::parse(std::string_view text) {
    Ipv4 a;
    const std::string s(text);
    if (inet_pton(AF_INET, s.c_str(), a.bytes.data()) != 1)
        return common::make_error("bad IPv4 address '" + s + "'");
    return a;
}

std::string Ipv4::to_string() const { return format_address(Family::ipv4, bytes.data()); }

std::string PortRange::to_string() const {
    return is_single() ? std::to_string(first) : std::to_string(first) + "-" + std::to_string(last);
}

bool protocol_has_ports(std::uint8_t protocol) {
    return protocol == 6 || protocol == 17 || protocol == 33 || protocol == 132 || protocol == 136;
}

std::string protocol_name(std::uint8_t protocol) {
    for (const auto& p : kProtocols)
        if (p.number == protocol) return p.name;
    return std::to_string(protocol);
}

common::Result<std::uint8_t> parse_protocol(std::string_view text) {
    for (const auto& p : kProtocols)
        if (text == p.name) return p.number;
    if (text == "icmpv6") return std::uint8_t{58};
    unsigned n = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc{} || end != text.data() + text.size() || text.empty() || n > 255)
        return common::make_error("unknown protocol '" + std::string(text) +
                                  "': use a name (tcp, udp, icmp, ospf, ...) or a number 0-255");
    return static_cast<std::uint8_t>(n);
}

Family Selector::family() const {
    if (source) return source->family;
    if (destination) return destination->family;
    return Family::any;
}

Selector Selector::mirrored() const {
    Selector m = *this;
    std::swap(m.source, m.destination);
    std::swap(m.source_port, m.destination_port);
    return m;
}

common::Status Selector::validate() const {
    if (source && destination && source->family != destination->family)
        return common::make_error("source " + source->to_string() + " and destination " +
                                  destination->to_string() + " are of different address families");
    if ((source_port || destination_port) && !(protocol && protocol_has_ports(*protocol)))
        return common::make_error(
            "ports need protocol tcp, udp, sctp, dccp or udplite" +
            (protocol ? " (protocol is " + protocol_name(*protocol) + ")" : std::string(" (no protocol given)")));
    for (const auto* r : {&source_port, &destination_port})
        if (*r && (*r)->first > (*r)->last)
            return common::make_error("port range " + std::to_string((*r)->first) + "-" +
                                      std::to_string((*r)->last) + " is reversed");
    return {};
}

std::string Selector::to_string() const {
    std::string s = (source ? source->to_string() : "any") + " -> " +
                    (destination ? destination->to_string() : "any");
    if (protocol) s += " " + protocol_name(*protocol);
    if (source_port) s += " sport " + source_port->to_string();
    if (destination_port) s += " dport " + destination_port->to_string();
    return s;
}

}  // namespace policy
