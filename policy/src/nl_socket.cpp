// NETLINK_NETFILTER request/ACK handling for the member's nftables batches.
#include "nl_socket.h"

#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

namespace policy::detail {
namespace {

// Large enough for one nf_tables message of ours (a rule is a few hundred bytes).
constexpr std::size_t kMaxMessage = 64 * 1024;
// Socket buffer per ACK: an ACK skb's truesize is well under this (headers + nlmsgerr).
constexpr std::size_t kAckBudget = 1024;

void set_buffer(int fd, int force_opt, int opt, std::size_t size) {
    const int value = static_cast<int>(std::min<std::size_t>(size, 1u << 30));
    // FORCE needs CAP_NET_ADMIN (which nf_tables needs anyway); fall back to the capped option.
    if (setsockopt(fd, SOL_SOCKET, force_opt, &value, sizeof value) != 0)
        setsockopt(fd, SOL_SOCKET, opt, &value, sizeof value);
}

}  // namespace

Batch::Batch() : seq_(static_cast<std::uint32_t>(time(nullptr))), first_seq_(0) {
    char* p = reserve(kMaxMessage);
    nftnl_batch_begin(p, seq_++);
    used_ += NLMSG_ALIGN(reinterpret_cast<nlmsghdr*>(p)->nlmsg_len);
    buf_.resize(used_);
    first_seq_ = seq_;
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

std::string Batch::describe(std::uint32_t seq) const {
    if (seq < first_seq_ || seq - first_seq_ >= descriptions_.size()) return {};
    return descriptions_[seq - first_seq_];
}

void MnlSocketDeleter::operator()(mnl_socket* s) const { mnl_socket_close(s); }

common::Result<NetfilterSocket> NetfilterSocket::open() {
    std::unique_ptr<mnl_socket, MnlSocketDeleter> s(mnl_socket_open(NETLINK_NETFILTER));
    if (!s) {
        const int err = errno;
        return common::make_error(explain_errno(err, "opening the netfilter netlink socket"), err);
    }
    if (mnl_socket_bind(s.get(), 0, MNL_SOCKET_AUTOPID) < 0) {
        const int err = errno;
        return common::make_error(explain_errno(err, "binding the netfilter netlink socket"), err);
    }
    // Errors echo only the header, not the whole rule (we know which message it was by seq).
    int one = 1;
    mnl_socket_setsockopt(s.get(), NETLINK_CAP_ACK, &one, sizeof one);
    NetfilterSocket sock(std::move(s));
    sock.portid_ = mnl_socket_get_portid(sock.sock_.get());
    return sock;
}

common::Status NetfilterSocket::send_batch(const Batch& batch) {
    const int fd = mnl_socket_get_fd(sock_.get());
    // The kernel processes the whole batch inside sendmsg and queues every ACK before we read
    // one, so the receive buffer must hold them all (else ENOBUFS and lost ACKs).
    set_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, batch.bytes().size() + 4096);
    set_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF,
               std::max<std::size_t>(256 * 1024, (batch.messages() + 2) * kAckBudget));

    if (mnl_socket_sendto(sock_.get(), batch.bytes().data(), batch.bytes().size()) < 0) {
        const int err = errno;
        return common::make_error(explain_errno(err, "sending the nftables batch"), err);
    }
    std::size_t acked = 0;
    std::string first_error;
    int first_errno = 0;
    std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE * 4);
    while (acked < batch.messages()) {
        const ssize_t n = recv(fd, buf.data(), buf.size(), acked == 0 && first_errno == 0 ? 0 : MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR) continue;
            // All ACKs are queued by the time sendmsg returns: nothing more to wait for. On a
            // failed batch the kernel only reports the failing messages.
            if ((errno == EAGAIN || errno == EWOULDBLOCK) && first_errno != 0) break;
            const int err = errno;
            return common::make_error(
                explain_errno(err, "reading nftables ACKs (" + std::to_string(acked) + " of " +
                                       std::to_string(batch.messages()) + " received)"),
                err);
        }
        int left = static_cast<int>(n);
        for (auto* nlh = reinterpret_cast<nlmsghdr*>(buf.data()); mnl_nlmsg_ok(nlh, left);
             nlh = mnl_nlmsg_next(nlh, &left)) {
            if (nlh->nlmsg_type != NLMSG_ERROR) continue;
            const auto* e = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
            ++acked;
            if (e->error != 0 && first_errno == 0) {
                first_errno = -e->error;
                auto what = batch.describe(nlh->nlmsg_seq);
                first_error = explain_errno(first_errno, what.empty() ? "the nftables batch" : what);
            }
        }
    }
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
    if (mnl_socket_sendto(sock_.get(), nlh, nlh->nlmsg_len) < 0) {
        const int err = errno;
        return common::make_error(explain_errno(err, "sending an nftables request"), err);
    }
    std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
    for (;;) {
        const ssize_t n = mnl_socket_recvfrom(sock_.get(), buf.data(), buf.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            const int err = errno;
            return common::make_error(explain_errno(err, "reading an nftables reply"), err);
        }
        int left = static_cast<int>(n);
        for (auto* r = reinterpret_cast<nlmsghdr*>(buf.data()); mnl_nlmsg_ok(r, left);
             r = mnl_nlmsg_next(r, &left)) {
            if (r->nlmsg_seq != nlh->nlmsg_seq) continue;
            if (r->nlmsg_type == NLMSG_ERROR) {
                const int err = -static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(r))->error;
                if (err != 0 || !(nlh->nlmsg_flags & NLM_F_DUMP)) return err;
                continue;
            }
            if (r->nlmsg_type == NLMSG_DONE) {
                // A dump that failed part-way ends with a negative errno after NLMSG_DONE.
                if (mnl_nlmsg_get_payload_len(r) >= sizeof(int))
                    return -*static_cast<const int*>(mnl_nlmsg_get_payload(r));
                return 0;
            }
            on_message(r);
        }
    }
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
