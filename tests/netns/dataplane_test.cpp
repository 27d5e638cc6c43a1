// GroupDataplane in a namespace: the carrier layout, the make-before-break
// rekey steps, the IPIP guard and teardown. The full layout needs IPIP and ESP,
// so those tests are tagged [esp] and run in the test VM; on the build host only
// the missing-module message is checked.
#include "xfrm/dataplane.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "netns_fixture.h"

using namespace xfrm;
using netns_test::ScopedNetns;

namespace {

Prefix prefix(const char* text) { return *Prefix::parse(text); }
Address address(const char* text) { return *Address::parse(text); }
bool contains(const std::string& h, const std::string& n) { return h.find(n) != std::string::npos; }

std::size_t count_of(const std::string& h, const std::string& n) {
    std::size_t count = 0;
    for (auto pos = h.find(n); pos != std::string::npos; pos = h.find(n, pos + 1)) ++count;
    return count;
}

DataplaneConfig config() {
    DataplaneConfig c;
    c.carrier = {"gdoi0", address("169.254.0.1"), address("169.254.0.2"), 0, true};
    c.wan_mtu = 1500;
    c.wan_device = "wan0";
    c.wan_gateway = address("192.0.2.2");
    return c;
}

const EspTransform kGcm{EspTransformId::esp_aes_gcm_16, 128, AuthAlgorithmId::none};
const EspTransform kCbc{EspTransformId::esp_aes_cbc, 128, AuthAlgorithmId::hmac_sha2_256};

uint64_t xfrm_stat(const ScopedNetns& ns, const std::string& name) {
    const std::string stats = netns_test::capture("ip netns exec " + ns.name() + " cat /proc/net/xfrm_stat");
    auto pos = stats.find(name);
    if (pos == std::string::npos) return 0;
    return std::stoull(stats.substr(pos + name.size()));
}

void wan(const ScopedNetns& ns) {
    REQUIRE(ns.ip("link add wan0 type veth peer wan1").empty());
    REQUIRE(ns.ip("addr add 192.0.2.1/24 dev wan0").empty());
    REQUIRE(ns.ip("link set wan0 up").empty());
    REQUIRE(ns.ip("link set wan1 up").empty());
}

}  // namespace

TEST_CASE("without IPIP in the kernel the carrier names the module", "[netns][dataplane]") {
    ScopedNetns ns;
    if (ns.ip("link add probe0 type ipip local 169.254.9.1 remote 169.254.9.2").empty()) {
        WARN("this kernel has IPIP: covered by the [esp] dataplane tests");
        return;
    }
    wan(ns);
    auto message = ns.run([] {
        auto x = Xfrm::open();
        auto r = Rtnl::open();
        GroupDataplane dp(*x, *r, config());
        auto s = dp.install_carrier(kGcm);
        REQUIRE_FALSE(s);
        return s.error().message;
    });
    CHECK(contains(message, "kernel has no IPIP tunnel support: load ipip (modprobe ipip)"));
}

TEST_CASE("the IPv6 carrier: G_IN6 on lo first, then ip6tnl, or the missing module is named",
          "[netns][dataplane][ipv6]") {
    ScopedNetns ns;
    wan(ns);
    REQUIRE(ns.ip("-6 addr add 2001:db8:ffff::1/64 dev wan0 nodad").empty());
    DataplaneConfig c = config();
    c.carrier = {"gdoi6", address("100::47"), address("100::48"), 0, true};
    c.wan_gateway = address("2001:db8:ffff::2");
    const bool has_ip6tnl =
        ns.ip("link add probe0 type ip6tnl mode ip6ip6 local 100::9:1 remote 100::9:2").empty();
    ns.ip("link del probe0");
    auto message = ns.run([&] {
        auto x = Xfrm::open();
        auto r = Rtnl::open();
        GroupDataplane dp(*x, *r, c);
        auto s = dp.install_carrier(kCbc);
        return s ? std::string() : s.error().message;
    });
    CHECK(contains(ns.ip("-6 addr show dev lo"), "100::47/128"));
    if (!has_ip6tnl) {
        CHECK(
            contains(message, "kernel has no ip6tnl tunnel support: load ip6_tunnel (modprobe ip6_tunnel)"));
        return;
    }
    // With ip6tnl (the test VM): the carrier is up at 1406 (WAN 1500, AES-CBC + HMAC-SHA-256-128);
    // the out policy and the guard need XFRM only.
    INFO(message);
    CHECK(message.empty());
    const std::string shown = ns.ip("-d link show gdoi6");
    CHECK(contains(shown, "mtu 1406"));
    CHECK(contains(shown, "encaplimit none"));
    const std::string policies = ns.ip("-6 xfrm policy");
    CHECK(contains(policies, "src 100::47/128 dst 100::48/128"));
    CHECK(contains(policies, "src ::/0 dst 100::47/128"));
}

