// rtnetlink operations (carrier device, address, routes, rules) in a netns.
#include "xfrm/rtnl.h"

#include <array>
#include <catch2/catch.hpp>
#include <optional>
#include <string>

#include "netns_fixture.h"

using namespace xfrm;
using netns_test::ScopedNetns;

namespace {
Prefix prefix(const char* text) { return *Prefix::parse(text); }
Address address(const char* text) { return *Address::parse(text); }
bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}
bool kernel_has_ipip(const ScopedNetns& ns) {
    std::string out = ns.ip("link add gdoi-probe type ipip local 169.254.9.1 remote 169.254.9.2");
    ns.ip("link del gdoi-probe");
    return out.empty();
}
bool kernel_has_ip6tnl(const ScopedNetns& ns) {
    std::string out = ns.ip("link add gdoi-probe type ip6tnl mode ip6ip6 local 100::9:1 remote 100::9:2");
    ns.ip("link del gdoi-probe");
    return out.empty();
}
}  // namespace

TEST_CASE("the IPIP carrier is created with ttl/tos inherit, or the missing module is named",
          "[netns][rtnl]") {
    ScopedNetns ns;
    const bool has_ipip = kernel_has_ipip(ns);
    CarrierSpec carrier{"gdoi0", address("169.254.0.1"), address("169.254.0.2"), 1446, true};
    auto created = ns.run([&] {
        auto r = Rtnl::open();
        REQUIRE(r);
        return r->create_ipip(carrier);
    });
    if (!has_ipip) {
        REQUIRE_FALSE(created);
        CHECK(created.error().message ==
              "create IPIP carrier gdoi0 local 169.254.0.1 remote 169.254.0.2: kernel has no IPIP tunnel "
              "support: load ipip (modprobe ipip) (kernel: Unknown device type)");
        return;
    }
    INFO((created.ok() ? std::string() : created.error().message));
    REQUIRE(created);
    const std::string shown = ns.ip("-d link show gdoi0");
    CHECK(contains(shown, "mtu 1446"));
    CHECK(contains(shown, "ipip remote 169.254.0.2 local 169.254.0.1 ttl inherit tos inherit"));
    auto state = ns.run([] {
        auto r = Rtnl::open();
        REQUIRE(r->set_link_up("gdoi0", true));
        auto again = r->create_ipip({"gdoi0", address("169.254.0.1"), address("169.254.0.3"), 0, true});
        CHECK_FALSE(again);
        CHECK(contains(again.error().message, "already exists"));
        auto link = r->find_link("gdoi0");
        REQUIRE(link);
        REQUIRE(link->has_value());
        return **link;
    });
    CHECK(state.kind == "ipip");
    CHECK(state.mtu == 1446);
    CHECK(state.up);
    ns.run([] { return Rtnl::open()->delete_link("gdoi0").ok(); });
    CHECK(contains(ns.ip("link show gdoi0"), "does not exist"));
}

TEST_CASE(
    "the ip6tnl carrier: ip6ip6, encaplimit none, hoplimit 64, inherit, addrgenmode none, or the "
    "missing module is named",
    "[netns][rtnl][ipv6]") {
    ScopedNetns ns;
    // G_IN6 first (tests/vm/ipv6-layout.sh): ip6tnl takes its xmit/rcv capability from the local
    // address at creation.
    REQUIRE(ns.ip("link set lo up").empty());
    REQUIRE(ns.ip("addr add 100::47/128 dev lo").empty());
    const bool has_ip6tnl = kernel_has_ip6tnl(ns);
    CarrierSpec carrier{"gdoi0", address("100::47"), address("100::48"), 1406, true};
    auto created = ns.run([&] {
        auto r = Rtnl::open();
        REQUIRE(r);
        return r->create_ip6tnl(carrier);
    });
    if (!has_ip6tnl) {  // this kernel: the operator is told which module to load
        REQUIRE_FALSE(created);
        // (the addrgenmode request of the same batch fails with it: no such device)
        CHECK_THAT(
            created.error().message,
            Catch::StartsWith("create ip6tnl carrier gdoi0 local 100::47 remote 100::48: kernel has no "
                              "ip6tnl tunnel support: load ip6_tunnel (modprobe ip6_tunnel) (kernel: "
                              "Unknown device type)"));
        return;
    }
    INFO((created.ok() ? std::string() : created.error().message));
    REQUIRE(created);
    const std::string shown = ns.ip("-d link show gdoi0");
    INFO(shown);
    CHECK(contains(shown, "mtu 1406"));
    CHECK(contains(shown, "ip6tnl ip6ip6 remote 100::48 local 100::47"));
    CHECK(contains(shown, "encaplimit none"));
    CHECK(contains(shown, "hoplimit 64"));
    CHECK(contains(shown, "tclass inherit"));
    CHECK(contains(shown, "flowlabel inherit"));
    CHECK(contains(shown, "addrgenmode none"));
    auto state = ns.run([] {
        auto r = Rtnl::open();
        REQUIRE(r->set_link_up("gdoi0", true));
        auto link = r->find_link("gdoi0");
        REQUIRE(link);
        REQUIRE(link->has_value());
        return **link;
    });
    CHECK(state.kind == "ip6tnl");
    CHECK(state.up);
    // Up without a link-local address: the carrier sends no ND/MLD of its own.
    CHECK_FALSE(contains(ns.ip("-6 addr show dev gdoi0"), "inet6"));
    ns.run([] { return Rtnl::open()->delete_link("gdoi0").ok(); });
    CHECK(contains(ns.ip("link show gdoi0"), "does not exist"));
}

