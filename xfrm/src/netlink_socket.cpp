// NetlinkSocket: the RAII fd and the one request/ACK loop every operation uses.
#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>

#include "xfrm/netlink.h"

namespace xfrm {
namespace {

// Requests per sendmsg. Each ACK is its own skb in our receive queue (~1 KiB of
// truesize), so this bounds what one chunk can queue well below rmem_default.
constexpr std::size_t kMaxRequestsPerChunk = 64;
constexpr std::size_t kMaxChunkBytes = 32 * 1024;
constexpr std::size_t kReceiveBytes = 64 * 1024;
constexpr time_t kReplyTimeoutSeconds = 10;

struct AckView {
    int error = 0;  // positive errno, 0 for success
    std::string kernel_message;
};

int extack_attr(const nlattr* attr, void* data) {
    if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
        mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) >= 0)
        static_cast<AckView*>(data)->kernel_message = mnl_attr_get_str(attr);
    return MNL_CB_OK;
}

// NLMSG_ERROR carries the errno and, with NETLINK_EXT_ACK, the kernel's own text
// (NLMSGERR_ATTR_MSG) after the (capped, NETLINK_CAP_ACK) original header.
std::optional<AckView> parse_ack(const nlmsghdr* nlh) {
    if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(nlmsgerr))) return std::nullopt;
    const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
    AckView ack;
    ack.error = -err->error;
    if (nlh->nlmsg_flags & NLM_F_ACK_TLVS) {
        unsigned offset = sizeof(nlmsgerr);
        if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) offset += err->msg.nlmsg_len - sizeof(nlmsghdr);
        mnl_attr_parse(nlh, offset, extack_attr, &ack);
    }
    return ack;
}

common::Error socket_error(std::string what, int err) {
    if (err == EAGAIN || err == EWOULDBLOCK)
        return common::make_error("netlink " + what + ": no reply from the kernel within " +
                                      std::to_string(kReplyTimeoutSeconds) + " s",
                                  ETIMEDOUT);
    return common::make_error("netlink " + what + ": " + operator_hint(err, ObjectKind::other, Family::ipv4), err);
}

}  // namespace

common::Result<NetlinkSocket> NetlinkSocket::open(int protocol, std::span<const unsigned> groups) {
    int fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
    if (fd < 0) {
        int err = errno;
        if (protocol == NETLINK_XFRM && err == EPROTONOSUPPORT)
            return common::make_error(
                "kernel has no XFRM netlink interface: load xfrm_user (modprobe xfrm_user)", err);
        return socket_error("socket", err);
    }
    NetlinkSocket sock(fd);  // owns fd from here on
    sockaddr_nl local{};
    local.nl_family = AF_NETLINK;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof(local)) < 0)
        return socket_error("bind", errno);
    int on = 1;
    // Kernel error text in ACKs, and ACKs without a copy of our request (which
    // would be a copy of the keys).
    setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &on, sizeof(on));
    setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &on, sizeof(on));
    int rcvbuf = 1 << 20;  // best effort; capped by net.core.rmem_max
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    // The kernel answers in the sendmsg call's context, so a reply that has not
    // come in seconds never will: fail instead of blocking the member forever.
    timeval timeout{kReplyTimeoutSeconds, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    for (unsigned group : groups) {
        if (setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) < 0)
            return socket_error("join multicast group " + std::to_string(group), errno);
    }
    return sock;
}

NetlinkSocket::~NetlinkSocket() {
    if (fd_ >= 0) ::close(fd_);
}

NetlinkSocket::NetlinkSocket(NetlinkSocket&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), next_seq_(other.next_seq_) {}

NetlinkSocket& NetlinkSocket::operator=(NetlinkSocket&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = std::exchange(other.fd_, -1);
        next_seq_ = other.next_seq_;
    }
    return *this;
}

common::Status NetlinkSocket::send_chunk(std::span<const uint8_t> chunk) {
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    for (;;) {
        ssize_t n = ::sendto(fd_, chunk.data(), chunk.size(), 0,
                             reinterpret_cast<sockaddr*>(&kernel), sizeof(kernel));
        if (n >= 0) return {};
        if (errno != EINTR) return socket_error("sendmsg", errno);
    }
}

