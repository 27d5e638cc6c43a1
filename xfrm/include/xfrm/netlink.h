// The netlink boundary shared by XFRM, rtnetlink and the event socket: a buffer
// of requests (one sendmsg per chunk) and the socket every operation goes through
// (its request/ACK loop is common::netlink::Socket's, shared with policy/). Only
// linux/netlink.h facts here; libmnl is used by the implementation and never
// appears in this header.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/netlink_socket.h"
#include "common/result.h"
#include "xfrm/address.h"

namespace xfrm {

// A deletion that failed because the object is not there (ENOENT, ESRCH, ENODEV,
// EADDRNOTAVAIL): for teardown and rekey cleanup "already gone" is success (the kernel
// removes SAs at their hard lifetime, a device takes its routes with it).
bool already_gone(const common::Status& status);

// A request's outcome that is no failure in a batch (NetlinkSocket::transact): a batch
// cannot be split at the caller's convenience, so each request says which errno means
// "as wanted" for it — an SA that exists already, an SA the kernel removed at its hard
// lifetime (already_gone's errnos).
enum class Tolerate : uint8_t { nothing, exists, gone };
bool tolerated(Tolerate tolerate, int err);

// What a request acts on; chooses the operator hint for a kernel errno.
enum class ObjectKind : uint8_t { sa, policy, link, address, route, rule, other };

struct RequestInfo {
    std::size_t offset = 0;  // of the nlmsghdr in the buffer
    std::size_t length = 0;
    ObjectKind kind = ObjectKind::other;
    Family family = Family::ipv4;
    std::string what;  // "add SA spi 0x00001000 dst 192.0.2.1", for error messages
    Tolerate tolerate = Tolerate::nothing;
};

// Complete netlink messages back to back. Requests may carry keys, so the
// storage is wiped on growth, clear() and destruction (never left to realloc).
class MessageBuffer {
public:
    MessageBuffer() = default;
    ~MessageBuffer();
    MessageBuffer(MessageBuffer&& other) noexcept;
    MessageBuffer& operator=(MessageBuffer&& other) noexcept;
    MessageBuffer(const MessageBuffer&) = delete;
    MessageBuffer& operator=(const MessageBuffer&) = delete;

    void append(std::span<const uint8_t> message, ObjectKind kind, Family family, std::string what);
    // The request appended last accepts this errno as success (no-op on an empty buffer).
    void tolerate_last(Tolerate tolerate);
    std::span<const uint8_t> bytes() const { return {data_.get(), size_}; }
    std::span<uint8_t> mutable_bytes() { return {data_.get(), size_}; }
    const std::vector<RequestInfo>& requests() const { return requests_; }
    std::size_t count() const { return requests_.size(); }
    bool empty() const { return requests_.empty(); }
    void clear();

private:
    void reserve(std::size_t capacity);
    std::unique_ptr<uint8_t[]> data_;
    std::size_t size_ = 0;
    std::size_t capacity_ = 0;
    std::vector<RequestInfo> requests_;
};

// Wipes memory the compiler may not elide (explicit_bzero).
void wipe(std::span<uint8_t> bytes);

// The operator-facing text for a kernel errno on a request of this kind, e.g.
// EPROTONOSUPPORT on an SA -> "kernel has no ESP support: load esp4 (modprobe esp4)".
std::string operator_hint(int err, ObjectKind kind, Family family);

// "<what>: <hint> (kernel: <extack message>)" — the one place errors are worded.
common::Error request_error(const RequestInfo& request, int err, std::string_view kernel_message);

// XFRM / rtnetlink requests over the project's one netlink socket
// (common/netlink_socket.h): chunking, and errors worded for the objects requested.
class NetlinkSocket {
public:
    // protocol: NETLINK_XFRM or NETLINK_ROUTE. groups: multicast groups to join
    // (numbers as in XFRMNLGRP_*), for event sockets.
    static common::Result<NetlinkSocket> open(int protocol, std::span<const unsigned> groups = {});

    int fd() const { return socket_.fd(); }

    // A message from the kernel: the whole nlmsghdr and its payload.
    using MessageHandler = std::function<common::Status(std::span<const uint8_t> message)>;

    // Sends every request with a fresh sequence number and NLM_F_ACK, several per
    // sendmsg, and reads one ACK per request; replies that come before an ACK
    // (GET requests) go to `on_reply`. The kernel handles the requests of one
    // sendmsg in order and keeps going after a failure, so this is not atomic:
    // the result names the first failure and counts the others.
    common::Status transact(MessageBuffer& requests, const MessageHandler& on_reply = {});

    // Sends one NLM_F_DUMP request (the first in `request`) and calls `on_message`
    // with each reply message until NLMSG_DONE.
    common::Status dump(MessageBuffer& request, const MessageHandler& on_message);

    // Reads what is queued (non-blocking); for event sockets. Empty when nothing.
    common::Result<std::vector<uint8_t>> receive_pending();

private:
    explicit NetlinkSocket(common::netlink::Socket socket) : socket_(std::move(socket)) {}
    common::netlink::Socket socket_;
};

}  // namespace xfrm