TEST_CASE("device state, pseudo address, routes into a table and fwmark rules", "[netns][rtnl]") {
    ScopedNetns ns;
    REQUIRE(ns.ip("link add wan0 type veth peer wan1").empty());
    REQUIRE(ns.ip("addr add 192.0.2.1/24 dev wan0").empty());

    auto errors = ns.run([] {
        auto r = Rtnl::open();
        REQUIRE(r);
        REQUIRE(r->set_link_up("wan0", true));
        REQUIRE(r->set_link_up("wan1", true));
        REQUIRE(r->set_mtu("wan0", 1400));
        REQUIRE(r->add_address("lo", prefix("169.254.0.1/32")));
        RtnlBatch b;
        REQUIRE(b.add_route({prefix("169.254.0.2/32"), "wan0", address("192.0.2.254"), kMainTable, 0}));
        REQUIRE(b.add_route({prefix("10.2.0.0/16"), "wan0", std::nullopt, 100, 0}));
        REQUIRE(b.add_route({prefix("10.3.0.0/16"), "wan0", std::nullopt, 1000, 5}));
        b.add_rule({Family::ipv4, 0x10, 0xff, 100, 1000});
        auto applied = r->apply(b);
        INFO((applied.ok() ? std::string() : applied.error().message));
        REQUIRE(applied);
        auto link = r->find_link("wan0");
        REQUIRE(link);
        REQUIRE(link->has_value());
        CHECK((*link)->mtu == 1400);
        CHECK((*link)->up);
        CHECK((*link)->kind == "veth");
        auto missing = r->find_link("nothere0");
        REQUIRE(missing);
        CHECK_FALSE(missing->has_value());
        // Errors an operator reads:
        return std::vector<std::string>{
            r->add_route({prefix("10.4.0.0/16"), "nothere0", std::nullopt, 100, 0}).error().message,
            r->add_address("lo", prefix("169.254.0.1/32")).error().message,
            r->add_route({prefix("10.2.0.0/16"), "wan0", std::nullopt, 100, 0}).error().message,
        };
    });
    CHECK(errors[0] == "add route 10.4.0.0/16 dev nothere0 table 100: no network device named 'nothere0'");
    CHECK(contains(errors[1], "add address 169.254.0.1/32 on lo: the address is already assigned"));
    CHECK(contains(errors[2], "add route 10.2.0.0/16 dev wan0 table 100: already exists"));

    CHECK(contains(ns.ip("addr show dev lo"), "inet 169.254.0.1/32"));
    CHECK(contains(ns.ip("link show wan0"), "mtu 1400"));
    CHECK(contains(ns.ip("route show"), "169.254.0.2 via 192.0.2.254 dev wan0 proto 199"));
    CHECK(contains(ns.ip("route show table 100"), "10.2.0.0/16 dev wan0 proto 199 scope link"));
    CHECK(contains(ns.ip("route show table 1000"), "10.3.0.0/16 dev wan0 proto 199 scope link metric 5"));
    CHECK(contains(ns.ip("rule show"), "1000:\tfrom all fwmark 0x10/0xff lookup 100 proto 199"));

    auto removed = ns.run([] {
        auto r = Rtnl::open();
        RtnlBatch b;
        REQUIRE(b.delete_route({prefix("10.2.0.0/16"), "wan0", std::nullopt, 100, 0}));
        REQUIRE(b.delete_route({prefix("10.3.0.0/16"), "wan0", std::nullopt, 1000, 5}));
        REQUIRE(b.delete_route({prefix("169.254.0.2/32"), "wan0", address("192.0.2.254"), kMainTable, 0}));
        b.delete_rule({Family::ipv4, 0x10, 0xff, 100, 1000});
        REQUIRE(b.delete_address("lo", prefix("169.254.0.1/32")));
        b.set_link("wan0", false, std::nullopt);
        return r->apply(b).ok();
    });
    CHECK(removed);
    CHECK_FALSE(contains(ns.ip("addr show dev lo"), "169.254.0.1"));
    CHECK(ns.ip("route show table 100").empty());
    CHECK_FALSE(contains(ns.ip("rule show"), "fwmark"));
    CHECK_FALSE(contains(ns.ip("route show"), "169.254.0.2"));
    CHECK_FALSE(contains(ns.ip("link show wan0"), "state UP"));
    CHECK_FALSE(contains(ns.ip("link show wan0"), ",UP"));
}

