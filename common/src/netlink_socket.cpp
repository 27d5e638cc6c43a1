// common::netlink::Socket: the RAII netlink fd and the request/ACK, dump and event loops.
#include "common/netlink_socket.h"

#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <string.h>  // explicit_bzero
#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

namespace common::netlink {
namespace {

// One recv: several messages of a dump, or one ACK (each ACK is its own datagram).
constexpr std::size_t kReceiveBytes = 64 * 1024;

// Replies may carry keys (XFRM_MSG_GETSA, SA dumps): wiped on every exit. Not zeroed first and
// wiped only as far as a reply reached: an exchange of small ACKs touches the buffer's first page,
// not its 64 KiB (the daemon maps blocks of this size on their own: gdoi-memberd.cpp).
struct ReceiveBuffer {
    std::unique_ptr<uint8_t[]> bytes{new uint8_t[kReceiveBytes]};
    std::size_t reached = 0;
    ReceiveBuffer() = default;
    ReceiveBuffer(const ReceiveBuffer&) = delete;
    ReceiveBuffer& operator=(const ReceiveBuffer&) = delete;
    ~ReceiveBuffer() { explicit_bzero(bytes.get(), reached); }
    const uint8_t* data() const { return bytes.get(); }
};

int extack_attr(const nlattr* attr, void* data) {
    if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG && mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) >= 0)
        static_cast<Ack*>(data)->kernel_message = mnl_attr_get_str(attr);
    return MNL_CB_OK;
}

Error socket_error(const std::string& what, int err) {
    if (err == EAGAIN || err == EWOULDBLOCK)
        return make_error("netlink " + what + ": no reply from the kernel within " +
                              std::to_string(kReplyTimeoutSeconds) + " s",
                          ETIMEDOUT);
    return make_error("netlink " + what + ": " + socket_hint(err), err);
}

Error overrun_error() {
    return make_error(
        "netlink receive buffer overrun: some ACKs were lost, so the outcome of the batch is unknown; "
        "dump and reconcile",
        ENOBUFS);
}

std::span<const uint8_t> bytes_of(const nlmsghdr* nlh) {
    return {reinterpret_cast<const uint8_t*>(nlh), nlh->nlmsg_len};
}

// recv() retried on EINTR; the byte count or -1 with errno set.
ssize_t receive(int fd, ReceiveBuffer& rx, int flags) {
    for (;;) {
        const ssize_t n = ::recv(fd, rx.bytes.get(), kReceiveBytes, flags);
        if (n > 0) rx.reached = std::max(rx.reached, static_cast<std::size_t>(n));
        if (n >= 0 || errno != EINTR) return n;
    }
}

}  // namespace

// NLMSG_ERROR carries the errno and, with NETLINK_EXT_ACK, the kernel's own text
// (NLMSGERR_ATTR_MSG) after the (capped, NETLINK_CAP_ACK) original header.
Ack parse_ack(std::span<const uint8_t> message) {
    Ack ack;
    const auto* nlh = reinterpret_cast<const nlmsghdr*>(message.data());
    if (message.size() < mnl_nlmsg_size(sizeof(nlmsgerr)) ||
        nlh->nlmsg_len < mnl_nlmsg_size(sizeof(nlmsgerr)) || nlh->nlmsg_len > message.size()) {
        ack.error = EPROTO;
        ack.truncated = true;
        return ack;
    }
    const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
    ack.error = -err->error;
    if (nlh->nlmsg_flags & NLM_F_ACK_TLVS) {
        unsigned offset = sizeof(nlmsgerr);
        if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) offset += err->msg.nlmsg_len - sizeof(nlmsghdr);
        if (mnl_nlmsg_size(offset) <= nlh->nlmsg_len) mnl_attr_parse(nlh, offset, extack_attr, &ack);
    }
    return ack;
}

std::string socket_hint(int err) {
    if (err == EPERM || err == EACCES) return "needs CAP_NET_ADMIN (run as root or grant the capability)";
    if (err == ENOMEM) return "kernel out of memory";
    return std::strerror(err);
}

Result<Socket> Socket::open(int protocol, const SocketOptions& options) {
    UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol));
    if (!fd) return socket_error("socket", errno);
    sockaddr_nl local{};
    local.nl_family = AF_NETLINK;  // nl_pid 0: the kernel picks our port id
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&local), sizeof(local)) < 0)
        return socket_error("bind", errno);
    int on = 1;
    setsockopt(fd.get(), SOL_NETLINK, NETLINK_EXT_ACK, &on, sizeof(on));
    setsockopt(fd.get(), SOL_NETLINK, NETLINK_CAP_ACK, &on, sizeof(on));
    if (options.receive_buffer > 0)
        setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &options.receive_buffer, sizeof(options.receive_buffer));
    if (options.reply_timeout_seconds > 0) {
        timeval timeout{options.reply_timeout_seconds, 0};
        setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    }
    for (unsigned group : options.groups) {
        if (setsockopt(fd.get(), SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) < 0)
            return socket_error("join multicast group " + std::to_string(group), errno);
    }
    return Socket(std::move(fd));
}

void Socket::reserve_buffers(std::size_t send_bytes, std::size_t receive_bytes) {
    const auto set = [this](int force_opt, int opt, std::size_t size) {
        const int value = static_cast<int>(std::min<std::size_t>(size, 1u << 30));
        if (setsockopt(fd_.get(), SOL_SOCKET, force_opt, &value, sizeof value) != 0)
            setsockopt(fd_.get(), SOL_SOCKET, opt, &value, sizeof value);
    };
    set(SO_SNDBUFFORCE, SO_SNDBUF, send_bytes);
    set(SO_RCVBUFFORCE, SO_RCVBUF, receive_bytes);
}

