// Host facts for the dataplane (see dataplane_host.h).
#include "dataplane/dataplane_host.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <cstring>
#include <span>

#include "xfrm/rtnl.h"

namespace member {

namespace {

// The prefix of one interface address: its network (host bits cleared) and length from the netmask.
std::optional<NetPrefix> address_prefix(const sockaddr* address, const sockaddr* netmask) {
    if (!address || !netmask || address->sa_family != netmask->sa_family) return std::nullopt;
    common::IpPrefix p;
    std::span<const uint8_t> mask;
    if (address->sa_family == AF_INET) {
        const auto* a = reinterpret_cast<const sockaddr_in*>(address);
        p.address.family = common::IpFamily::ipv4;
        std::memcpy(p.address.bytes.data(), &a->sin_addr, 4);
        mask = {reinterpret_cast<const uint8_t*>(&reinterpret_cast<const sockaddr_in*>(netmask)->sin_addr),
                4};
    } else if (address->sa_family == AF_INET6) {
        const auto* a = reinterpret_cast<const sockaddr_in6*>(address);
        // Link-local, loopback and multicast addresses protect nothing: no site is numbered there.
        if (IN6_IS_ADDR_LINKLOCAL(&a->sin6_addr) || IN6_IS_ADDR_LOOPBACK(&a->sin6_addr) ||
            IN6_IS_ADDR_MULTICAST(&a->sin6_addr))
            return std::nullopt;
        p.address.family = common::IpFamily::ipv6;
        std::memcpy(p.address.bytes.data(), &a->sin6_addr, 16);
        mask = {reinterpret_cast<const uint8_t*>(&reinterpret_cast<const sockaddr_in6*>(netmask)->sin6_addr),
                16};
    } else {
        return std::nullopt;
    }
    uint8_t len = 0;
    for (uint8_t byte : mask)
        for (uint8_t bit = 0x80; bit && (byte & bit); bit >>= 1) ++len;
    p.length = len;
    return NetPrefix::from(p);  // host bits cleared
}

}  // namespace

common::Result<std::vector<NetPrefix>> interface_prefixes(const std::vector<std::string>& ifnames) {
    ifaddrs* list = nullptr;
    if (getifaddrs(&list) != 0)
        return common::make_error("getifaddrs failed: cannot read the LAN interfaces' addresses", errno);
    std::vector<NetPrefix> out;
    std::vector<bool> found(ifnames.size(), false);
    for (ifaddrs* a = list; a; a = a->ifa_next) {
        const auto prefix = address_prefix(a->ifa_addr, a->ifa_netmask);
        if (!prefix) continue;
        for (std::size_t i = 0; i < ifnames.size(); ++i) {
            if (ifnames[i] != a->ifa_name) continue;
            out.push_back(*prefix);
            found[i] = true;
        }
    }
    freeifaddrs(list);
    for (std::size_t i = 0; i < ifnames.size(); ++i)
        if (!found[i])
            return common::make_error(
                "LAN interface " + ifnames[i] +
                " has no IPv4 or global IPv6 address (or does not exist): the member's protected scope "
                "is the networks of lan-interfaces");
    return normalize(out);
}

std::optional<xfrm::Address> default_gateway(std::string_view ifname, common::IpFamily family) {
    auto rtnl = xfrm::Rtnl::open();
    if (!rtnl) return std::nullopt;
    auto gateway = rtnl->default_gateway(ifname, family);
    if (!gateway) return std::nullopt;
    return *gateway;
}

}  // namespace member