TEST_CASE("carrier, prefixes, SAs and a make-before-break rekey", "[esp][dataplane]") {
    ScopedNetns ns;
    wan(ns);
    const std::vector<Prefix> local{prefix("10.1.0.0/16")};
    const std::vector<uint8_t> key1(20, 0x11), key2(16, 0x22), auth2(32, 0x33);
    const Tek tek1{0x100, kGcm, key1, {}, {3000, 0, 0}, {3600, 0, 0}};
    const Tek tek2{0x200, kCbc, key2, auth2, {3000, 0, 0}, {3600, 0, 0}};

    // 1. Layout.
    ns.run([&] {
        auto x = Xfrm::open();
        auto r = Rtnl::open();
        GroupDataplane dp(*x, *r, config());
        auto s = dp.install_carrier(kGcm);
        INFO((s.ok() ? std::string() : s.error().message));
        REQUIRE(s);
        REQUIRE(dp.install_carrier(kGcm));  // again: adopts
        REQUIRE(dp.install_remote_prefix(prefix("10.2.0.0/16"), local));
        REQUIRE(dp.install_inbound_sa(tek1));
        REQUIRE(dp.install_outbound_sa(tek1));
        return 0;
    });
    const std::string link = ns.ip("-d link show gdoi0");
    CHECK(contains(link, "mtu 1446"));
    CHECK(contains(link, "ipip remote 169.254.0.2 local 169.254.0.1 ttl inherit tos inherit"));
    CHECK(contains(link, ",UP"));
    CHECK(contains(ns.ip("addr show dev lo"), "inet 169.254.0.1/32"));
    CHECK(contains(ns.ip("route"), "169.254.0.2 via 192.0.2.2 dev wan0"));
    CHECK(contains(ns.ip("route"), "10.2.0.0/16 dev gdoi0"));
    const std::string policies = ns.ip("xfrm policy");
    CHECK(count_of(policies, "\tdir ") == 3);  // out (carrier), in (IPIP guard), fwd
    CHECK(
        contains(policies, "src 169.254.0.1/32 dst 169.254.0.2/32 proto ipencap \n\tdir out priority 1000"));
    CHECK(contains(policies, "src 0.0.0.0/0 dst 169.254.0.1/32 proto ipencap \n\tdir in action block"));
    CHECK(contains(policies, "src 10.2.0.0/16 dst 10.1.0.0/16 \n\tdir fwd priority 1000"));
    std::string states = ns.ip("xfrm state");
    CHECK(count_of(states, "proto esp spi") == 2);
    CHECK(contains(
        states, "src 169.254.0.2 dst 169.254.0.1\n\tproto esp spi 0x00000100 reqid 1195638785 mode tunnel"));
    CHECK(contains(
        states,
        "src 169.254.0.1 dst 169.254.0.2\n\tproto esp spi 0x00000100 reqid 1195638785 mode transport"));

    // 2. Traffic routed into the carrier is encrypted by the outbound SA.
    netns_test::capture("ip netns exec " + ns.name() + " ping -c 3 -i 0.2 -W 1 10.2.0.5");
    auto counters = ns.run([] {
        return *Xfrm::open()->get_sa({address("169.254.0.2"), 0x100, std::nullopt});
    });
    CHECK(counters.packets >= 3);

    // 3. Rekey: new inbound first; then new outbound + old outbound removed; then old inbound.
    ns.run([&] {
        auto x = Xfrm::open();
        auto r = Rtnl::open();
        GroupDataplane dp(*x, *r, config());
        REQUIRE(dp.install_inbound_sa(tek2));
        return 0;
    });
    CHECK(count_of(ns.ip("xfrm state"), "proto esp spi") == 3);
    ns.run([&] {
        auto x = Xfrm::open();
        auto r = Rtnl::open();
        GroupDataplane dp(*x, *r, config());
        auto s = dp.activate(tek2, tek1.spi);
        INFO((s.ok() ? std::string() : s.error().message));
        REQUIRE(s);
        return 0;
    });
    states = ns.ip("xfrm state");
    CHECK(count_of(states, "proto esp spi") == 3);
    CHECK(contains(states, "src 169.254.0.1 dst 169.254.0.2\n\tproto esp spi 0x00000200"));
    CHECK_FALSE(contains(states, "src 169.254.0.1 dst 169.254.0.2\n\tproto esp spi 0x00000100"));
    CHECK(contains(ns.ip("link show gdoi0"), "mtu 1438"));  // CBC + HMAC-SHA-256 overhead
    netns_test::capture("ip netns exec " + ns.name() + " ping -c 2 -i 0.2 -W 1 10.2.0.5");
    auto after = ns.run([] { return *Xfrm::open()->get_sa({address("169.254.0.2"), 0x200, std::nullopt}); });
    CHECK(after.packets >= 2);

    ns.run([&] {
        auto x = Xfrm::open();
        auto r = Rtnl::open();
        GroupDataplane dp(*x, *r, config());
        REQUIRE(dp.remove_inbound_sa(tek1.spi));
        return 0;
    });
    states = ns.ip("xfrm state");
    CHECK(count_of(states, "proto esp spi") == 2);
    CHECK_FALSE(contains(states, "spi 0x00000100"));

    // The kernel deletes an outbound SA at its hard lifetime (packet limit); the next rekey
    // replaces an SA that is gone already, which is no error.
    CHECK(ns.ip("xfrm state delete src 169.254.0.1 dst 169.254.0.2 proto esp spi 0x200").empty());
    const Tek tek3{0x300, kCbc, key2, auth2, {3000, 0, 0}, {3600, 0, 0}};
    ns.run([&] {
        auto x = Xfrm::open();
        auto r = Rtnl::open();
        GroupDataplane dp(*x, *r, config());
        auto s = dp.activate(tek3, tek2.spi);
        INFO((s.ok() ? std::string() : s.error().message));
        REQUIRE(s);
        return 0;
    });
    CHECK(contains(ns.ip("xfrm state"), "src 169.254.0.1 dst 169.254.0.2\n\tproto esp spi 0x00000300"));

    // 4. Teardown leaves nothing of ours.
    auto torn = ns.run([] {
        auto x = Xfrm::open();
        auto r = Rtnl::open();
        GroupDataplane dp(*x, *r, config());
        auto s = dp.teardown();
        return s.ok() ? std::string() : s.error().message;
    });
    CHECK(torn.empty());
    CHECK(ns.ip("xfrm state").empty());
    CHECK(ns.ip("xfrm policy").empty());
    CHECK(contains(ns.ip("link show gdoi0"), "does not exist"));
    CHECK_FALSE(contains(ns.ip("addr show dev lo"), "169.254.0.1"));
    CHECK_FALSE(contains(ns.ip("route"), "169.254.0.2"));
}

