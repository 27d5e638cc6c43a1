// The GDOI socket: no other process — an unprivileged one least of all —
// can bind its address and port alongside it (no SO_REUSEADDR / SO_REUSEPORT), and its
// receive buffer is large enough to ride out a burst; the largest datagram arrives whole.
#include "gdoi/udp_socket.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>

namespace {

// In a child (as nobody when we are root): binding the port with every sharing option fails.
bool nobody_can_bind(uint16_t port) {
    const pid_t pid = ::fork();
    if (pid < 0) return false;
    if (pid == 0) {
        if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) ::_exit(2);
        int stolen = 0;
        for (const char* address : {"127.0.0.1", "0.0.0.0"}) {
            const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
            const int one = 1;
            ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
            ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
            sockaddr_in a{};
            a.sin_family = AF_INET;
            a.sin_port = htons(port);
            ::inet_pton(AF_INET, address, &a.sin_addr);
            if (::bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0) ++stolen;
            ::close(fd);
        }
        ::_exit(stolen == 0 ? 0 : 1);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// A socket on 127.0.0.1 with a port the kernel chose, and that port.
std::pair<gdoi::UdpSocket, uint16_t> loopback_socket() {
    auto local = gdoi::Endpoint::parse("127.0.0.1", 0);
    REQUIRE(local.ok());
    auto sock = gdoi::UdpSocket::bind(*local);
    REQUIRE(sock.ok());
    sockaddr_in bound{};
    socklen_t len = sizeof bound;
    REQUIRE(::getsockname(sock->fd(), reinterpret_cast<sockaddr*>(&bound), &len) == 0);
    return {std::move(*sock), ntohs(bound.sin_port)};
}

}  // namespace

TEST_CASE("UDP socket: another user cannot bind the GDOI port alongside the daemon", "[udp]") {
    auto [sock, port] = loopback_socket();
    CHECK(nobody_can_bind(port));
    int reuse = -1;
    socklen_t len = sizeof reuse;
    REQUIRE(::getsockopt(sock.fd(), SOL_SOCKET, SO_REUSEADDR, &reuse, &len) == 0);
    CHECK(reuse == 0);
}

TEST_CASE("UDP socket: the receive buffer holds a burst of pushes", "[udp]") {
    auto local = gdoi::Endpoint::parse("127.0.0.1", 0);
    REQUIRE(local.ok());
    auto sock = gdoi::UdpSocket::bind(*local);
    REQUIRE(sock.ok());
    int rcvbuf = 0;
    socklen_t len = sizeof rcvbuf;
    REQUIRE(::getsockopt(sock->fd(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, &len) == 0);
    if (::geteuid() == 0)
        CHECK(rcvbuf >= gdoi::UdpSocket::kReceiveBuffer);  // SO_RCVBUFFORCE; the kernel reports double
    else
        CHECK(rcvbuf > 0);
}

TEST_CASE("UDP socket: the largest datagram over IPv4 (65,507 octets) arrives whole", "[udp]") {
    auto [sock, port] = loopback_socket();
    auto self = gdoi::Endpoint::parse("127.0.0.1", port);
    REQUIRE(self.ok());
    gdoi::Bytes largest(65535 - 20 - 8);
    for (size_t i = 0; i < largest.size(); ++i) largest[i] = static_cast<uint8_t>(i * 7);
    REQUIRE(sock.send_to(largest, *self).ok());
    auto got = sock.receive(std::chrono::milliseconds(1000));
    REQUIRE(got.ok());
    REQUIRE(got->has_value());
    CHECK((*got)->data == largest);
    // One octet more is no IPv4 datagram: the send is refused, nothing is cut.
    largest.push_back(0);
    auto too_long = sock.send_to(largest, *self);
    REQUIRE_FALSE(too_long.ok());
    CHECK(too_long.error().code == EMSGSIZE);
}
