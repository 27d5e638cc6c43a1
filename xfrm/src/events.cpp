// XFRM event subscription and parsing (linux/xfrm.h: XFRMNLGRP_EXPIRE/ACQUIRE).
#include "xfrm/events.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/xfrm.h>

#include <cstring>

#include "xfrm_messages.h"

namespace xfrm {
namespace {

using detail::from_xfrm;

int acquire_tmpl(const nlattr* attr, void* data) {
    if (mnl_attr_get_type(attr) == XFRMA_TMPL && mnl_attr_get_payload_len(attr) >= sizeof(xfrm_user_tmpl)) {
        const auto t = detail::read_struct<xfrm_user_tmpl>(mnl_attr_get_payload(attr));
        static_cast<Acquire*>(data)->reqid = t.reqid;
    }
    return MNL_CB_OK;
}

Acquire parse_acquire(const nlmsghdr* nlh) {
    const auto copy = detail::read_struct<xfrm_user_acquire>(mnl_nlmsg_get_payload(nlh));
    const auto* a = &copy;
    Acquire ev;
    const uint16_t af = a->policy.sel.family ? a->policy.sel.family : a->sel.family;
    ev.dst = from_xfrm(a->id.daddr, af);
    ev.src = from_xfrm(a->saddr, af);
    ev.selector = detail::selector_from(a->sel);
    ev.policy_index = a->policy.index;
    ev.dir = static_cast<Direction>(a->policy.dir);
    ev.seq = a->seq;
    mnl_attr_parse(nlh, sizeof(xfrm_user_acquire), acquire_tmpl, &ev);
    return ev;
}

}  // namespace

ExpiredLimit expired_limit(const SaExpire& expire) {
    const Lifetime& limit = expire.hard ? expire.sa.hard : expire.sa.soft;
    if (limit.bytes && expire.sa.bytes >= limit.bytes) return ExpiredLimit::bytes;
    if (limit.packets && expire.sa.packets >= limit.packets) return ExpiredLimit::packets;
    return ExpiredLimit::time;
}

const char* expired_limit_name(ExpiredLimit limit) {
    switch (limit) {
        case ExpiredLimit::bytes: return "bytes";
        case ExpiredLimit::packets: return "packets";
        case ExpiredLimit::time: return "time";
    }
    return "?";
}

std::vector<Event> parse_events(std::span<const uint8_t> messages) {
    std::vector<Event> events;
    int left = static_cast<int>(messages.size());
    for (auto* nlh = reinterpret_cast<const nlmsghdr*>(messages.data()); mnl_nlmsg_ok(nlh, left);
         nlh = mnl_nlmsg_next(nlh, &left)) {
        if (nlh->nlmsg_type == XFRM_MSG_EXPIRE && nlh->nlmsg_len >= mnl_nlmsg_size(sizeof(xfrm_user_expire))) {
            const auto e = detail::read_struct<xfrm_user_expire>(mnl_nlmsg_get_payload(nlh));
            events.emplace_back(SaExpire{detail::sa_state_from_info(&e.state), e.hard != 0});
        } else if (nlh->nlmsg_type == XFRM_MSG_ACQUIRE &&
                   nlh->nlmsg_len >= mnl_nlmsg_size(sizeof(xfrm_user_acquire))) {
            events.emplace_back(parse_acquire(nlh));
        }
    }
    return events;
}

common::Result<EventSocket> EventSocket::open(bool expire, bool acquire) {
    std::vector<unsigned> groups;
    if (expire) groups.push_back(XFRMNLGRP_EXPIRE);
    if (acquire) groups.push_back(XFRMNLGRP_ACQUIRE);
    auto sock = NetlinkSocket::open(NETLINK_XFRM, groups);
    if (!sock) return sock.error();
    return EventSocket(std::move(sock).value());
}

common::Result<std::vector<Event>> EventSocket::read() {
    auto bytes = socket_.receive_pending();
    if (!bytes) return bytes.error();
    return parse_events(*bytes);
}

}  // namespace xfrm
