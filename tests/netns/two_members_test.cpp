// Two members built with GroupDataplane only, h1 - gm1 =WAN= gm2 - h2, with the
// address-rewriting nft rules of ARCHITECTURE.md written here by hand (policy/ owns the
// real ones; note `ip protocol 4`: nft resolves the name "ipip" through
// /etc/protocols to 94, not 4 — IPv4-in-IPv4 is "ipencap" there). Proves the layout xfrm/ installs carries traffic both ways with
// outer = inner addresses, and that the make-before-break steps lose nothing.
// Needs ESP and IPIP: [esp], runs in the test VM.
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "netns_fixture.h"
#include "xfrm/dataplane.h"

using namespace xfrm;
using netns_test::ScopedNetns;

namespace {

Prefix prefix(const char* text) { return *Prefix::parse(text); }
Address address(const char* text) { return *Address::parse(text); }
bool contains(const std::string& h, const std::string& n) { return h.find(n) != std::string::npos; }

std::string exec(const ScopedNetns& ns, const std::string& command) {
    return netns_test::capture("ip netns exec " + ns.name() + " " + command);
}

void must(const std::string& out) {
    INFO(out);
    REQUIRE(out.empty());
}

DataplaneConfig member_config(const char* wan_peer) {
    DataplaneConfig c;
    c.carrier = {"gdoi0", address("169.254.0.1"), address("169.254.0.2"), 0, true};
    c.wan_device = "wan0";
    c.wan_gateway = address(wan_peer);
    return c;
}

// outbound, copy the inner addresses into the carrier's outer header
// before ESP is added (@nh offsets are bits from the outer IPv4 header: the inner
// header starts at byte 20, its saddr at byte 32 = bit 256, daddr at bit 288);
// inbound, steer group ESP to the single SA (G_OUT -> G_IN) before routing.
std::string nft_rules(const char* own_scope) {
    return std::string("table ip xfrmtest {\n"
                       " chain post { type filter hook postrouting priority 0;\n"
                       "  ip protocol 4 ip saddr 169.254.0.1 ip daddr 169.254.0.2 "
                       "ip saddr set @nh,256,32 ip daddr set @nh,288,32\n"
                       " }\n"
                       " chain pre { type filter hook prerouting priority -300;\n"
                       "  ip protocol esp ip daddr ") +
           own_scope +
           " ip saddr set 169.254.0.2 ip daddr set 169.254.0.1\n"
           " }\n"
           "}\n";
}

// Named nft counters at the WAN ingress (netdev hook: before prerouting).
// Tunnel-mode XFRM re-injects the decrypted inner packet on the same device, so
// it passes this hook again, then with a secpath: "clear" counts only packets
// without one, i.e. cleartext from the wire.
std::string wire_counters(const char* from, const char* to) {
    return std::string("table netdev wire {\n"
                       " counter esp_spi1 {}\n counter esp_spi2 {}\n counter clear {}\n"
                       " chain in { type filter hook ingress device \"wan0\" priority 0;\n"
                       "  ip saddr ") + from + " ip daddr " + to + " esp spi 0x1001 counter name esp_spi1\n"
                       "  ip saddr " + from + " ip daddr " + to + " esp spi 0x1002 counter name esp_spi2\n"
                       "  ip protocol { icmp, 4 } meta secpath missing counter name clear\n"
                       " }\n"
                       "}\n";
}

uint64_t counter(const ScopedNetns& ns, const char* name) {
    const std::string out = exec(ns, std::string("nft list counter netdev wire ") + name);
    const auto pos = out.find("packets ");
    return pos == std::string::npos ? ~uint64_t{0} : std::stoull(out.substr(pos + 8));
}

struct Member {
    const ScopedNetns& ns;
    DataplaneConfig config;
    template <typename F>
    void with(F&& f) const {
        ns.run([&] {
            auto x = Xfrm::open();
            auto r = Rtnl::open();
            REQUIRE(x);
            REQUIRE(r);
            GroupDataplane dp(*x, *r, config);
            f(dp);
            return 0;
        });
    }
};

// What to look at when traffic does not pass.
std::string diagnose(const ScopedNetns& ns) {
    return "--- " + ns.name() + "\n" + exec(ns, "cat /proc/sys/net/ipv4/ip_forward") + ns.ip("-s xfrm state") +
           ns.ip("xfrm policy") + ns.ip("route") + ns.ip("-s link") +
           exec(ns, "sh -c 'grep -v \" 0$\" /proc/net/xfrm_stat'") + exec(ns, "nft list ruleset");
}

void check(const common::Status& s) {
    INFO((s.ok() ? std::string() : s.error().message));
    REQUIRE(s);
}

}  // namespace

