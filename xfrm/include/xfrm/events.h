// XFRM multicast events: XFRMNLGRP_EXPIRE (an SA reached its soft or hard
// lifetime) and XFRMNLGRP_ACQUIRE (a policy needs an SA that does not exist).
// The socket is for the caller's poll loop: wait for POLLIN on fd(), then read().
#pragma once

#include <cstdint>
#include <span>
#include <variant>
#include <vector>

#include "common/result.h"
#include "xfrm/netlink.h"
#include "xfrm/policy.h"
#include "xfrm/sa.h"

namespace xfrm {

// XFRM_MSG_EXPIRE (struct xfrm_user_expire). A soft expire asks for a rekey;
// after a hard expire the kernel has already deleted the SA. sa.owner tells
// whether it is ours.
struct SaExpire {
    SaState sa;  // without algorithm details (the event carries none)
    bool hard = false;
};

// Which limit of the SA's soft (or, for a hard expire, hard) lifetime the kernel hit:
// the counters in the event (xfrm_lifetime_cur) against the limits. Bytes and packets
// are checked first; when neither is reached it was the time (add_expires_seconds).
enum class ExpiredLimit { bytes, packets, time };
ExpiredLimit expired_limit(const SaExpire& expire);
const char* expired_limit_name(ExpiredLimit limit);  // "bytes", "packets", "time"

// XFRM_MSG_ACQUIRE (struct xfrm_user_acquire): traffic matched a policy
// (index/dir) whose template found no SA between src and dst.
struct Acquire {
    Address src;
    Address dst;
    Selector selector;  // the flow that triggered it
    uint32_t policy_index = 0;
    Direction dir = Direction::out;
    uint32_t reqid = 0;  // of the first template
    uint32_t seq = 0;    // the kernel's acquire sequence (xfrm_usersa_info.seq answers it)
};

using Event = std::variant<SaExpire, Acquire>;

// Pure: the events in a buffer of netlink messages; other message types are skipped.
std::vector<Event> parse_events(std::span<const uint8_t> messages);

class EventSocket {
public:
    static common::Result<EventSocket> open(bool expire = true, bool acquire = true);
    int fd() const { return socket_.fd(); }
    // Everything queued now (never blocks). An ENOBUFS error means events were
    // lost: the caller should re-read its SAs with Xfrm::dump_sas().
    common::Result<std::vector<Event>> read();

private:
    explicit EventSocket(NetlinkSocket socket) : socket_(std::move(socket)) {}
    NetlinkSocket socket_;
};

}  // namespace xfrm
