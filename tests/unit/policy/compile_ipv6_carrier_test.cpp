// The IPv6 carrier's rules (ip6tnl mode ip6ip6, tests/vm/ipv6-layout.sh): the IPv4 carrier's
// layout with IPv6 pseudo addresses, protocol 41 and the 40-octet header's offsets; none of it
// without carrier.ipv6, and the IPv4 rules unchanged beside it.
#include <algorithm>
#include <catch2/catch.hpp>

#include "policy/compile.h"
#include "test_rules.h"

using namespace policy;
using policy::test::member;
using policy::test::sel;

namespace {

std::vector<std::string> texts(const TableSpec& t, const char* name) {
    const auto* c = t.find_chain(name);
    REQUIRE(c != nullptr);
    std::vector<std::string> out;
    for (const auto& r : c->rules) out.push_back(r.to_string());
    return out;
}

bool has(const std::vector<std::string>& rules, const std::string& prefix) {
    return std::any_of(rules.begin(), rules.end(),
                       [&](const std::string& x) { return x.rfind(prefix, 0) == 0; });
}

// A dual-stack member: the IPv4 group of test_rules.h plus an IPv6 policy, an IPv6 LAN prefix
// and the group's IPv6 carrier gdoi6 to peer 100::48.
MemberRules dual_stack(bool tek) {
    auto m = member(tek);
    m.carrier.ipv6 = Carrier6{*common::IpAddress::parse("100::47"), *common::IpAddress::parse("100::48"),
                              *Prefix::parse("100::/64")};
    m.local_scope.push_back(*Prefix::parse("2001:db8:1::/48"));
    m.groups[0].policies.push_back({sel("2001:db8:1::/48", "2001:db8:2::/48")});
    m.groups[0].carrier_ifname = "gdoi1";
    m.groups[0].carrier_peer = *Ipv4::parse("192.0.0.2");
    m.groups[0].carrier6_ifname = "gdoi6";
    m.groups[0].carrier6_peer = *common::IpAddress::parse("100::48");
    return m;
}

}  // namespace

TEST_CASE("IPv6 carrier: ESP for the IPv6 own scope is readdressed to G_OUT6 -> G_IN6, untracked") {
    const auto t = *compile(dual_stack(true));
    const auto esp = texts(t, kChainEspInbound);
    REQUIRE(esp.size() == 2);
    CHECK_THAT(esp[1],
               Catch::StartsWith("iifname \"wan0\" meta nfproto ipv6 meta l4proto esp ip6 daddr "
                                 "2001:db8:1::/48 ip6 saddr set 100::48 ip6 daddr set 100::47 notrack "
                                 "counter comment \"ESP for own scope 2001:db8:1::/48: readdress to "
                                 "G_OUT6 -> G_IN6"));
    const auto notrack = texts(t, kChainNotrackOutput);
    CHECK(has(notrack,
              "meta nfproto ipv6 ip6 saddr 100::47 meta l4proto ipv6 notrack counter comment \"carrier "
              "ip6ip6: no conntrack, no NAT\""));
    CHECK(has(notrack, "meta nfproto ipv6 meta l4proto esp ip6 saddr 2001:db8:1::/48 notrack"));
    // The IPv4 rules are those of a member without an IPv6 carrier.
    const auto v4 = *compile(member(true));
    CHECK(esp[0] == texts(v4, kChainEspInbound)[0]);
}

TEST_CASE("IPv6 carrier: postrouting copies the inner IPv6 addresses (40-octet outer header) and guards") {
    const auto t = *compile(dual_stack(true));
    const auto p = texts(t, kChainPostrouting);
    CHECK(has(p, "oifname \"gdoi6\" counter accept comment \"health: into carrier gdoi6\""));
    CHECK(has(p,
              "meta nfproto ipv6 ip6 saddr 100::47 meta l4proto ipv6 rt ipsec exists ip6 saddr set "
              "@nh,384,128 ip6 daddr set @nh,512,128 counter accept"));
    const RuleSet g = dual_stack(true).groups[0];
    CHECK(has(
        p, "meta nfproto ipv6 ip6 saddr 100::47 meta l4proto ipv6 ip6 daddr 100::48 counter drop comment \"" +
               carrier_guard_comment(g, Family::ipv6) + "\""));
    CHECK(has(p,
              "meta nfproto ipv6 ip6 saddr 100::47 meta l4proto ipv6 counter drop comment \"IPv6 carrier "
              "without SA: never leaves in clear\""));
    CHECK(has(p, "meta nfproto ipv6 meta l4proto ipv6 rt ipsec exists counter accept"));
    CHECK(has(p,
              "meta nfproto ipv6 meta l4proto ipv6 ip6 daddr 100::48 counter drop comment \"ip6ip6 to the "
              "carrier peer of GROUP_ID-0001"));
    CHECK(has(p, "meta nfproto ipv6 meta l4proto ipv6 ip6 daddr 100::/64 counter drop"));
    // The per-group guards' comments differ by family (the health check counts each).
    CHECK(carrier_guard_comment(g, Family::ipv6) != carrier_guard_comment(g));
    CHECK(peer_guard_comment(g, Family::ipv6) != peer_guard_comment(g));
    // Before NAT the IPv6 carrier with an SA is accepted too.
    CHECK(has(texts(t, kChainPostroutingEarly),
              "meta nfproto ipv6 ip6 saddr 100::47 meta l4proto ipv6 rt ipsec exists counter accept"));
    // No DF bit in IPv6: df-bit clear only concerns the IPIP carrier.
    auto df = dual_stack(true);
    df.groups[0].clear_df = true;
    const auto pd = texts(*compile(df), kChainPostrouting);
    CHECK(std::count_if(pd.begin(), pd.end(),
                        [](const std::string& x) { return x.find("frag-off") != std::string::npos; }) == 1);
    CHECK_FALSE(has(pd, "meta nfproto ipv6 ip6 saddr 100::47 meta l4proto ipv6 ip6 daddr 100::48 rt ipsec"));
}