TEST_CASE("two members: ESP both ways with inner addresses outside, lossless rekey", "[esp][traffic]") {
    ScopedNetns h1, gm1, gm2, h2;
    must(gm1.ip("link add lan0 type veth peer eth0 netns " + h1.name()));
    must(gm2.ip("link add lan0 type veth peer eth0 netns " + h2.name()));
    must(gm1.ip("link add wan0 type veth peer wan0 netns " + gm2.name()));
    must(h1.ip("addr add 10.1.0.10/24 dev eth0"));
    must(h1.ip("link set eth0 up"));
    must(h1.ip("route add default via 10.1.0.1"));
    must(h2.ip("addr add 10.2.0.10/24 dev eth0"));
    must(h2.ip("link set eth0 up"));
    must(h2.ip("route add default via 10.2.0.1"));
    must(gm1.ip("addr add 10.1.0.1/24 dev lan0"));
    must(gm1.ip("addr add 192.0.2.1/24 dev wan0"));
    must(gm2.ip("addr add 10.2.0.1/24 dev lan0"));
    must(gm2.ip("addr add 192.0.2.2/24 dev wan0"));
    for (const ScopedNetns* gm : {&gm1, &gm2}) {
        must(gm->ip("link set lan0 up"));
        must(gm->ip("link set wan0 up"));
        exec(*gm, "sh -c 'echo 1 > /proc/sys/net/ipv4/ip_forward'");
    }
    must(netns_test::capture("echo '" + nft_rules("10.1.0.0/16") + "' | ip netns exec " + gm1.name() + " nft -f -"));
    must(netns_test::capture("echo '" + nft_rules("10.2.0.0/16") + "' | ip netns exec " + gm2.name() + " nft -f -"));

    const Member m1{gm1, member_config("192.0.2.2")};
    const Member m2{gm2, member_config("192.0.2.1")};
    const EspTransform gcm{EspTransformId::esp_aes_gcm_16, 128, AuthAlgorithmId::none};
    const std::vector<uint8_t> key1(20, 0x5a), key2(20, 0xa5);
    const Tek tek1{0x1001, gcm, key1, {}, {}, {}};
    const Tek tek2{0x1002, gcm, key2, {}, {}, {}};
    const std::vector<Prefix> scope1{prefix("10.1.0.0/16")}, scope2{prefix("10.2.0.0/16")};

    m1.with([&](GroupDataplane& dp) {
        check(dp.install_carrier(gcm));
        check(dp.install_remote_prefix(prefix("10.2.0.0/16"), scope1));
        check(dp.install_inbound_sa(tek1));
        check(dp.install_outbound_sa(tek1));
    });
    m2.with([&](GroupDataplane& dp) {
        check(dp.install_carrier(gcm));
        check(dp.install_remote_prefix(prefix("10.1.0.0/16"), scope2));
        check(dp.install_inbound_sa(tek1));
        check(dp.install_outbound_sa(tek1));
    });

    // Watch the WAN at each member's ingress (before any rewrite) with nft
    // counters: group traffic must arrive as ESP with the inner addresses outside.
    must(netns_test::capture("echo '" + wire_counters("10.1.0.10", "10.2.0.10") + "' | ip netns exec " +
                             gm2.name() + " nft -f -"));
    must(netns_test::capture("echo '" + wire_counters("10.2.0.10", "10.1.0.10") + "' | ip netns exec " +
                             gm1.name() + " nft -f -"));
    const std::string ping = exec(h1, "ping -c 4 -i 0.2 -W 2 -p 6764646f696d61726b6572 10.2.0.10");
    INFO(ping);
    INFO(diagnose(gm1) + diagnose(gm2));
    CHECK(contains(ping, " 0% packet loss"));
    CHECK(counter(gm2, "esp_spi1") >= 4);  // h1 -> h2: outer 10.1.0.10 > 10.2.0.10, SPI 0x1001
    CHECK(counter(gm1, "esp_spi1") >= 4);  // replies
    CHECK(counter(gm2, "clear") == 0);     // no ICMP, no IPIP in clear on the WAN
    CHECK(counter(gm1, "clear") == 0);

    // Make-before-break while h1 pings h2 every 10 ms.
    auto flood = std::async(std::launch::async, [&] { return exec(h1, "ping -c 500 -i 0.01 -W 1 10.2.0.10"); });
    std::this_thread::sleep_for(std::chrono::milliseconds(800));
    m1.with([&](GroupDataplane& dp) { check(dp.install_inbound_sa(tek2)); });
    m2.with([&](GroupDataplane& dp) { check(dp.install_inbound_sa(tek2)); });
    std::this_thread::sleep_for(std::chrono::milliseconds(800));  // activation delay
    m1.with([&](GroupDataplane& dp) { check(dp.activate(tek2, tek1.spi)); });
    m2.with([&](GroupDataplane& dp) { check(dp.activate(tek2, tek1.spi)); });
    std::this_thread::sleep_for(std::chrono::milliseconds(800));  // deactivation delay
    m1.with([&](GroupDataplane& dp) { check(dp.remove_inbound_sa(tek1.spi)); });
    m2.with([&](GroupDataplane& dp) { check(dp.remove_inbound_sa(tek1.spi)); });
    const std::string flooded = flood.get();
    INFO(flooded);
    CHECK(contains(flooded, "500 packets transmitted, 500 received, 0% packet loss"));
    CHECK(counter(gm2, "esp_spi2") > 0);  // the switch happened during the flood
    CHECK(counter(gm2, "clear") == 0);

    // O(1) kernel objects: 2 SAs, 3 policies per member, whatever the traffic.
    CHECK(gm1.ip("xfrm state").find("spi 0x00001001") == std::string::npos);
    const std::string states = gm1.ip("xfrm state");
    std::size_t count = 0;
    for (auto p = states.find("proto esp"); p != std::string::npos; p = states.find("proto esp", p + 1)) ++count;
    CHECK(count == 2);
}
