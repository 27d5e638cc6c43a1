// Host facts for the dataplane (see dataplane_host.h).
#include "dataplane/dataplane_host.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <fstream>
#include <sstream>

namespace member {

common::Result<std::vector<V4Prefix>> interface_prefixes(const std::vector<std::string>& ifnames) {
    ifaddrs* list = nullptr;
    if (getifaddrs(&list) != 0)
        return common::make_error("getifaddrs failed: cannot read the LAN interfaces' addresses", errno);
    std::vector<V4Prefix> out;
    std::vector<bool> found(ifnames.size(), false);
    for (ifaddrs* a = list; a; a = a->ifa_next) {
        if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET || !a->ifa_netmask) continue;
        for (std::size_t i = 0; i < ifnames.size(); ++i) {
            if (ifnames[i] != a->ifa_name) continue;
            const uint32_t addr = ntohl(reinterpret_cast<const sockaddr_in*>(a->ifa_addr)->sin_addr.s_addr);
            const uint32_t mask =
                ntohl(reinterpret_cast<const sockaddr_in*>(a->ifa_netmask)->sin_addr.s_addr);
            uint8_t len = 0;
            for (uint32_t m = mask; m & 0x80000000u; m <<= 1) ++len;
            out.push_back(V4Prefix::make(addr, len));
            found[i] = true;
        }
    }
    freeifaddrs(list);
    for (std::size_t i = 0; i < ifnames.size(); ++i)
        if (!found[i])
            return common::make_error(
                "LAN interface " + ifnames[i] +
                " has no IPv4 address (or does not exist): the member's protected scope is "
                "the IPv4 networks of lan-interfaces");
    return normalize(out);
}

std::optional<xfrm::Address> parse_default_gateway(std::string_view text, std::string_view ifname) {
    std::istringstream in{std::string(text)};
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
        std::istringstream f(line);
        std::string iface, dest, gw, flags, refcnt, use, metric, mask;
        if (!(f >> iface >> dest >> gw >> flags >> refcnt >> use >> metric >> mask)) continue;
        if (iface != ifname || dest != "00000000" || mask != "00000000") continue;
        const uint32_t g =
            static_cast<uint32_t>(std::stoul(gw, nullptr, 16));  // network order, read little-endian
        if (g == 0) continue;
        return xfrm::Address::ipv4(static_cast<uint8_t>(g), static_cast<uint8_t>(g >> 8),
                                   static_cast<uint8_t>(g >> 16), static_cast<uint8_t>(g >> 24));
    }
    return std::nullopt;
}

std::optional<xfrm::Address> default_gateway(std::string_view ifname) {
    std::ifstream f("/proc/net/route");
    if (!f) return std::nullopt;
    std::stringstream s;
    s << f.rdbuf();
    return parse_default_gateway(s.str(), ifname);
}

}  // namespace member
