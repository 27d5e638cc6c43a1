// One NETLINK_NETFILTER socket (libmnl) and the request/ACK loop: every message of a batch asks
// for an ACK, and every ACK is read and checked, so a batch is only "done" when the kernel said so.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"

struct mnl_socket;
struct nlmsghdr;

namespace policy::detail {

// A batch under construction: NFNL_MSG_BATCH_BEGIN ... END around nf_tables messages, each with
// its own sequence number and a description used in error messages.
class Batch {
public:
    Batch();
    // Space for one message; call commit() once it is built (returns its sequence number).
    char* reserve(std::size_t max_len);
    std::uint32_t next_seq() const { return seq_; }
    void commit(std::string description);
    void finish();  // appends NFNL_MSG_BATCH_END
    const std::vector<char>& bytes() const { return buf_; }
    std::size_t messages() const { return descriptions_.size(); }
    // What the message with this sequence number was for, or empty when not one of ours.
    std::string describe(std::uint32_t seq) const;
    std::uint32_t first_seq() const { return first_seq_; }

private:
    std::vector<char> buf_;
    std::size_t used_ = 0;
    std::uint32_t seq_;
    std::uint32_t first_seq_;
    std::vector<std::string> descriptions_;
};

struct MnlSocketDeleter {
    void operator()(mnl_socket* s) const;
};

class NetfilterSocket {
public:
    static common::Result<NetfilterSocket> open();

    // Sends the batch in one sendmsg and checks one ACK per message.
    common::Status send_batch(const Batch& batch);
    // Sends one request (e.g. NFT_MSG_GETTABLE) and returns the kernel's errno (0 on success).
    common::Result<int> request(char* msg);
    // Sends one dump request (NLM_F_DUMP) and hands every answer to `on_message` until the
    // dump ends; returns the kernel's errno (0 on success).
    common::Result<int> dump(char* msg, const std::function<void(const nlmsghdr*)>& on_message);

private:
    explicit NetfilterSocket(std::unique_ptr<mnl_socket, MnlSocketDeleter> s) : sock_(std::move(s)) {}
    std::unique_ptr<mnl_socket, MnlSocketDeleter> sock_;
    std::uint32_t portid_ = 0;
};

// errno from nf_tables -> what an operator should check.
std::string explain_errno(int err, const std::string& what);

}  // namespace policy::detail
