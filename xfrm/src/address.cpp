// Address/Prefix parsing and printing (inet_pton/inet_ntop).
#include <arpa/inet.h>
#include <sys/socket.h>

#include <charconv>

#include "xfrm/address.h"

namespace xfrm {

int to_af(Family f) { return f == Family::ipv4 ? AF_INET : AF_INET6; }

common::Result<Address> Address::parse(std::string_view text) {
    std::string s(text);
    Address a;
    if (inet_pton(AF_INET, s.c_str(), a.bytes.data()) == 1) {
        a.family = Family::ipv4;
        return a;
    }
    if (inet_pton(AF_INET6, s.c_str(), a.bytes.data()) == 1) {
        a.family = Family::ipv6;
        return a;
    }
    return common::make_error("not an IPv4 or IPv6 address: '" + s + "'");
}

Address Address::ipv4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
    Address r;
    r.bytes[0] = a;
    r.bytes[1] = b;
    r.bytes[2] = c;
    r.bytes[3] = d;
    return r;
}

std::string Address::to_string() const {
    char buf[INET6_ADDRSTRLEN] = {};
    inet_ntop(to_af(family), bytes.data(), buf, sizeof(buf));
    return buf;
}

bool Address::is_any() const {
    for (auto b : bytes)
        if (b) return false;
    return true;
}

common::Result<Prefix> Prefix::parse(std::string_view text) {
    auto slash = text.find('/');
    auto addr = Address::parse(text.substr(0, slash));
    if (!addr) return addr.error();
    Prefix p{*addr, static_cast<uint8_t>(addr->max_prefix())};
    if (slash != std::string_view::npos) {
        auto len_text = text.substr(slash + 1);
        unsigned len = 0;
        auto [end, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), len);
        if (ec != std::errc{} || end != len_text.data() + len_text.size() || len > addr->max_prefix())
            return common::make_error("bad prefix length in '" + std::string(text) + "'");
        p.length = static_cast<uint8_t>(len);
    }
    return p;
}

std::string Prefix::to_string() const { return address.to_string() + "/" + std::to_string(length); }

}  // namespace xfrm