common::Status NetlinkSocket::transact(MessageBuffer& requests, const MessageHandler& on_reply) {
    auto bytes = requests.mutable_bytes();
    const auto& infos = requests.requests();
    std::optional<common::Error> first_failure;
    std::size_t failures = 0;
    // Replies to XFRM_MSG_GETSA carry keys: wipe the receive buffer on every exit.
    std::vector<uint8_t> rx(kReceiveBytes);
    struct Wiper {
        std::vector<uint8_t>& b;
        ~Wiper() { wipe(b); }
    } wiper{rx};

    std::size_t next = 0;
    while (next < infos.size()) {
        // One chunk: consecutive requests (they are contiguous in the buffer).
        const std::size_t begin = next;
        std::size_t chunk_bytes = 0;
        while (next < infos.size() && next - begin < kMaxRequestsPerChunk &&
               (next == begin || chunk_bytes + infos[next].length <= kMaxChunkBytes)) {
            chunk_bytes += infos[next].length;
            ++next;
        }
        const uint32_t base_seq = next_seq_;
        for (std::size_t i = begin; i < next; ++i) {
            auto* nlh = reinterpret_cast<nlmsghdr*>(bytes.data() + infos[i].offset);
            nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
            nlh->nlmsg_seq = next_seq_++;
            nlh->nlmsg_pid = 0;
        }
        if (auto sent = send_chunk(bytes.subspan(infos[begin].offset, chunk_bytes)); !sent) return sent;

        // Every request gets exactly one NLMSG_ERROR (error 0 = ACK).
        std::vector<bool> acked(next - begin, false);
        std::size_t pending = next - begin;
        while (pending > 0) {
            ssize_t n = ::recv(fd_, rx.data(), rx.size(), 0);
            if (n < 0) {
                if (errno == EINTR) continue;
                if (errno == ENOBUFS)
                    return common::make_error(
                        "netlink receive buffer overrun: some ACKs were lost, so the outcome of "
                        "the batch is unknown; dump and reconcile",
                        ENOBUFS);
                return socket_error("recv", errno);
            }
            int left = static_cast<int>(n);
            for (auto* nlh = reinterpret_cast<const nlmsghdr*>(rx.data()); mnl_nlmsg_ok(nlh, left);
                 nlh = mnl_nlmsg_next(nlh, &left)) {
                const uint32_t seq = nlh->nlmsg_seq;
                if (seq < base_seq || seq >= base_seq + acked.size()) continue;  // stale
                const std::size_t index = seq - base_seq;
                if (nlh->nlmsg_type != NLMSG_ERROR) {
                    // A reply (e.g. XFRM_MSG_NEWSA for a GETSA) precedes its ACK.
                    if (on_reply && !acked[index]) {
                        auto handled = on_reply({reinterpret_cast<const uint8_t*>(nlh), nlh->nlmsg_len});
                        if (!handled && !first_failure) {
                            ++failures;
                            first_failure = handled.error();
                        }
                    }
                    continue;
                }
                if (acked[index]) continue;
                acked[index] = true;
                --pending;
                auto ack = parse_ack(nlh);
                if (!ack) {
                    ++failures;
                    if (!first_failure)
                        first_failure = common::make_error(infos[begin + index].what + ": truncated netlink ACK", EPROTO);
                    continue;
                }
                if (ack->error != 0) {
                    ++failures;
                    if (!first_failure) first_failure = request_error(infos[begin + index], ack->error, ack->kernel_message);
                }
            }
        }
    }
    if (!first_failure) return {};
    if (failures > 1)
        first_failure->message += " (and " + std::to_string(failures - 1) + " more failed request(s) in this batch)";
    return *first_failure;
}

common::Status NetlinkSocket::dump(MessageBuffer& request, const MessageHandler& on_message) {
    if (request.empty()) return common::make_error("netlink dump: empty request", EINVAL);
    const RequestInfo& info = request.requests().front();
    auto* nlh = reinterpret_cast<nlmsghdr*>(request.mutable_bytes().data() + info.offset);
    nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_DUMP;
    const uint32_t seq = nlh->nlmsg_seq = next_seq_++;
    if (auto sent = send_chunk(request.bytes().subspan(info.offset, info.length)); !sent) return sent;

    // SA dumps carry keys (XFRMA_ALG_*): wipe the receive buffer on every exit.
    std::vector<uint8_t> rx(kReceiveBytes);
    struct Wiper {
        std::vector<uint8_t>& b;
        ~Wiper() { wipe(b); }
    } wiper{rx};
    bool interrupted = false;
    for (;;) {
        ssize_t n = ::recv(fd_, rx.data(), rx.size(), 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            return socket_error("recv (" + info.what + ")", errno);
        }
        int left = static_cast<int>(n);
        for (auto* msg = reinterpret_cast<const nlmsghdr*>(rx.data()); mnl_nlmsg_ok(msg, left);
             msg = mnl_nlmsg_next(msg, &left)) {
            if (msg->nlmsg_seq != seq) continue;
            if (msg->nlmsg_flags & NLM_F_DUMP_INTR) interrupted = true;
            if (msg->nlmsg_type == NLMSG_DONE) {
                // The kernel changed the table during the dump: the result may
                // miss or repeat objects (NLM_F_DUMP_INTR); callers retry.
                if (interrupted)
                    return common::make_error(info.what + ": dump interrupted by a concurrent change", EINTR);
                return {};
            }
            if (msg->nlmsg_type == NLMSG_ERROR) {
                auto ack = parse_ack(msg);
                int err = ack ? ack->error : EPROTO;
                return request_error(info, err ? err : EPROTO, ack ? ack->kernel_message : "");
            }
            auto status = on_message({reinterpret_cast<const uint8_t*>(msg), msg->nlmsg_len});
            if (!status) return status;
        }
    }
}

common::Result<std::vector<uint8_t>> NetlinkSocket::receive_pending() {
    std::vector<uint8_t> all;
    std::vector<uint8_t> rx(kReceiveBytes);
    for (;;) {
        ssize_t n = ::recv(fd_, rx.data(), rx.size(), MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return all;
            if (errno == ENOBUFS)
                return common::make_error(
                    "netlink events lost (receive buffer overrun): re-read the SAs with a dump", ENOBUFS);
            return socket_error("recv", errno);
        }
        all.insert(all.end(), rx.begin(), rx.begin() + n);
    }
}

}  // namespace xfrm