Status Socket::send(std::span<const uint8_t> bytes) {
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    for (;;) {
        const ssize_t n = ::sendto(fd_.get(), bytes.data(), bytes.size(), 0,
                                   reinterpret_cast<sockaddr*>(&kernel), sizeof(kernel));
        if (n >= 0) return {};
        if (errno != EINTR) return socket_error("sendmsg", errno);
    }
}

Status Socket::exchange(std::span<uint8_t> messages, const AckHandler& on_ack, const ReplyHandler& on_reply) {
    // Number the block and note which messages ask for an ACK.
    const uint32_t base_seq = next_seq_;
    std::vector<bool> expects_ack;
    {
        int left = static_cast<int>(messages.size());
        for (auto* nlh = reinterpret_cast<nlmsghdr*>(messages.data()); mnl_nlmsg_ok(nlh, left);
             nlh = mnl_nlmsg_next(nlh, &left)) {
            nlh->nlmsg_seq = next_seq_++;
            nlh->nlmsg_pid = 0;
            expects_ack.push_back((nlh->nlmsg_flags & NLM_F_ACK) != 0);
        }
    }
    std::size_t pending = static_cast<std::size_t>(std::count(expects_ack.begin(), expects_ack.end(), true));
    if (auto sent = send(messages); !sent) return sent;

    std::vector<bool> answered(expects_ack.size(), false);
    ReceiveBuffer rx;
    bool failed = false;
    while (pending > 0) {
        // Everything is queued once sendmsg returned: after a failure, stop at an empty queue.
        const ssize_t n = receive(fd_.get(), rx, failed ? MSG_DONTWAIT : 0);
        if (n < 0) {
            if (failed && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
            if (errno == ENOBUFS) return overrun_error();
            return socket_error("recv", errno);
        }
        int left = static_cast<int>(n);
        for (auto* nlh = reinterpret_cast<const nlmsghdr*>(rx.data()); mnl_nlmsg_ok(nlh, left);
             nlh = mnl_nlmsg_next(nlh, &left)) {
            const uint32_t seq = nlh->nlmsg_seq;
            if (seq - base_seq >= answered.size()) continue;  // stale: an earlier exchange's
            const std::size_t index = seq - base_seq;
            if (answered[index]) continue;
            if (nlh->nlmsg_type != NLMSG_ERROR) {
                if (on_reply) on_reply(index, bytes_of(nlh));  // e.g. XFRM_MSG_NEWSA for a GETSA
                continue;
            }
            const Ack ack = parse_ack(bytes_of(nlh));
            // A message without NLM_F_ACK is only answered when it failed (e.g. an nf_tables
            // batch begin refused for lack of CAP_NET_ADMIN).
            if (!expects_ack[index] && ack.error == 0) continue;
            answered[index] = true;
            if (expects_ack[index]) --pending;
            if (ack.error != 0) failed = true;
            on_ack(index, ack);
        }
    }
    return {};
}

Result<Ack> Socket::request(std::span<uint8_t> message, const MessageHandler& on_message) {
    auto* nlh = reinterpret_cast<nlmsghdr*>(message.data());
    const uint32_t seq = nlh->nlmsg_seq = next_seq_++;
    nlh->nlmsg_pid = 0;
    const bool is_dump = (nlh->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
    if (auto sent = send(message.first(nlh->nlmsg_len)); !sent) return sent.error();

    ReceiveBuffer rx;
    bool interrupted = false;
    for (;;) {
        const ssize_t n = receive(fd_.get(), rx, 0);
        if (n < 0) return socket_error("recv", errno);
        int left = static_cast<int>(n);
        for (auto* msg = reinterpret_cast<const nlmsghdr*>(rx.data()); mnl_nlmsg_ok(msg, left);
             msg = mnl_nlmsg_next(msg, &left)) {
            if (msg->nlmsg_seq != seq) continue;
            if (msg->nlmsg_flags & NLM_F_DUMP_INTR) interrupted = true;
            if (msg->nlmsg_type == NLMSG_DONE) {
                Ack done;
                // A dump that failed part-way ends with a negative errno in NLMSG_DONE.
                if (mnl_nlmsg_get_payload_len(msg) >= sizeof(int)) {
                    int value = 0;
                    std::memcpy(&value, mnl_nlmsg_get_payload(msg), sizeof value);
                    done.error = -value;
                }
                done.interrupted = interrupted;
                return done;
            }
            if (msg->nlmsg_type == NLMSG_ERROR) {
                Ack ack = parse_ack(bytes_of(msg));
                // With NLM_F_ACK a dump's ACK may come before its NLMSG_DONE.
                if (ack.error == 0 && is_dump) continue;
                ack.interrupted = interrupted;
                return ack;
            }
            if (auto handled = on_message(bytes_of(msg)); !handled) return handled.error();
        }
    }
}

Result<std::vector<uint8_t>> Socket::receive_pending() {
    std::vector<uint8_t> all;
    ReceiveBuffer rx;
    for (;;) {
        const ssize_t n = receive(fd_.get(), rx, MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) return all;
            if (errno == ENOBUFS) return make_error("netlink events lost (receive buffer overrun)", ENOBUFS);
            return socket_error("recv", errno);
        }
        all.insert(all.end(), rx.data(), rx.data() + n);
    }
}

}  // namespace common::netlink
