#include "gdoi/udp_socket.h"

#include <arpa/inet.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "gdoi/isakmp.h"

namespace gdoi {

common::Result<Endpoint> Endpoint::parse(const std::string& address, uint16_t port) {
    const auto a = common::IpAddress::parse(address);
    if (!a) return common::make_error("'" + address + "' is not an IPv4 or IPv6 address");
    return from(*a, port);
}

Endpoint Endpoint::from(const common::IpAddress& address, uint16_t port) {
    Endpoint e;
    if (address.family == common::IpFamily::ipv4) {
        auto* v4 = reinterpret_cast<sockaddr_in*>(&e.addr);
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        std::memcpy(&v4->sin_addr, address.bytes.data(), 4);
        e.len = sizeof(sockaddr_in);
    } else {
        auto* v6 = reinterpret_cast<sockaddr_in6*>(&e.addr);
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        std::memcpy(&v6->sin6_addr, address.bytes.data(), 16);
        e.len = sizeof(sockaddr_in6);
    }
    return e;
}

common::IpAddress Endpoint::address() const {
    common::IpAddress a;
    if (addr.ss_family == AF_INET) {
        std::memcpy(a.bytes.data(), &reinterpret_cast<const sockaddr_in*>(&addr)->sin_addr, 4);
    } else if (addr.ss_family == AF_INET6) {
        a.family = common::IpFamily::ipv6;
        std::memcpy(a.bytes.data(), &reinterpret_cast<const sockaddr_in6*>(&addr)->sin6_addr, 16);
    }
    return a;
}

std::string Endpoint::address_string() const {
    if (addr.ss_family != AF_INET && addr.ss_family != AF_INET6) return {};
    return address().to_string();
}

uint16_t Endpoint::port() const {
    if (addr.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&addr)->sin_port);
    if (addr.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&addr)->sin6_port);
    return 0;
}

std::string Endpoint::to_string() const {
    std::string a = address_string();
    if (addr.ss_family == AF_INET6) a = "[" + a + "]";
    return a + ":" + std::to_string(port());
}

bool Endpoint::operator==(const Endpoint& other) const {
    return family() == other.family() && port() == other.port() && address_string() == other.address_string();
}

common::Result<UdpSocket> UdpSocket::bind(const Endpoint& local) {
    int fd = ::socket(local.family(), SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return common::make_error(std::string("cannot create UDP socket: ") + std::strerror(errno), errno);
    UdpSocket s(fd);
    // No SO_REUSEADDR / SO_REUSEPORT: another process (of any user) must not be able to bind
    // this port too and take a share of the rekeys. A large receive buffer absorbs a burst
    // (a replay flood) until the loop drains it; as root beyond net.core.rmem_max.
    const int rcvbuf = kReceiveBuffer;
    if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) != 0)
        ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&local.addr), local.len) != 0) {
        int err = errno;
        std::string hint = err == EACCES          ? " (binding a port below 1024 needs CAP_NET_BIND_SERVICE)"
                           : err == EADDRNOTAVAIL ? " (the address is not configured on this host)"
                           : err == EADDRINUSE    ? " (another process uses this port)"
                                                  : "";
        return common::make_error("cannot bind UDP " + local.to_string() + ": " + std::strerror(err) + hint,
                                  err);
    }
    return s;
}

common::Status UdpSocket::send_to(ByteView data, const Endpoint& to) const {
    ssize_t n =
        ::sendto(fd_.get(), data.data(), data.size(), 0, reinterpret_cast<const sockaddr*>(&to.addr), to.len);
    if (n < 0)
        return common::make_error("send to " + to.to_string() + " failed: " + std::strerror(errno), errno);
    return {};
}

common::Result<std::optional<Datagram>> UdpSocket::receive(std::chrono::milliseconds timeout) const {
    pollfd p{fd_.get(), POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(std::max<long>(0, timeout.count())));
    if (r < 0) {
        if (errno == EINTR) return std::optional<Datagram>{};
        return common::make_error(std::string("poll failed: ") + std::strerror(errno), errno);
    }
    if (r == 0) return std::optional<Datagram>{};
    // A GDOI message is one datagram (RFC 6407 §5: no fragmentation of its own; IP reassembles
    // the fragments of a large one): the buffer holds any UDP payload, and MSG_TRUNC reports the
    // datagram's real length, so a cut message would be refused here rather than parsed short.
    // That length first (MSG_PEEK | MSG_TRUNC copies nothing), then a buffer of that size, rather
    // than 64 KiB zeroed for each datagram.
    static_assert(kDatagramBuffer > isakmp::kMaxMessageSize);
    const ssize_t length = ::recv(fd_.get(), nullptr, 0, MSG_PEEK | MSG_TRUNC);
    if (length < 0) return common::make_error(std::string("receive failed: ") + std::strerror(errno), errno);
    Datagram d;
    d.data.resize(std::min(static_cast<size_t>(length), kDatagramBuffer));
    d.from.len = sizeof d.from.addr;
    ssize_t n = ::recvfrom(fd_.get(), d.data.data(), d.data.size(), MSG_TRUNC,
                           reinterpret_cast<sockaddr*>(&d.from.addr), &d.from.len);
    if (n < 0) return common::make_error(std::string("receive failed: ") + std::strerror(errno), errno);
    if (static_cast<size_t>(n) > d.data.size())
        return common::make_error("datagram of " + std::to_string(n) + " octets from " + d.from.to_string() +
                                      " truncated to " + std::to_string(d.data.size()),
                                  EMSGSIZE);
    d.data.resize(static_cast<size_t>(n));
    return std::optional<Datagram>{std::move(d)};
}

}  // namespace gdoi
