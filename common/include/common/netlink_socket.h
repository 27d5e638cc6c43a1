// The one netlink socket of the project: an RAII AF_NETLINK socket and the loops every
// netlink user goes through (XFRM and rtnetlink in xfrm/, nf_tables batches in policy/):
// send a block of requests in one sendmsg and read until each has its ACK, send one
// request and read its replies until the dump (or the ACK) ends, and read what a
// multicast subscription queued. Messages are plain bytes here: callers build and parse
// them, and word errors for their own objects. Only linux/netlink.h facts; libmnl stays
// in the implementation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"

namespace common::netlink {

// The kernel's answer ending one request: NLMSG_ERROR (error 0 is the ACK) or, for a
// dump, NLMSG_DONE.
struct Ack {
    int error = 0;               // positive errno, 0 for success
    std::string kernel_message;  // NLMSGERR_ATTR_MSG (NETLINK_EXT_ACK); often empty
    bool truncated = false;      // an NLMSG_ERROR too short for struct nlmsgerr (error is EPROTO)
    bool interrupted = false;    // a dump the kernel changed under (NLM_F_DUMP_INTR): retry it
};

// Pure: the ACK in one NLMSG_ERROR message (the whole nlmsghdr and its payload).
Ack parse_ack(std::span<const uint8_t> message);

// The operator-facing text for an errno of the socket itself (not of a request).
std::string socket_hint(int err);

inline constexpr int kReplyTimeoutSeconds = 10;

struct SocketOptions {
    std::span<const unsigned> groups = {};  // multicast groups to join (event sockets)
    int receive_buffer = 1 << 20;           // SO_RCVBUF, best effort (capped by net.core.rmem_max)
    // SO_RCVTIMEO. The kernel answers inside the sendmsg call, so a reply that has not come
    // in seconds never will: fail instead of blocking forever. 0: no timeout.
    int reply_timeout_seconds = kReplyTimeoutSeconds;
};

class Socket {
public:
    // protocol: NETLINK_XFRM, NETLINK_ROUTE, NETLINK_NETFILTER... The socket asks for
    // extended ACKs (kernel error text) and capped ACKs (no copy of the request back, which
    // for XFRM would be a copy of the keys).
    static Result<Socket> open(int protocol, const SocketOptions& options = {});

    int fd() const { return fd_.get(); }

    // Raises SO_SNDBUF / SO_RCVBUF to these sizes: the FORCE options first (they need
    // CAP_NET_ADMIN, as nf_tables does), else the ones capped by net.core.{w,r}mem_max.
    void reserve_buffers(std::size_t send_bytes, std::size_t receive_bytes);

    // index: the position of the request in the block passed to exchange().
    using AckHandler = std::function<void(std::size_t index, const Ack& ack)>;
    using ReplyHandler = std::function<void(std::size_t index, std::span<const uint8_t> message)>;

    // The request/ACK loop. `messages` are complete netlink messages back to back; they go
    // in ONE sendmsg (an nf_tables batch must), each renumbered with a fresh sequence number
    // of this socket (so replies left from an earlier exchange are told apart). Every message
    // with NLM_F_ACK gets exactly one NLMSG_ERROR, handed to `on_ack`; replies that come
    // before it (GET requests) go to `on_reply`. The kernel handles the whole block inside
    // sendmsg, so once an ACK reported a failure the loop ends when nothing more is queued
    // (a failed nf_tables batch reports only its failing messages). The returned error is
    // the socket's (send, receive, timeout, overrun), never a request's.
    Status exchange(std::span<uint8_t> messages, const AckHandler& on_ack, const ReplyHandler& on_reply = {});

    // A reply to request(); an error stops reading and is returned.
    using MessageHandler = std::function<Status(std::span<const uint8_t> message)>;

    // Sends one request (renumbered like exchange()) and hands each reply to `on_message`
    // until it ends: NLMSG_DONE for an NLM_F_DUMP request (a dump that failed part-way
    // carries its errno there), the NLMSG_ERROR otherwise. Returns how it ended.
    Result<Ack> request(std::span<uint8_t> message, const MessageHandler& on_message);

    // What is queued now, without blocking (event sockets); empty when nothing. ENOBUFS
    // means events were lost to a receive buffer overrun.
    Result<std::vector<uint8_t>> receive_pending();

private:
    explicit Socket(UniqueFd fd) : fd_(std::move(fd)) {}
    Status send(std::span<const uint8_t> bytes);
    UniqueFd fd_;
    uint32_t next_seq_ = 1;
};

}  // namespace common::netlink