TEST_CASE("IPv6: carrier, prefixes, SAs and a make-before-break rekey", "[esp][dataplane][ipv6]") {
    ScopedNetns ns;
    wan(ns);
    REQUIRE(ns.ip("-6 addr add 2001:db8:ffff::1/64 dev wan0 nodad").empty());
    DataplaneConfig c = config();
    c.carrier = {"gdoi6", address("100::47"), address("100::48"), 0, true};
    c.wan_gateway = address("2001:db8:ffff::2");
    const std::vector<Prefix> local{prefix("2001:db8:1::/48")};
    const std::vector<uint8_t> key1(20, 0x11), key2(16, 0x22), auth2(32, 0x33);
    const Tek tek1{0x100, kGcm, key1, {}, {3000, 0, 0}, {3600, 0, 0}};
    const Tek tek2{0x200, kCbc, key2, auth2, {3000, 0, 0}, {3600, 0, 0}};
    const auto with = [&](auto step) {
        return ns.run([&] {
            auto x = Xfrm::open();
            auto r = Rtnl::open();
            GroupDataplane dp(*x, *r, c);
            auto s = step(dp);
            return s.ok() ? std::string() : s.error().message;
        });
    };

    CHECK(with([&](GroupDataplane& dp) {
              common::Status s = dp.install_carrier(kGcm);
              if (s) s = dp.install_carrier(kGcm);  // again: adopts
              if (s) s = dp.install_remote_prefix(prefix("2001:db8:2::/48"), local);
              if (s) s = dp.install_inbound_sa(tek1);
              if (s) s = dp.install_outbound_sa(tek1);
              return s;
          }) == "");
    const std::string link = ns.ip("-d link show gdoi6");
    CHECK(contains(link, "mtu 1426"));  // 1500 - 40 - ESP with AES-GCM
    CHECK(contains(link, "ip6tnl ip6ip6 remote 100::48 local 100::47"));
    CHECK(contains(link, "encaplimit none"));
    CHECK(contains(ns.ip("-6 addr show dev lo"), "inet6 100::47/128"));
    CHECK(contains(ns.ip("-6 route"), "100::48 via 2001:db8:ffff::2 dev wan0"));
    CHECK(contains(ns.ip("-6 route show table all"), "2001:db8:2::/48 dev gdoi6"));
    const std::string policies = ns.ip("-6 xfrm policy");
    CHECK(count_of(policies, "\tdir ") == 3);  // out (carrier), in (ip6ip6 guard), fwd
    CHECK(contains(policies, "src 100::47/128 dst 100::48/128"));
    CHECK(contains(policies, "src ::/0 dst 100::47/128"));
    CHECK(contains(policies, "src 2001:db8:2::/48 dst 2001:db8:1::/48 \n\tdir fwd priority 1000"));
    std::string states = ns.ip("-6 xfrm state");
    CHECK(
        contains(states, "src 100::48 dst 100::47\n\tproto esp spi 0x00000100 reqid 1195638785 mode tunnel"));
    CHECK(contains(states,
                   "src 100::47 dst 100::48\n\tproto esp spi 0x00000100 reqid 1195638785 mode transport"));

    // Traffic routed into the carrier is encrypted by the outbound SA.
    netns_test::capture("ip netns exec " + ns.name() + " ping -6 -c 3 -i 0.2 -W 1 2001:db8:2::5");
    CHECK(ns.run([] {
        return Xfrm::open()->get_sa({address("100::48"), 0x100, std::nullopt})->packets;
    }) >= 3);

    // Rekey: new inbound, then new outbound + old outbound removed (the MTU follows: CBC 1406).
    CHECK(with([&](GroupDataplane& dp) { return dp.install_inbound_sa(tek2); }) == "");
    CHECK(with([&](GroupDataplane& dp) { return dp.activate(tek2, tek1.spi); }) == "");
    states = ns.ip("-6 xfrm state");
    CHECK(contains(states, "src 100::47 dst 100::48\n\tproto esp spi 0x00000200"));
    CHECK_FALSE(contains(states, "src 100::47 dst 100::48\n\tproto esp spi 0x00000100"));
    CHECK(contains(ns.ip("link show gdoi6"), "mtu 1406"));

    // Teardown leaves nothing of ours.
    CHECK(with([&](GroupDataplane& dp) { return dp.teardown(); }) == "");
    CHECK(ns.ip("-6 xfrm state").empty());
    CHECK(ns.ip("-6 xfrm policy").empty());
    CHECK(contains(ns.ip("link show gdoi6"), "does not exist"));
    CHECK_FALSE(contains(ns.ip("-6 addr show dev lo"), "100::47"));
}

