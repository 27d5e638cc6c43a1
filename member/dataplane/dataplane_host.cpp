// Host facts for the dataplane (see dataplane_host.h).
#include "dataplane/dataplane_host.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include "xfrm/rtnl.h"

namespace member {

common::Result<std::vector<NetPrefix>> interface_prefixes(const std::vector<std::string>& ifnames) {
    ifaddrs* list = nullptr;
    if (getifaddrs(&list) != 0)
        return common::make_error("getifaddrs failed: cannot read the LAN interfaces' addresses", errno);
    std::vector<NetPrefix> out;
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
            out.push_back(NetPrefix::make(common::IpFamily::ipv4, addr, len));
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

std::optional<xfrm::Address> default_gateway(std::string_view ifname) {
    auto rtnl = xfrm::Rtnl::open();
    if (!rtnl) return std::nullopt;
    auto gateway = rtnl->default_gateway(ifname);
    if (!gateway) return std::nullopt;
    return *gateway;
}

}  // namespace member
