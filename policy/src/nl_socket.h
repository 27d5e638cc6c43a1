// nf_tables over NETLINK_NETFILTER: every message of a batch asks for an ACK, and every ACK is
// read and checked (common::netlink::Socket::exchange), so a batch is only "done" when the kernel
// said so.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/netlink_socket.h"
#include "common/result.h"

struct nlmsghdr;

namespace policy::detail {

// A batch under construction: NFNL_MSG_BATCH_BEGIN ... END around nf_tables messages, each with
// a description used in error messages. The socket renumbers the messages when it sends them.
class Batch {
public:
    Batch();
    // Space for one message; call commit() once it is built.
    char* reserve(std::size_t max_len);
    std::uint32_t next_seq() const { return seq_; }
    void commit(std::string description);
    void finish();  // appends NFNL_MSG_BATCH_END
    const std::vector<char>& bytes() const { return buf_; }
    std::span<std::uint8_t> mutable_bytes() {
        return {reinterpret_cast<std::uint8_t*>(buf_.data()), buf_.size()};
    }
    std::size_t messages() const { return descriptions_.size(); }
    // What the message at this position of the batch (0: BATCH_BEGIN) was for, or empty when
    // it is not one of ours.
    std::string describe(std::size_t index) const;

private:
    std::vector<char> buf_;
    std::size_t used_ = 0;
    std::uint32_t seq_ = 0;
    std::vector<std::string> descriptions_;
};

// nf_tables requests over the project's netlink socket (common/netlink_socket.h).
class NetfilterSocket {
public:
    static common::Result<NetfilterSocket> open();

    // Sends the batch in one sendmsg and checks one ACK per message. `on_reply` gets what the
    // kernel echoes (NLM_F_ECHO) for the message at that position of the batch (0: BATCH_BEGIN).
    using ReplyHandler = std::function<void(std::size_t index, const nlmsghdr* message)>;
    common::Status send_batch(Batch& batch, const ReplyHandler& on_reply = {});
    // Sends one request (e.g. NFT_MSG_GETTABLE) and returns the kernel's errno (0 on success).
    common::Result<int> request(char* msg);
    // Sends one dump request (NLM_F_DUMP) and hands every answer to `on_message` until the
    // dump ends; returns the kernel's errno (0 on success).
    common::Result<int> dump(char* msg, const std::function<void(const nlmsghdr*)>& on_message);

private:
    explicit NetfilterSocket(common::netlink::Socket s) : sock_(std::move(s)) {}
    common::netlink::Socket sock_;
};

// One NetfilterSocket kept open between operations: closing a netfilter netlink socket costs
// the kernel 10-17 ms, most of a small table apply. The socket is dropped after a failed
// operation and reopened by the next one, and reopened when the calling thread is in another
// network namespace than the one it was opened in (a socket talks to its own netns).
class NetfilterLink {
public:
    // Calls `operation` with an open socket.
    common::Status use(const std::function<common::Status(NetfilterSocket&)>& operation);

private:
    std::optional<NetfilterSocket> socket_;
    std::uint64_t netns_ = 0;
};

// Through the process's one NetfilterLink, serialized by a mutex: send_batch(), and request()
// or dump() (a dump when the message has NLM_F_DUMP) returning the kernel's errno.
common::Status send_shared(Batch& batch, const NetfilterSocket::ReplyHandler& on_reply = {});
common::Result<int> request_shared(char* msg, const std::function<void(const nlmsghdr*)>& on_message = {});

// errno from nf_tables -> what an operator should check.
std::string explain_errno(int err, const std::string& what);

}  // namespace policy::detail
