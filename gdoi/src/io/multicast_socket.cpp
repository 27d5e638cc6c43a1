#include "gdoi/multicast_socket.h"

#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace gdoi {

bool is_multicast_address(const Bytes& address) {
    if (address.size() == 4) return (address[0] & 0xf0) == 0xe0;  // 224.0.0.0/4
    if (address.size() == 16) return address[0] == 0xff;          // ff00::/8
    return false;
}

bool is_multicast(const Endpoint& endpoint) {
    if (endpoint.family() == AF_INET) {
        const auto* a =
            reinterpret_cast<const uint8_t*>(&reinterpret_cast<const sockaddr_in*>(&endpoint.addr)->sin_addr);
        return is_multicast_address(Bytes(a, a + 4));
    }
    if (endpoint.family() == AF_INET6)
        return IN6_IS_ADDR_MULTICAST(&reinterpret_cast<const sockaddr_in6*>(&endpoint.addr)->sin6_addr);
    return false;
}

std::optional<Endpoint> multicast_rekey_destination(const Kek& kek) {
    const TrafficId& dst = kek.selector.destination;
    // One address: ID_IPV4_ADDR / ID_IPV6_ADDR, or a subnet of full length (RFC 2407 §4.6.2.1).
    auto len = dst.prefix_length();
    if (!len || *len != dst.address.size() * 8 || !is_multicast_address(dst.address)) return std::nullopt;
    Endpoint e;
    const uint16_t port = dst.port != 0 ? dst.port : kGdoiPort;
    if (dst.address.size() == 4) {
        auto* v4 = reinterpret_cast<sockaddr_in*>(&e.addr);
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        std::memcpy(&v4->sin_addr, dst.address.data(), 4);
        e.len = sizeof(sockaddr_in);
    } else {
        auto* v6 = reinterpret_cast<sockaddr_in6*>(&e.addr);
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        std::memcpy(&v6->sin6_addr, dst.address.data(), 16);
        e.len = sizeof(sockaddr_in6);
    }
    return e;
}

common::Result<MulticastSocket> MulticastSocket::join(const Endpoint& group, const std::string& interface) {
    const std::string what = "multicast " + group.to_string() + " on " + interface;
    if (!is_multicast(group))
        return common::make_error(group.address_string() + " is not a multicast address");
    const unsigned ifindex = ::if_nametoindex(interface.c_str());
    if (ifindex == 0)
        return common::make_error(
            "cannot join " + what + ": no interface named " + interface + " (check [member] wan-interface)",
            errno);
    Endpoint local = group;
    if (local.family() == AF_INET6) {
        // Link- and interface-local groups (ff01::/16, ff02::/16) need the scope to bind.
        auto* v6 = reinterpret_cast<sockaddr_in6*>(&local.addr);
        if (IN6_IS_ADDR_MC_LINKLOCAL(&v6->sin6_addr) || IN6_IS_ADDR_MC_NODELOCAL(&v6->sin6_addr))
            v6->sin6_scope_id = ifindex;
    }
    auto sock = UdpSocket::bind(local);  // the group address: no clash with the unicast socket's port
    if (!sock)
        return common::make_error("cannot join " + what + ": " + sock.error().message, sock.error().code);
    int rc;
    if (group.family() == AF_INET) {
        int zero = 0;  // only this socket's own group (Linux default: every group joined on the host)
        ::setsockopt(sock->fd(), IPPROTO_IP, IP_MULTICAST_ALL, &zero, sizeof zero);
        ip_mreqn mreq{};
        mreq.imr_multiaddr = reinterpret_cast<const sockaddr_in*>(&group.addr)->sin_addr;
        mreq.imr_ifindex = static_cast<int>(ifindex);
        rc = ::setsockopt(sock->fd(), IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof mreq);
    } else {
        ipv6_mreq mreq{};
        mreq.ipv6mr_multiaddr = reinterpret_cast<const sockaddr_in6*>(&group.addr)->sin6_addr;
        mreq.ipv6mr_interface = ifindex;
        rc = ::setsockopt(sock->fd(), IPPROTO_IPV6, IPV6_JOIN_GROUP, &mreq, sizeof mreq);
    }
    if (rc != 0) {
        const int err = errno;
        std::string hint = err == ENODEV || err == EADDRNOTAVAIL
                               ? " (is " + interface + " up, with an address of this family?)"
                           : err == ENOBUFS ? " (too many memberships: net.ipv4.igmp_max_memberships)"
                                            : "";
        return common::make_error("cannot join " + what + ": " + std::strerror(err) + hint, err);
    }
    return MulticastSocket(std::move(*sock), group, interface);
}

}  // namespace gdoi
