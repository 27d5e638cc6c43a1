// The SAs and policies GroupDataplane installs (specs only; no kernel calls).
#include <netinet/in.h>

#include <catch2/catch.hpp>
#include <vector>

#include "xfrm/dataplane.h"

using namespace xfrm;

namespace {
Address address(const char* text) { return *Address::parse(text); }

DataplaneConfig config(bool in_policies) {
    DataplaneConfig c;
    c.carrier = {"gdoi0", address("169.254.0.1"), address("169.254.0.2"), 0, true};
    c.reqid = 77;
    c.in_policies = in_policies;
    return c;
}
}  // namespace

TEST_CASE("group SAs: inbound tunnel G_OUT->G_IN, outbound transport G_IN->G_OUT, same SPI and reqid",
          "[dataplane]") {
    // Opening netlink sockets needs no privilege; nothing is sent here.
    auto x = Xfrm::open();
    auto r = Rtnl::open();
    REQUIRE(x);
    REQUIRE(r);
    GroupDataplane dp(*x, *r, config(false));
    const std::vector<uint8_t> key(20, 1);
    const Tek tek{0x4000, {EspTransformId::esp_aes_gcm_16, 128, AuthAlgorithmId::none}, key, {}, {10, 0, 0}, {20, 0, 0}};

    SaSpec in = dp.inbound_sa(tek);
    CHECK(in.mode == Mode::tunnel);
    CHECK(in.src == address("169.254.0.2"));
    CHECK(in.dst == address("169.254.0.1"));
    CHECK(in.replay_window == 0);
    CHECK(in.reqid == 77);
    CHECK(in.spi == 0x4000);
    CHECK(in.hard.seconds == 20);

    SaSpec out = dp.outbound_sa(tek);
    CHECK(out.mode == Mode::transport);
    CHECK(out.src == address("169.254.0.1"));
    CHECK(out.dst == address("169.254.0.2"));
    CHECK(out.reqid == 77);
    CHECK(out.spi == 0x4000);
    CHECK(out.encryption_key.data() == key.data());  // borrowed, not copied
}

TEST_CASE("carrier, guard and per-prefix policies", "[dataplane]") {
    auto x = Xfrm::open();
    auto r = Rtnl::open();
    GroupDataplane dp(*x, *r, config(false));

    PolicySpec carrier = dp.carrier_policy();
    CHECK(carrier.dir == Direction::out);
    CHECK(carrier.selector.proto == IPPROTO_IPIP);
    CHECK(carrier.selector.src.to_string() == "169.254.0.1/32");
    CHECK(carrier.selector.dst.to_string() == "169.254.0.2/32");
    REQUIRE(carrier.templates.size() == 1);
    CHECK(carrier.templates[0].mode == Mode::transport);
    CHECK(carrier.templates[0].level == Level::required);
    CHECK(carrier.templates[0].reqid == 77);

    PolicySpec guard = dp.ipip_guard_policy();
    CHECK(guard.action == Action::block);
    CHECK(guard.dir == Direction::in);
    CHECK(guard.selector.src.to_string() == "0.0.0.0/0");
    CHECK(guard.selector.dst.to_string() == "169.254.0.1/32");
    CHECK(guard.selector.proto == IPPROTO_IPIP);
    CHECK(guard.templates.empty());

    const std::vector<Prefix> local{*Prefix::parse("10.1.0.0/16"), *Prefix::parse("10.11.0.0/16")};
    auto fwd = dp.prefix_policies(*Prefix::parse("10.2.0.0/16"), local);
    REQUIRE(fwd.size() == 2);
    for (const auto& p : fwd) {
        CHECK(p.dir == Direction::fwd);
        REQUIRE(p.templates.size() == 1);
        CHECK_FALSE(p.templates[0].src);
        CHECK_FALSE(p.templates[0].dst);
        CHECK(p.templates[0].spi == 0);  // both SPIs during a rekey
        CHECK(p.templates[0].mode == Mode::tunnel);
        CHECK(p.templates[0].level == Level::required);
    }

    GroupDataplane with_in(*x, *r, config(true));
    auto both = with_in.prefix_policies(*Prefix::parse("10.2.0.0/16"), local);
    CHECK(both.size() == 4);
    CHECK(both[1].dir == Direction::in);
}