TEST_CASE("the WAN's default gateway is read from the main table by RTM_GETROUTE", "[netns][rtnl]") {
    ScopedNetns ns;
    REQUIRE(ns.ip("link add wan0 type veth peer wan1").empty());
    REQUIRE(ns.ip("link set wan0 up").empty());
    REQUIRE(ns.ip("link set wan1 up").empty());
    REQUIRE(ns.ip("addr add 192.0.2.10/24 dev wan0").empty());
    REQUIRE(ns.ip("addr add 198.51.100.10/24 dev wan1").empty());
    using Gateways = std::array<std::optional<Address>, 3>;
    const auto query = [&] {
        return ns.run([] {
            auto r = Rtnl::open();
            REQUIRE(r);
            Gateways out;
            for (std::size_t i = 0; const char* device : {"wan0", "wan1", "nothere0"}) {
                auto gw = r->default_gateway(device);
                REQUIRE(gw);
                out[i++] = *gw;
            }
            return out;
        });
    };
    auto none = query();
    CHECK(!none[0]);
    CHECK(!none[1]);
    CHECK(!none[2]);

    REQUIRE(ns.ip("route add default via 192.0.2.2 dev wan0 metric 500").empty());
    REQUIRE(ns.ip("route add default via 192.0.2.1 dev wan0").empty());  // metric 0: preferred
    REQUIRE(ns.ip("route add default via 198.51.100.1 dev wan1 metric 50").empty());
    REQUIRE(ns.ip("route add default via 192.0.2.99 dev wan0 table 100").empty());  // not main
    auto both = query();
    REQUIRE(both[0]);
    CHECK(both[0]->to_string() == "192.0.2.1");
    REQUIRE(both[1]);
    CHECK(both[1]->to_string() == "198.51.100.1");
    CHECK(!both[2]);

    // IPv6 (the IPv6 carriers' next hop): its own default routes, often via a link-local router;
    // the IPv4 answer does not change, and an IPv4 default route is no IPv6 gateway.
    const auto query6 = [&](const char* device) {
        return ns.run([device] {
            auto r = Rtnl::open();
            REQUIRE(r);
            auto gw = r->default_gateway(device, Family::ipv6);
            REQUIRE(gw);
            return *gw;
        });
    };
    CHECK(!query6("wan0"));
    REQUIRE(ns.ip("-6 route add default via fe80::2 dev wan0 metric 500").empty());
    REQUIRE(ns.ip("-6 route add default via fe80::1 dev wan0 metric 100").empty());
    REQUIRE(ns.ip("-6 route add 2001:db8::/32 via fe80::9 dev wan1").empty());  // not a default route
    const auto v6 = query6("wan0");
    REQUIRE(v6);
    CHECK(v6->to_string() == "fe80::1");
    CHECK(!query6("wan1"));
    auto again = query();
    REQUIRE(again[0]);
    CHECK(again[0]->to_string() == "192.0.2.1");
}
