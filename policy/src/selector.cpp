// Parsing and printing of prefixes, ports and selectors.
#include "policy/selector.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>

namespace policy {
namespace {

struct ProtocolName {
    std::uint8_t number;
    const char* name;
};
// Names as nft prints them, so rule text and `nft list` agree.
constexpr ProtocolName kProtocols[] = {
    {1, "icmp"},  {2, "igmp"},   {4, "ipencap"}, {6, "tcp"},       {17, "udp"},       {33, "dccp"},
    {41, "ipv6"}, {47, "gre"},   {50, "esp"},    {51, "ah"},       {58, "ipv6-icmp"}, {89, "ospf"},
    {103, "pim"}, {112, "vrrp"}, {132, "sctp"},  {136, "udplite"},
};

}  // namespace

Family family_of(common::IpFamily f) { return f == common::IpFamily::ipv6 ? Family::ipv6 : Family::ipv4; }

common::IpFamily ip_family(Family f) {
    return f == Family::ipv6 ? common::IpFamily::ipv6 : common::IpFamily::ipv4;
}

common::IpPrefix Prefix::ip() const { return {{ip_family(family), address}, length}; }

Prefix Prefix::from(const common::IpPrefix& p) {
    return {family_of(p.address.family), p.address.bytes, p.length};
}

common::Result<Prefix> Prefix::parse(std::string_view text) {
    const auto bad = [&](const std::string& why) {
        return common::make_error("bad prefix '" + std::string(text) + "': " + why);
    };
    const auto slash = text.find('/');
    const auto addr = common::IpAddress::parse(text.substr(0, slash));
    if (!addr) return bad("expected an IPv4 or IPv6 address, optionally /LENGTH (e.g. 10.1.0.0/16)");
    common::IpPrefix p = common::IpPrefix::host(*addr);
    if (slash != std::string_view::npos) {
        const auto len_text = text.substr(slash + 1);
        unsigned len = 0;
        const auto [end, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), len);
        if (ec != std::errc{} || end != len_text.data() + len_text.size() || len_text.empty())
            return bad("the length after '/' must be a number");
        if (len > addr->max_prefix())
            return bad("length " + std::to_string(len) + " exceeds " + std::to_string(addr->max_prefix()));
        p.length = static_cast<std::uint8_t>(len);
    }
    // Host bits set is almost always a typo; say what was probably meant.
    if (p.has_host_bits()) return bad("host bits are set (did you mean " + p.network().to_string() + "?)");
    return from(p);
}

Prefix Prefix::any(Family family) { return from(common::IpPrefix::any(ip_family(family))); }

std::string Prefix::to_string() const { return ip().to_string(); }

std::array<std::uint8_t, 16> Prefix::last_address() const { return ip().last_address().bytes; }

common::IpAddress Ipv4::ip() const {
    common::IpAddress a;
    std::copy(bytes.begin(), bytes.end(), a.bytes.begin());
    return a;
}

Ipv4 Ipv4::from(const common::IpAddress& a) {
    Ipv4 r;
    std::copy(a.bytes.begin(), a.bytes.begin() + 4, r.bytes.begin());
    return r;
}

common::Result<Ipv4> Ipv4::parse(std::string_view text) {
    const auto a = common::IpAddress::parse(text);
    if (!a || a->family != common::IpFamily::ipv4)
        return common::make_error("bad IPv4 address '" + std::string(text) + "'");
    return from(*a);
}

std::string Ipv4::to_string() const { return ip().to_string(); }

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
        return common::make_error("ports need protocol tcp, udp, sctp, dccp or udplite" +
                                  (protocol ? " (protocol is " + protocol_name(*protocol) + ")"
                                            : std::string(" (no protocol given)")));
    for (const auto* r : {&source_port, &destination_port})
        if (*r && (*r)->first > (*r)->last)
            return common::make_error("port range " + std::to_string((*r)->first) + "-" +
                                      std::to_string((*r)->last) + " is reversed");
    return {};
}

std::string Selector::to_string() const {
    std::string s =
        (source ? source->to_string() : "any") + " -> " + (destination ? destination->to_string() : "any");
    if (protocol) s += " " + protocol_name(*protocol);
    if (source_port) s += " sport " + source_port->to_string();
    if (destination_port) s += " dport " + destination_port->to_string();
    return s;
}

}  // namespace policy