TEST_CASE("the IPIP guard blocks cleartext IPIP spoofed from G_OUT to G_IN", "[esp][dataplane]") {
    ScopedNetns member;
    ScopedNetns attacker;
    REQUIRE(member.ip("link add wan0 type veth peer wan1 netns " + attacker.name()).empty());
    REQUIRE(member.ip("addr add 192.0.2.1/24 dev wan0").empty());
    REQUIRE(member.ip("link set wan0 up").empty());
    REQUIRE(member.ip("addr add 10.1.0.1/32 dev lo").empty());
    REQUIRE(member.ip("route add 10.9.9.0/24 via 192.0.2.2").empty());  // for the control's replies
    REQUIRE(attacker.ip("addr add 192.0.2.2/24 dev wan1").empty());
    REQUIRE(attacker.ip("link set wan1 up").empty());
    // The attacker claims to be G_OUT and tunnels a packet from outside every
    // group policy (10.9.9.9) to a LAN address behind the member.
    REQUIRE(attacker.ip("addr add 169.254.0.2/32 dev lo").empty());
    REQUIRE(attacker.ip("link add spoof0 type ipip local 169.254.0.2 remote 169.254.0.1").empty());
    REQUIRE(attacker.ip("addr add 10.9.9.9/32 dev spoof0").empty());
    REQUIRE(attacker.ip("link set spoof0 up").empty());
    REQUIRE(attacker.ip("route add 169.254.0.1/32 via 192.0.2.1").empty());
    REQUIRE(attacker.ip("route add 10.1.0.0/16 dev spoof0 src 10.9.9.9").empty());

    member.run([&] {
        auto x = Xfrm::open();
        auto r = Rtnl::open();
        GroupDataplane dp(*x, *r, config());
        auto s = dp.install_carrier(kGcm);
        INFO((s.ok() ? std::string() : s.error().message));
        REQUIRE(s);
        return 0;
    });
    const uint64_t before = xfrm_stat(member, "XfrmInPolBlock");
    const std::string guarded =
        netns_test::capture("ip netns exec " + attacker.name() + " ping -c 3 -i 0.2 -W 1 10.1.0.1");
    INFO(guarded);
    CHECK(contains(guarded, " 100% packet loss"));
    CHECK(xfrm_stat(member, "XfrmInPolBlock") >= before + 3);

    // Control: without the guard the carrier decapsulates and the ping is answered.
    member.run([&] {
        auto x = Xfrm::open();
        auto r = Rtnl::open();
        GroupDataplane dp(*x, *r, config());
        auto g = dp.ipip_guard_policy();
        REQUIRE(x->delete_policy({g.selector, g.dir, g.mark}));
        return 0;
    });
    const std::string unguarded =
        netns_test::capture("ip netns exec " + attacker.name() + " ping -c 1 -W 2 10.1.0.1");
    INFO(unguarded);
    CHECK(contains(unguarded, " 0% packet loss"));
}

