// UDP transport for ISAKMP/GDOI (RFC 6407 §2: port 848). RAII socket, IPv4/IPv6.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <optional>
#include <string>

#include "common/ip_address.h"
#include "common/result.h"
#include "common/unique_fd.h"
#include "gdoi/bytes.h"

namespace gdoi {

inline constexpr uint16_t kGdoiPort = 848;

struct Endpoint {
    sockaddr_storage addr{};
    socklen_t len = 0;

    // "192.0.2.1", "2001:db8::1"; port in host order.
    static common::Result<Endpoint> parse(const std::string& address, uint16_t port);
    static Endpoint from(const common::IpAddress& address, uint16_t port);
    // The address without the port (IPv4 0.0.0.0 for an unset endpoint).
    common::IpAddress address() const;
    std::string to_string() const;  // "192.0.2.1:848", "[2001:db8::1]:848"
    std::string address_string() const;
    uint16_t port() const;
    int family() const { return addr.ss_family; }
    bool operator==(const Endpoint& other) const;
};

struct Datagram {
    Bytes data;
    Endpoint from;
};

class UdpSocket {
public:
    static constexpr int kReceiveBuffer = 4 << 20;  // bytes (SO_RCVBUF)
    // One datagram: more than any UDP payload (65,535 - 8 octets).
    static constexpr size_t kDatagramBuffer = 65536;
    static common::Result<UdpSocket> bind(const Endpoint& local);
    int fd() const { return fd_.get(); }
    common::Status send_to(ByteView data, const Endpoint& to) const;
    // Waits up to timeout; nullopt when nothing arrived in time.
    common::Result<std::optional<Datagram>> receive(std::chrono::milliseconds timeout) const;

private:
    explicit UdpSocket(int fd) : fd_(fd) {}
    common::UniqueFd fd_;
};

}  // namespace gdoi