TEST_CASE("IPv6 carrier: each family's policies only into its own carrier, the rest fail-closed") {
    const auto t = *compile(dual_stack(true));
    const auto o = texts(t, kChainOutbound);
    CHECK(has(o,
              "oifname \"gdoi6\" tcp flags & (syn | rst) == syn tcp option maxseg size set rt mtu counter "
              "comment \"GROUP_ID-0001: TCP MSS of SYNs into carrier gdoi6 := its MTU - 60\""));
    CHECK(has(
        o,
        "oifname \"gdoi6\" meta nfproto ipv6 ip6 saddr . ip6 daddr . meta l4proto @scope6_1 counter accept"));
    CHECK(has(
        o,
        "oifname \"gdoi1\" meta nfproto ipv4 ip saddr . ip daddr . meta l4proto @scope4_1 counter accept"));
    CHECK_FALSE(has(o, "oifname \"gdoi1\" meta nfproto ipv6"));
    CHECK_FALSE(has(o, "oifname \"gdoi6\" meta nfproto ipv4"));
    CHECK(has(o, "meta nfproto ipv6 ip6 saddr . ip6 daddr . meta l4proto @scope6_1 counter drop"));

    // A group without an IPv6 carrier: its IPv6 traffic is never accepted into any carrier.
    auto none = dual_stack(true);
    none.groups[0].carrier6_ifname.clear();
    none.groups[0].carrier6_peer.reset();
    const auto on = texts(*compile(none), kChainOutbound);
    CHECK_FALSE(has(on, "oifname \"gdoi1\" meta nfproto ipv6"));
    CHECK_FALSE(has(on, "oifname \"gdoi6\""));
    CHECK(has(on, "meta nfproto ipv6 ip6 saddr . ip6 daddr . meta l4proto @scope6_1 counter drop"));
}

TEST_CASE("IPv6 carrier: cleartext ip6ip6 to G_IN6 from the WAN is dropped (carrier bypass)") {
    const auto t = *compile(dual_stack(false));
    const auto in = texts(t, kChainInput);
    CHECK(has(in,
              "iifname \"wan0\" meta nfproto ipv6 ip6 daddr 100::47 meta l4proto ipv6 meta ipsec missing "
              "counter drop comment \"cleartext ip6ip6 to G_IN6 (carrier bypass)\""));
    CHECK(
        has(texts(t, kChainInbound), "meta nfproto ipv6 meta l4proto esp ip6 daddr 100::47 counter accept"));
    CHECK(has(texts(t, kChainLocalClassify),
              "meta nfproto ipv6 ip6 saddr 100::47 meta l4proto ipv6 counter return comment \"the carrier's "
              "ip6ip6\""));
}

TEST_CASE("without an IPv6 carrier no IPv6 carrier rule exists and the IPv6 scope is not readdressed") {
    auto m = member(true);
    m.local_scope.push_back(*Prefix::parse("2001:db8:1::/48"));
    const auto t = *compile(m);
    CHECK(texts(t, kChainEspInbound).size() == 1);
    CHECK(t.to_string().find("100::") == std::string::npos);
    CHECK(t.to_string().find("meta l4proto ipv6 ") == std::string::npos);
}

TEST_CASE("the IPv6 carrier is validated") {
    auto m = dual_stack(true);
    m.carrier.ipv6->g_out = m.carrier.ipv6->g_in;
    CHECK_THAT(compile(m).error().message, Catch::Contains("G_IN6 and G_OUT6 must differ"));
    m = dual_stack(true);
    m.carrier.ipv6->g_in = *common::IpAddress::parse("192.0.0.9");
    CHECK_THAT(compile(m).error().message, Catch::Contains("must be IPv6"));
    m = dual_stack(true);
    m.carrier.ipv6.reset();
    CHECK_THAT(compile(m).error().message, Catch::Contains("without an IPv6 carrier"));
}