TEST_CASE("the ip6ip6 guard blocks cleartext ip6ip6 spoofed from G_OUT6 to G_IN6", "[esp][dataplane][ipv6]") {
    ScopedNetns member;
    ScopedNetns attacker;
    REQUIRE(member.ip("link add wan0 type veth peer wan1 netns " + attacker.name()).empty());
    REQUIRE(member.ip("addr add 2001:db8:ffff::1/64 dev wan0 nodad").empty());
    REQUIRE(member.ip("link set wan0 up").empty());
    REQUIRE(member.ip("addr add 2001:db8:1::1/128 dev lo").empty());
    REQUIRE(member.ip("route add 2001:db8:9::/48 via 2001:db8:ffff::2").empty());  // the control's replies
    REQUIRE(attacker.ip("addr add 2001:db8:ffff::2/64 dev wan1 nodad").empty());
    REQUIRE(attacker.ip("link set wan1 up").empty());
    // The attacker claims to be G_OUT6 and tunnels a packet from outside every group policy
    // (2001:db8:9::9) to a LAN address behind the member.
    REQUIRE(attacker.ip("addr add 100::48/128 dev lo").empty());
    REQUIRE(
        attacker.ip("link add spoof0 type ip6tnl mode ip6ip6 local 100::48 remote 100::47 encaplimit none")
            .empty());
    REQUIRE(attacker.ip("addr add 2001:db8:9::9/128 dev spoof0 nodad").empty());
    REQUIRE(attacker.ip("link set spoof0 up").empty());
    REQUIRE(attacker.ip("route add 100::47/128 via 2001:db8:ffff::1").empty());
    REQUIRE(attacker.ip("route add 2001:db8:1::/48 dev spoof0 src 2001:db8:9::9").empty());

    DataplaneConfig c = config();
    c.carrier = {"gdoi6", address("100::47"), address("100::48"), 0, true};
    c.wan_device.clear();  // the attacker is G_OUT6 here
    member.run([&] {
        auto x = Xfrm::open();
        auto r = Rtnl::open();
        GroupDataplane dp(*x, *r, c);
        auto s = dp.install_carrier(kGcm);
        INFO((s.ok() ? std::string() : s.error().message));
        REQUIRE(s);
        return 0;
    });
    // The WAN link is up and the member's WAN address resolved before the spoofed packets go: a
    // veth pair's carrier comes up asynchronously, and on a loaded host the three pings below used
    // to leave before it did (none reached the member).
    bool wan_ready = false;
    for (int i = 0; i < 20 && !wan_ready; ++i)
        wan_ready = contains(
            netns_test::capture("ip netns exec " + attacker.name() + " ping -6 -c 1 -W 1 2001:db8:ffff::1"),
            " 0% packet loss");
    REQUIRE(wan_ready);
    const uint64_t before = xfrm_stat(member, "XfrmInPolBlock");
    const std::string guarded =
        netns_test::capture("ip netns exec " + attacker.name() + " ping -6 -c 3 -i 0.2 -W 1 2001:db8:1::1");
    INFO(guarded);
    CHECK(contains(guarded, " 100% packet loss"));
    CHECK(xfrm_stat(member, "XfrmInPolBlock") >= before + 3);

    // Control: without the guard the carrier decapsulates and the ping is answered.
    member.run([&] {
        auto x = Xfrm::open();
        auto r = Rtnl::open();
        GroupDataplane dp(*x, *r, c);
        auto g = dp.ipip_guard_policy();
        REQUIRE(x->delete_policy({g.selector, g.dir, g.mark}));
        return 0;
    });
    const std::string unguarded =
        netns_test::capture("ip netns exec " + attacker.name() + " ping -6 -c 1 -W 2 2001:db8:1::1");
    INFO(unguarded);
    CHECK(contains(unguarded, " 0% packet loss"));
}

