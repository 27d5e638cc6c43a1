// NetlinkSocket: XFRM and rtnetlink requests in chunks through common::netlink::Socket,
// with failures worded per request (request_error).
#include <linux/netlink.h>

#include <optional>
#include <string>

#include "xfrm/netlink.h"

namespace xfrm {
namespace {

// Requests per sendmsg. Each ACK is its own skb in our receive queue (~1 KiB of
// truesize), so this bounds what one chunk can queue well below rmem_default.
constexpr std::size_t kMaxRequestsPerChunk = 64;
constexpr std::size_t kMaxChunkBytes = 32 * 1024;

}  // namespace

common::Result<NetlinkSocket> NetlinkSocket::open(int protocol, std::span<const unsigned> groups) {
    auto sock = common::netlink::Socket::open(protocol, {.groups = groups});
    if (!sock) {
        if (protocol == NETLINK_XFRM && sock.error().code == EPROTONOSUPPORT)
            return common::make_error(
                "kernel has no XFRM netlink interface: load xfrm_user (modprobe xfrm_user)", EPROTONOSUPPORT);
        return sock.error();
    }
    return NetlinkSocket(std::move(sock).value());
}

common::Status NetlinkSocket::transact(MessageBuffer& requests, const MessageHandler& on_reply) {
    auto bytes = requests.mutable_bytes();
    const auto& infos = requests.requests();
    std::optional<common::Error> first_failure;
    std::size_t failures = 0;
    const auto fail = [&](common::Error error) {
        ++failures;
        if (!first_failure) first_failure = std::move(error);
    };

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
        for (std::size_t i = begin; i < next; ++i)
            reinterpret_cast<nlmsghdr*>(bytes.data() + infos[i].offset)->nlmsg_flags |=
                NLM_F_REQUEST | NLM_F_ACK;

        // Every request gets exactly one NLMSG_ERROR (error 0 = ACK).
        auto status = socket_.exchange(
            bytes.subspan(infos[begin].offset, chunk_bytes),
            [&](std::size_t index, const common::netlink::Ack& ack) {
                const RequestInfo& info = infos[begin + index];
                if (ack.truncated)
                    fail(common::make_error(info.what + ": truncated netlink ACK", EPROTO));
                else if (ack.error != 0 && !tolerated(info.tolerate, ack.error))
                    fail(request_error(info, ack.error, ack.kernel_message));
            },
            [&](std::size_t, std::span<const uint8_t> reply) {
                // A reply (e.g. XFRM_MSG_NEWSA for a GETSA) precedes its ACK.
                if (!on_reply) return;
                if (auto handled = on_reply(reply); !handled && !first_failure) fail(handled.error());
            });
        if (!status) return status;
    }
    if (!first_failure) return {};
    if (failures > 1)
        first_failure->message +=
            " (and " + std::to_string(failures - 1) + " more failed request(s) in this batch)";
    return *first_failure;
}

common::Status NetlinkSocket::dump(MessageBuffer& request, const MessageHandler& on_message) {
    if (request.empty()) return common::make_error("netlink dump: empty request", EINVAL);
    const RequestInfo& info = request.requests().front();
    auto message = request.mutable_bytes().subspan(info.offset, info.length);
    reinterpret_cast<nlmsghdr*>(message.data())->nlmsg_flags |= NLM_F_REQUEST | NLM_F_DUMP;
    auto end = socket_.request(message, on_message);
    if (!end) {
        auto error = end.error();
        error.message = info.what + ": " + error.message;
        return error;
    }
    // The kernel changed the table during the dump: the result may miss or repeat
    // objects (NLM_F_DUMP_INTR); callers retry.
    if (end->error == 0 && end->interrupted)
        return common::make_error(info.what + ": dump interrupted by a concurrent change", EINTR);
    if (end->error != 0) return request_error(info, end->error, end->kernel_message);
    return {};
}

common::Result<std::vector<uint8_t>> NetlinkSocket::receive_pending() {
    auto pending = socket_.receive_pending();
    if (!pending && pending.error().code == ENOBUFS)
        return common::make_error(pending.error().message + ": re-read the SAs with a dump", ENOBUFS);
    return pending;
}

}  // namespace xfrm
