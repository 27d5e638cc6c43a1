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
    const Tek tek{0x4000,     {EspTransformId::esp_aes_gcm_16, 128, AuthAlgorithmId::none},
                  key,        {},
                  {10, 0, 0}, {20, 0, 0}};

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

TEST_CASE("IPv6 carrier: ip6ip6 out policy, ::/0 guard, SAs G_IN6 <-> G_OUT6", "[dataplane][ipv6]") {
    auto x = Xfrm::open();
    auto r = Rtnl::open();
    DataplaneConfig c = config(false);
    c.carrier = {"gdoi6", address("100::47"), address("100::48"), 0, true};
    GroupDataplane dp(*x, *r, c);

    PolicySpec carrier = dp.carrier_policy();
    CHECK(carrier.dir == Direction::out);
    CHECK(carrier.selector.proto == IPPROTO_IPV6);
    CHECK(carrier.selector.src.to_string() == "100::47/128");
    CHECK(carrier.selector.dst.to_string() == "100::48/128");
    REQUIRE(carrier.templates.size() == 1);
    CHECK(carrier.templates[0].mode == Mode::transport);
    CHECK(carrier.templates[0].reqid == 77);

    PolicySpec guard = dp.ipip_guard_policy();
    CHECK(guard.action == Action::block);
    CHECK(guard.dir == Direction::in);
    CHECK(guard.selector.src.to_string() == "::/0");
    CHECK(guard.selector.dst.to_string() == "100::47/128");
    CHECK(guard.selector.proto == IPPROTO_IPV6);

    const std::vector<uint8_t> key(16, 1), auth(32, 2);
    const Tek tek{0x4000, {EspTransformId::esp_aes_cbc, 128, AuthAlgorithmId::hmac_sha2_256}, key, auth, {},
                  {}};
    const SaSpec in = dp.inbound_sa(tek);
    CHECK(in.mode == Mode::tunnel);
    CHECK(in.src == address("100::48"));
    CHECK(in.dst == address("100::47"));
    CHECK(in.replay_window == 0);
    const SaSpec out = dp.outbound_sa(tek);
    CHECK(out.mode == Mode::transport);
    CHECK(out.src == address("100::47"));
    CHECK(out.dst == address("100::48"));

    const std::vector<Prefix> local{*Prefix::parse("2001:db8:1::/48")};
    const auto fwd = dp.prefix_policies(*Prefix::parse("2001:db8:2::/48"), local);
    REQUIRE(fwd.size() == 1);
    CHECK(fwd[0].dir == Direction::fwd);
    CHECK(fwd[0].selector.src.to_string() == "2001:db8:2::/48");
    CHECK(fwd[0].selector.dst.to_string() == "2001:db8:1::/48");
}

TEST_CASE("IPv6 carrier: a WAN MTU that cannot carry 1280 octets is refused before any kernel change",
          "[dataplane][ipv6]") {
    auto x = Xfrm::open();
    auto r = Rtnl::open();
    DataplaneConfig c = config(false);
    c.carrier = {"gdoi6", address("100::47"), address("100::48"), 0, true};
    c.wan_mtu = 1350;
    GroupDataplane dp(*x, *r, c);
    // AES-CBC + HMAC-SHA-256-128: 40 + 8 + 16 IV + 16 ICV around 1280 + 2 padded to 16 -> 1376.
    const EspTransform cbc{EspTransformId::esp_aes_cbc, 128, AuthAlgorithmId::hmac_sha2_256};
    const auto s = dp.install_carrier(cbc);
    REQUIRE_FALSE(s);
    CHECK(s.error().message ==
          "carrier gdoi6: WAN MTU 1350 cannot carry IPv6's minimum MTU of 1280 inside ip6ip6 and this TEK's "
          "ESP: "
          "the WAN needs an MTU of at least 1376");
}
