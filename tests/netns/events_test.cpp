// XFRMNLGRP_ACQUIRE on this host's kernel: a packet hits an out policy whose
// template has no SA (no ESP module is needed for the larval state).
#include <poll.h>

#include <catch2/catch.hpp>

#include "netns_fixture.h"
#include "xfrm/events.h"
#include "xfrm/xfrm.h"

using namespace xfrm;
using netns_test::ScopedNetns;

TEST_CASE("an ACQUIRE event reaches the event socket", "[netns][events]") {
    ScopedNetns ns;
    REQUIRE(ns.ip("link add wan0 type veth peer wan1").empty());
    REQUIRE(ns.ip("addr add 10.0.0.1/24 dev wan0").empty());
    REQUIRE(ns.ip("link set wan0 up").empty());
    REQUIRE(ns.ip("link set wan1 up").empty());

    auto events = ns.run([&] {
        auto sock = EventSocket::open();
        REQUIRE(sock);
        auto none = sock->read();
        REQUIRE(none);
        CHECK(none->empty());

        auto x = Xfrm::open();
        PolicySpec p;
        p.selector = {*Prefix::parse("10.0.0.1/32"), *Prefix::parse("10.0.0.2/32"), 0, 0, 0};
        p.dir = Direction::out;
        p.templates.push_back(Template{std::nullopt, std::nullopt, 0, Mode::transport, 11, Level::required});
        REQUIRE(x->add_policy(p));
        netns_test::capture("ip netns exec " + ns.name() + " ping -c 1 -W 1 10.0.0.2");

        pollfd pfd{sock->fd(), POLLIN, 0};
        REQUIRE(poll(&pfd, 1, 3000) == 1);
        auto got = sock->read();
        REQUIRE(got);
        return *got;
    });
    REQUIRE_FALSE(events.empty());
    const auto* a = std::get_if<Acquire>(&events.front());
    REQUIRE(a);
    CHECK(a->dst.to_string() == "10.0.0.2");
    CHECK(a->src.to_string() == "10.0.0.1");
    CHECK(a->dir == Direction::out);
    CHECK(a->reqid == 11);
    CHECK(a->selector.dst.to_string() == "10.0.0.2/32");
}
