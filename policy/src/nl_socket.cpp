// NETLINK_NETFILTER request/ACK handling for the member's nftables batches.
#include "nl_socket.h"

#include <libnftnl/common.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>

namespace policy::detail {
namespace {

// Large enough for one nf_tables message of ours (a rule is a few hundred bytes).
constexpr std::size_t kMaxMessage = 64 * 1024;
// Socket buffer per ACK: an ACK skb's truesize is well under this (headers + nlmsgerr).
constexpr std::size_t kAckBudget = 1024;

// The calling thread's network namespace (the inode of its ns/net link); 0 when unknown.
std::uint64_t current_netns() {
    struct stat st {};
    if (stat("/proc/thread-self/ns/net", &st) != 0) return 0;
    return static_cast<std::uint64_t>(st.st_ino);
}

}  // namespace

Batch::Batch() {
    char* p = reserve(kMaxMessage);
    nftnl_batch_begin(p, seq_++);
    used_ += NLMSG_ALIGN(reinterpret_cast<nlmsghdr*>(p)->nlmsg_len);
    buf_.resize(used_);
}

char* Batch::reserve(std::size_t max_len) {
    buf_.resize(used_ + max_len);
    std::memset(buf_.data() + used_, 0, max_len);
    return buf_.data() + used_;
}

void Batch::commit(std::string description) {
    const auto* nlh = reinterpret_cast<const nlmsghdr*>(buf_.data() + used_);
    used_ += NLMSG_ALIGN(nlh->nlmsg_len);
    buf_.resize(used_);
    descriptions_.push_back(std::move(description));
    ++seq_;
}

void Batch::finish() {
    char* p = reserve(kMaxMessage);
    nftnl_batch_end(p, seq_++);
    used_ += NLMSG_ALIGN(reinterpret_cast<nlmsghdr*>(p)->nlmsg_len);
    buf_.resize(used_);
}

std::string Batch::describe(std::size_t index) const {
    if (index == 0 || index > descriptions_.size()) return {};
    return descriptions_[index - 1];
}

common::Result<NetfilterSocket> NetfilterSocket::open() {
    auto s = common::netlink::Socket::open(NETLINK_NETFILTER);
    if (!s) {
        const int err = s.error().code;
        return common::make_error(explain_errno(err, "opening the netfilter netlink socket"), err);
    }
    return NetfilterSocket(std::move(s).value());
}

common::Status NetfilterSocket::send_batch(Batch& batch, const ReplyHandler& on_reply) {
    // The kernel processes the whole batch inside sendmsg and queues every ACK before we read
    // one, so the receive buffer must hold them all (else ENOBUFS and lost ACKs).
    sock_.reserve_buffers(batch.bytes().size() + 4096,
                          std::max<std::size_t>(256 * 1024, (batch.messages() + 2) * kAckBudget));
    std::size_t acked = 0;
    std::string first_error;
    int first_errno = 0;
    auto status = sock_.exchange(
        batch.mutable_bytes(),
        [&](std::size_t index, const common::netlink::Ack& ack) {
            ++acked;
            if (ack.error == 0 || first_errno != 0) return;
            first_errno = ack.error;
            auto what = batch.describe(index);
            first_error = explain_errno(first_errno, what.empty() ? "the nftables batch" : what);
            if (!ack.kernel_message.empty()) first_error += " (kernel: " + ack.kernel_message + ")";
        },
        [&](std::size_t index, std::span<const std::uint8_t> reply) {
            if (on_reply) on_reply(index, reinterpret_cast<const nlmsghdr*>(reply.data()));
        });
    if (!status)
        return common::make_error("nftables batch (" + std::to_string(acked) + " of " +
                                      std::to_string(batch.messages()) +
                                      " ACKs received): " + status.error().message,
                                  status.error().code);
    if (first_errno != 0)
        return common::make_error(
            first_error + " (the whole batch was rolled back; the kernel keeps the previous table)",
            first_errno);
    return {};
}

common::Result<int> NetfilterSocket::request(char* msg) {
    return dump(msg, [](const nlmsghdr*) {});
}

common::Result<int> NetfilterSocket::dump(char* msg, const std::function<void(const nlmsghdr*)>& on_message) {
    auto* nlh = reinterpret_cast<nlmsghdr*>(msg);
    auto end = sock_.request({reinterpret_cast<std::uint8_t*>(msg), nlh->nlmsg_len},
                             [&](std::span<const std::uint8_t> reply) -> common::Status {
                                 on_message(reinterpret_cast<const nlmsghdr*>(reply.data()));
                                 return {};
                             });
    if (!end) return common::make_error("nftables request: " + end.error().message, end.error().code);
    return end->error;
}

common::Status NetfilterLink::use(const std::function<common::Status(NetfilterSocket&)>& operation) {
    const std::uint64_t netns = current_netns();
    if (socket_ && netns != netns_) socket_.reset();
    if (!socket_) {
        auto opened = NetfilterSocket::open();
        if (!opened) return opened.error();
        socket_.emplace(std::move(opened).value());
        netns_ = netns;
    }
    auto status = operation(*socket_);
    // Whatever went wrong (a refused batch, a timeout, an overrun), the next operation starts
    // on a fresh socket with nothing left queued.
    if (!status) socket_.reset();
    return status;
}

namespace {
std::mutex shared_mutex;
NetfilterLink& shared_link() {
    static NetfilterLink link;
    return link;
}
}  // namespace

common::Status send_shared(Batch& batch, const NetfilterSocket::ReplyHandler& on_reply) {
    std::lock_guard lock(shared_mutex);
    return shared_link().use([&](NetfilterSocket& sock) { return sock.send_batch(batch, on_reply); });
}

common::Result<int> request_shared(char* msg, const std::function<void(const nlmsghdr*)>& on_message) {
    std::lock_guard lock(shared_mutex);
    int err = 0;
    auto status = shared_link().use([&](NetfilterSocket& sock) -> common::Status {
        auto answer = on_message ? sock.dump(msg, on_message) : sock.request(msg);
        if (!answer) return answer.error();
        err = *answer;
        return {};
    });
    if (!status) return status.error();
    return err;
}

std::string explain_errno(int err, const std::string& what) {
    const std::string base = what + ": " + std::strerror(err);
    switch (err) {
        case EPERM:
        case EACCES:
            return base + " — managing nftables needs CAP_NET_ADMIN (run as root or grant the capability)";
        case ENOENT:
            return base +
                   " — either the table/set does not exist (apply the member's table first) or the kernel "
                   "lacks an nftables module this needs (nft_meta, nft_rt, nft_payload, nft_set_pipapo: "
                   "check the kernel config / modprobe)";
        case EPROTONOSUPPORT:
        case EAFNOSUPPORT:
            return base + " — the kernel has no nf_tables (modprobe nf_tables, or CONFIG_NF_TABLES)";
        case EOPNOTSUPP:
            return base + " — the kernel does not support this nftables feature (too old a kernel?)";
        case EINVAL:
            return base +
                   " — the kernel rejected it as invalid (kernel too old for this rule, or a bug in policy/)";
        case ENOBUFS:
            return base +
                   " — the netlink socket buffer overflowed; retry (net.core.rmem_max may be too small)";
        case EBUSY:
            return base + " — still in use (another table refers to it?)";
        case EEXIST:
            return base + " — already exists (another program created the same name?)";
        case E2BIG:
        case EMSGSIZE:
            return base + " — the batch is too large for the netlink socket (net.core.wmem_max)";
        default:
            return base;
    }
}

}  // namespace policy::detail
