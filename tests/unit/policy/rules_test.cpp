// Validation of the member's rule model.
#include "policy/rules.h"

#include <catch2/catch.hpp>

#include "test_rules.h"

using namespace policy;
using policy::test::member;

TEST_CASE("a typical member validates") { CHECK(validate(member(false)).ok()); }

TEST_CASE("at most 10 exclude and 10 fail-open rules per group") {
    auto r = member(false);
    r.groups[0].exclude.assign(11, ExcludeRule{test::tcp_dport(179)});
    auto st = validate(r);
    REQUIRE_FALSE(st.ok());
    CHECK_THAT(st.error().message,
               Catch::Contains("GROUP_ID-0001") && Catch::Contains("11 exclude rules, at most 10"));

    r = member(false);
    r.groups[0].fail_open.assign(11, FailOpenRule{test::sel("10.0.0.0/8", nullptr)});
    CHECK_THAT(validate(r).error().message, Catch::Contains("11 fail-open rules, at most 10"));

    r = member(false);
    r.groups[0].exclude.assign(10, ExcludeRule{test::tcp_dport(179)});
    CHECK(validate(r).ok());
}

TEST_CASE("rule errors name the group and the rule") {
    auto r = member(false);
    Selector bad;
    bad.destination_port = PortRange::single(53);
    r.groups[0].exclude.push_back({bad});
    CHECK_THAT(validate(r).error().message,
               Catch::Contains("group GROUP_ID-0001 (id 1): exclude rule 2: ports need protocol"));
}

TEST_CASE("member-level mistakes") {
    auto r = member(false);
    r.lan_ifnames = {"wan0"};
    CHECK_THAT(validate(r).error().message, Catch::Contains("both the WAN and a LAN interface"));
    r = member(false);
    r.lan_ifnames.clear();
    CHECK_THAT(validate(r).error().message, Catch::Contains("no LAN interface"));
    r = member(false);
    r.wan_ifname = "a-very-long-interface-name";
    CHECK_THAT(validate(r).error().message, Catch::Contains("not a valid interface name"));
    r = member(false);
    r.clear_mark = 0;
    CHECK_THAT(validate(r).error().message, Catch::Contains("fwmark must be non-zero"));
    r = member(false);
    r.groups.push_back(r.groups[0]);
    CHECK_THAT(validate(r).error().message, Catch::Contains("group id 1 appears twice"));
    r = member(false);
    r.carrier.g_out = r.carrier.g_in;
    CHECK_THAT(validate(r).error().message, Catch::Contains("G_IN and G_OUT must differ"));
    // An IPv6 local scope is valid (issue 14): its ESP is readdressed only with an IPv6 carrier
    // (compile_ipv6_carrier_test.cpp); an IPv6 carrier needs IPv6 pseudo addresses.
    r = member(false);
    r.local_scope.push_back(*Prefix::parse("2001:db8::/32"));
    CHECK(validate(r));
    r.carrier.ipv6 =
        Carrier6{*common::IpAddress::parse("192.0.0.7"), *common::IpAddress::parse("100::48"), {}};
    CHECK_THAT(validate(r).error().message, Catch::Contains("must be IPv6"));
}

TEST_CASE("the fail-closed scope is every group policy") {
    const auto r = member(true);
    REQUIRE(r.groups[0].fail_closed_scope().size() == 1);
    CHECK(r.groups[0].fail_closed_scope()[0] == r.groups[0].policies[0].selector);
    CHECK(r.find_group(1) == &r.groups[0]);
    CHECK(r.find_group(2) == nullptr);
}
