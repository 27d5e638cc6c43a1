#include "gdoi/group_state.h"

#include <arpa/inet.h>

namespace gdoi {
namespace {

std::string address_text(const Bytes& a) {
    char buf[INET6_ADDRSTRLEN] = {};
    if (a.size() == 4) inet_ntop(AF_INET, a.data(), buf, sizeof buf);
    else if (a.size() == 16) inet_ntop(AF_INET6, a.data(), buf, sizeof buf);
    else return "?";
    return buf;
}

// RFC 2407 §4.6.2.1 ID types: 1 IPv4 addr, 4 IPv4 subnet, 5 IPv6 addr, 6 IPv6 subnet, 7/8 ranges.
bool is_subnet(uint8_t t) { return t == 4 || t == 6; }
bool is_range(uint8_t t) { return t == 7 || t == 8; }

}  // namespace

std::optional<unsigned> TrafficId::prefix_length() const {
    if (is_range(id_type)) return std::nullopt;
    if (!is_subnet(id_type)) return static_cast<unsigned>(address.size() * 8);
    unsigned bits = 0;
    bool ended = false;
    for (uint8_t byte : mask_or_end) {
        for (int i = 7; i >= 0; --i) {
            bool set = byte >> i & 1;
            if (set && ended) return std::nullopt;  // non-contiguous mask
            if (set) ++bits;
            else ended = true;
        }
    }
    return bits;
}

std::string TrafficId::to_string() const {
    std::string s = address_text(address);
    if (is_range(id_type)) s += "-" + address_text(mask_or_end);
    else if (auto len = prefix_length()) s += "/" + std::to_string(*len);
    else s += "/" + address_text(mask_or_end);
    if (port != 0) s += ":" + std::to_string(port);
    return s;
}

std::string TrafficSelector::to_string() const {
    std::string proto = protocol == 0 ? "any" : std::to_string(protocol);
    return source.to_string() + " -> " + destination.to_string() + " proto " + proto;
}

}  // namespace gdoi
