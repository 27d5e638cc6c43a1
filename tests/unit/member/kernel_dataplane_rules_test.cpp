// The member's nft rule model built by the kernel dataplane (member/src/dataplane_rules.h):
// fail-closed before registration (LAN prefixes as scope), the TEK selectors afterwards, and
// what gdoictl show policy lists. Compiled with policy::compile to check it is a valid table.
#include <catch2/catch.hpp>

#include "daemon/policy_view.h"
#include "dataplane/dataplane_rules.h"
#include "policy/compile.h"

using namespace member;

namespace {

GroupConfig group() {
    GroupConfig g;
    g.name = "G1";
    g.id = 1;
    g.lan_interfaces = {"lan0"};
    policy::ExcludeRule bgp;
    bgp.selector.protocol = 6;
    bgp.selector.destination_port = policy::PortRange::single(179);
    g.exclude.push_back(bgp);
    return g;
}

policy::Selector tek_selector() {
    policy::Selector s;
    s.source = policy::Prefix::parse("10.0.0.0/8").value();
    s.destination = policy::Prefix::parse("10.0.0.0/8").value();
    return s;
}

const CarrierChoice kCarrier{"gdoi0", policy::Ipv4::parse("169.254.0.71").value(),
                             policy::Ipv4::parse("169.254.0.72").value(), std::nullopt, std::nullopt};

}  // namespace

TEST_CASE("dataplane rules: before registration the LAN prefixes are fail-closed", "[dataplane][rules]") {
    const auto lan = std::vector<NetPrefix>{NetPrefix::parse("10.1.0.0/24").value()};
    const auto r = group_rule_set(group(), {}, false, lan);
    CHECK(!r.has_valid_tek);
    REQUIRE(r.policies.size() == 1);
    CHECK(r.policies[0].selector.source == lan[0].to_policy());
    CHECK(!r.policies[0].selector.destination);

    const auto status = policy_status(GroupRules{r, false, {}});
    REQUIRE(status.size() == 2);
    CHECK(status[0] == PolicyStatus{"exclude", status[0].selector, "clear"});
    CHECK(status[1].kind == "fail-closed");
    CHECK(status[1].action == "drop");

    MemberConfig config;
    config.wan_interface = "wan0";
    config.groups = {group()};
    auto table = policy::compile(member_rules(config, kCarrier, 0x00800000, "gdoi_member", {}, {r}));
    REQUIRE(table);
    const auto text = table->to_string();
    CHECK_THAT(text, Catch::Contains("10.1.0.0/24"));
    CHECK_THAT(text, Catch::Contains("drop"));
}

TEST_CASE("dataplane rules: keyed, the TEK selectors encrypt", "[dataplane][rules]") {
    const auto lan = std::vector<NetPrefix>{NetPrefix::parse("10.1.0.0/24").value()};
    const auto r = group_rule_set(group(), {tek_selector(), tek_selector()}, true, lan);
    CHECK(r.has_valid_tek);
    REQUIRE(r.policies.size() == 1);  // duplicates from several TEKs once
    const auto status = policy_status(GroupRules{r, true, {}});
    REQUIRE(status.size() == 3);
    CHECK(status[1].kind == "group");
    CHECK(status[1].action == "encrypt");
    CHECK(status[2].kind == "fail-closed");

    MemberConfig config;
    config.wan_interface = "wan0";
    config.groups = {group()};
    const auto rules = member_rules(config, kCarrier, 0x00800000, "gdoi_member", lan, {r});
    CHECK(rules.lan_ifnames == std::vector<std::string>{"lan0"});
    CHECK(rules.local_scope.size() == 1);
    auto table = policy::compile(rules);
    REQUIRE(table);
    CHECK_THAT(table->to_string(), Catch::Contains("169.254.0.72"));
}

TEST_CASE("dataplane rules: a dual-stack group's IPv6 traffic goes into its IPv6 carrier",
          "[dataplane][rules]") {
    const auto lan = std::vector<NetPrefix>{NetPrefix::parse("10.1.0.0/24").value(),
                                            NetPrefix::parse("2001:db8:1::/64").value()};
    policy::Selector v6;
    v6.source = policy::Prefix::parse("2001:db8::/32").value();
    v6.destination = v6.source;
    auto r = group_rule_set(group(), {tek_selector(), v6}, true, lan);
    r.carrier_ifname = "gdoi0";
    r.carrier6_ifname = "gdoi0v6";
    r.carrier6_peer = common::IpAddress::parse("100::48").value();
    MemberConfig config;
    config.wan_interface = "wan0";
    config.groups = {group()};
    auto carrier = kCarrier;
    carrier.g_in6 = common::IpAddress::parse("100::47").value();
    carrier.g_out6 = common::IpAddress::parse("100::48").value();
    const auto rules = member_rules(config, carrier, 0x00800000, "gdoi_member", lan, {r});
    REQUIRE(rules.carrier.ipv6);
    CHECK(rules.carrier.ipv6->g_in.to_string() == "100::47");
    // Every group's G_OUT6_k = G_OUT6 + k (kernel_dataplane.h) is a carrier peer.
    REQUIRE(rules.carrier.ipv6->peers);
    CHECK(rules.carrier.ipv6->peers->to_string() == "100::/120");
    auto table = policy::compile(rules);
    REQUIRE(table);
    const auto text = table->to_string();
    CHECK_THAT(text, Catch::Contains("into carrier gdoi0v6"));
    CHECK_THAT(text, Catch::Contains("into carrier gdoi0\""));
    CHECK_THAT(text, Catch::Contains("ESP for own scope 2001:db8:1::/64"));

    // Before the group's first IPv6 TEK the member has no IPv6 carrier: no IPv6 traffic into one.
    r.carrier6_ifname.clear();
    r.carrier6_peer.reset();
    const auto v4only = member_rules(config, kCarrier, 0x00800000, "gdoi_member", lan, {r});
    CHECK(!v4only.carrier.ipv6);
    auto table4 = policy::compile(v4only);
    REQUIRE(table4);
    CHECK_THAT(table4->to_string(), !Catch::Contains("gdoi0v6"));
}
