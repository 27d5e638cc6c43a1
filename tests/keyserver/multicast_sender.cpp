#include "multicast_sender.h"

#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace keyserver {

namespace {

common::Status sockopt(int fd, int level, int name, const void* value, socklen_t len, const char* what) {
    if (::setsockopt(fd, level, name, value, len) == 0) return {};
    return common::make_error(std::string("--multicast: ") + what + ": " + std::strerror(errno), errno);
}

// The interface that holds an IPv6 address (0 when none does).
unsigned ifindex_of(const in6_addr& address) {
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) return 0;
    unsigned index = 0;
    for (ifaddrs* i = list; i && index == 0; i = i->ifa_next)
        if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET6 &&
            std::memcmp(&reinterpret_cast<const sockaddr_in6*>(i->ifa_addr)->sin6_addr, &address, sizeof address) == 0)
            index = ::if_nametoindex(i->ifa_name);
    ::freeifaddrs(list);
    return index;
}

}  // namespace

common::Status set_multicast_sender(int fd, const gdoi::Endpoint& local, int ttl) {
    if (local.family() == AF_INET) {
        const auto& addr = reinterpret_cast<const sockaddr_in*>(&local.addr)->sin_addr;
        if (addr.s_addr != htonl(INADDR_ANY)) {
            ip_mreqn mreq{};
            mreq.imr_address = addr;  // the kernel finds the interface holding it
            if (auto s = sockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &mreq, sizeof mreq, "IP_MULTICAST_IF"); !s) return s;
        }
        return sockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl, "IP_MULTICAST_TTL");
    }
    const auto& addr = reinterpret_cast<const sockaddr_in6*>(&local.addr)->sin6_addr;
    if (!IN6_IS_ADDR_UNSPECIFIED(&addr)) {
        unsigned index = ifindex_of(addr);
        if (index == 0) return common::make_error("--multicast: no interface holds " + local.address_string());
        if (auto s = sockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &index, sizeof index, "IPV6_MULTICAST_IF"); !s) return s;
    }
    return sockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &ttl, sizeof ttl, "IPV6_MULTICAST_HOPS");
}

gdoi::TrafficId traffic_id_of(const gdoi::Endpoint& endpoint) {
    gdoi::TrafficId id;
    id.port = endpoint.port();
    if (endpoint.family() == AF_INET) {
        id.id_type = 1;  // ID_IPV4_ADDR
        const auto* p = reinterpret_cast<const uint8_t*>(&reinterpret_cast<const sockaddr_in*>(&endpoint.addr)->sin_addr);
        id.address.assign(p, p + 4);
    } else {
        id.id_type = 5;  // ID_IPV6_ADDR
        const auto* p = reinterpret_cast<const uint8_t*>(&reinterpret_cast<const sockaddr_in6*>(&endpoint.addr)->sin6_addr);
        id.address.assign(p, p + 16);
    }
    return id;
}

}  // namespace keyserver