TEST_CASE("a carrier prepared before keys, then a registration in one XFRM and one rtnetlink batch",
          "[esp][dataplane]") {
    ScopedNetns ns;
    wan(ns);
    const std::vector<Prefix> local{prefix("10.1.0.0/16")};
    const std::vector<uint8_t> key(16, 0x22), auth(32, 0x33);
    const Tek tek{0x100, kCbc, key, auth, {3000, 0, 0}, {3600, 0, 0}};

    // Before keys: the device is up with nothing routed into it; the out policy has no SA.
    ns.run([&] {
        auto x = Xfrm::open();
        auto r = Rtnl::open();
        GroupDataplane dp(*x, *r, config());
        auto s = dp.install_carrier(std::nullopt);
        INFO((s.ok() ? std::string() : s.error().message));
        REQUIRE(s);
        return 0;
    });
    CHECK(contains(ns.ip("link show gdoi0"), ",UP"));
    CHECK_FALSE(contains(ns.ip("route"), "dev gdoi0"));
    CHECK(count_of(ns.ip("xfrm policy"), "\tdir ") == 2);  // out (carrier), in (IPIP guard)
    CHECK(ns.ip("xfrm state").empty());

    // The registration: inbound SA, outbound SA, fwd policy, then MTU and route. The first SA of
    // a transform goes alone (crypto modules loading), the rest in the two batches.
    ns.run([&] {
        auto x = Xfrm::open();
        auto r = Rtnl::open();
        GroupDataplane dp(*x, *r, config());
        DataplaneBatch b = dp.batch();
        REQUIRE(dp.stage_inbound_sa(b, tek));
        REQUIRE(dp.stage_activate(b, tek, std::nullopt));
        REQUIRE(dp.stage_remote_prefix(b, prefix("10.2.0.0/16"), local));
        CHECK(b.xfrm.count() == 2);  // outbound SA, fwd policy
        CHECK(b.rtnl.count() == 2);  // carrier MTU, route
        auto s = dp.apply(b);
        INFO((s.ok() ? std::string() : s.error().message));
        REQUIRE(s);
        CHECK(b.empty());
        return 0;
    });
    CHECK(contains(ns.ip("link show gdoi0"), "mtu 1438"));
    CHECK(contains(ns.ip("route"), "10.2.0.0/16 dev gdoi0"));
    CHECK(count_of(ns.ip("xfrm state"), "proto esp spi 0x00000100") == 2);
    CHECK(contains(ns.ip("xfrm policy"), "src 10.2.0.0/16 dst 10.1.0.0/16 \n\tdir fwd priority 1000"));

    // A batch with a failing request: the error names it, and the routes of the batch are not
    // applied (nothing leads into a carrier whose SAs failed).
    auto failed = ns.run([&] {
        auto x = Xfrm::open();
        auto r = Rtnl::open();
        GroupDataplane dp(*x, *r, config());
        DataplaneBatch b = dp.batch();
        REQUIRE(dp.stage_inbound_sa(b, tek));              // exists: tolerated
        REQUIRE(dp.stage_activate(b, tek, std::nullopt));  // exists: fails
        REQUIRE(dp.stage_remote_prefix(b, prefix("10.3.0.0/16"), local));
        auto s = dp.apply(b);
        REQUIRE_FALSE(s);
        return s.error().message;
    });
    CHECK(contains(failed, "spi 0x00000100"));
    CHECK_FALSE(contains(ns.ip("route"), "10.3.0.0/16"));
}
