// parse_events on hand-built kernel notifications.
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/xfrm.h>

#include <array>
#include <catch2/catch.hpp>
#include <cstring>
#include <string>

#include "xfrm/events.h"

using namespace xfrm;

TEST_CASE("XFRM_MSG_EXPIRE and XFRM_MSG_ACQUIRE become typed events", "[events]") {
    std::array<uint8_t, 4096> buf{};
    std::size_t used = 0;

    nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
    nlh->nlmsg_type = XFRM_MSG_EXPIRE;
    auto* exp = static_cast<xfrm_user_expire*>(mnl_nlmsg_put_extra_header(nlh, sizeof(xfrm_user_expire)));
    exp->state.id.spi = htonl(0x1234);
    exp->state.id.proto = IPPROTO_ESP;
    exp->state.family = AF_INET;
    exp->state.id.daddr.a4 = htonl(0xa9fe0001);
    exp->state.saddr.a4 = htonl(0xa9fe0002);
    exp->state.reqid = 9;
    exp->state.sel.user = 0x47444f49;
    exp->state.curlft.bytes = 1000;
    exp->hard = 1;
    used += nlh->nlmsg_len;

    nlh = mnl_nlmsg_put_header(buf.data() + used);
    nlh->nlmsg_type = XFRM_MSG_NEWAE;  // something that is not an event
    used += nlh->nlmsg_len;

    nlh = mnl_nlmsg_put_header(buf.data() + used);
    nlh->nlmsg_type = XFRM_MSG_ACQUIRE;
    auto* acq = static_cast<xfrm_user_acquire*>(mnl_nlmsg_put_extra_header(nlh, sizeof(xfrm_user_acquire)));
    acq->id.daddr.a4 = htonl(0x0a000002);
    acq->saddr.a4 = htonl(0x0a000001);
    acq->sel.family = AF_INET;
    acq->sel.daddr.a4 = htonl(0x0a000002);
    acq->sel.prefixlen_d = 32;
    acq->sel.proto = IPPROTO_UDP;
    acq->sel.dport = htons(53);
    acq->sel.dport_mask = 0xffff;
    acq->policy.sel.family = AF_INET;
    acq->policy.index = 0x41;
    acq->policy.dir = XFRM_POLICY_OUT;
    acq->seq = 77;
    xfrm_user_tmpl tmpl{};
    tmpl.reqid = 5;
    mnl_attr_put(nlh, XFRMA_TMPL, sizeof(tmpl), &tmpl);
    used += nlh->nlmsg_len;

    auto events = parse_events({buf.data(), used});
    REQUIRE(events.size() == 2);
    const auto& e = std::get<SaExpire>(events[0]);
    CHECK(e.hard);
    CHECK(e.sa.spi == 0x1234);
    CHECK(e.sa.reqid == 9);
    CHECK(e.sa.owner == 0x47444f49);
    CHECK(e.sa.dst.to_string() == "169.254.0.1");
    CHECK(e.sa.bytes == 1000);
    const auto& a = std::get<Acquire>(events[1]);
    CHECK(a.dst.to_string() == "10.0.0.2");
    CHECK(a.src.to_string() == "10.0.0.1");
    CHECK(a.selector.dst.to_string() == "10.0.0.2/32");
    CHECK(a.selector.dst_port == 53);
    CHECK(a.policy_index == 0x41);
    CHECK(a.dir == Direction::out);
    CHECK(a.reqid == 5);
    CHECK(a.seq == 77);

    CHECK(parse_events({buf.data(), 10}).empty());  // truncated header
}

TEST_CASE("expired_limit names the limit the SA's counters reached", "[events]") {
    SaExpire e;
    e.sa.soft = {900, 9000, 750};
    e.sa.hard = {1000, 10000, 1000};
    SECTION("packets: the GCM packet limit of an outbound SA") {
        e.sa.packets = 750;
        e.sa.bytes = 100;
        CHECK(expired_limit(e) == ExpiredLimit::packets);
        e.hard = true;  // the hard limit is not reached by the same counters
        CHECK(expired_limit(e) == ExpiredLimit::time);
        e.sa.packets = 1000;
        CHECK(expired_limit(e) == ExpiredLimit::packets);
    }
    SECTION("bytes") {
        e.sa.bytes = 9001;
        e.sa.packets = 10;
        CHECK(expired_limit(e) == ExpiredLimit::bytes);
    }
    SECTION("time: no counter reached its limit, or the SA has no counter limits") {
        e.sa.bytes = 8999;
        e.sa.packets = 749;
        CHECK(expired_limit(e) == ExpiredLimit::time);
        e.sa.soft = {900, 0, 0};
        e.sa.packets = 5'000'000;
        CHECK(expired_limit(e) == ExpiredLimit::time);
    }
    CHECK(std::string(expired_limit_name(ExpiredLimit::bytes)) == "bytes");
    CHECK(std::string(expired_limit_name(ExpiredLimit::packets)) == "packets");
    CHECK(std::string(expired_limit_name(ExpiredLimit::time)) == "time");
}
