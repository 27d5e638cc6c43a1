// Selector and prefix conversions of the kernel dataplane (member/src/dataplane_selectors.h).
#include <catch2/catch.hpp>

#include "dataplane/dataplane_host.h"
#include "dataplane/dataplane_selectors.h"

using namespace member;

namespace {

NetPrefix P(const char* text) { return *NetPrefix::parse(text); }

std::vector<std::string> strings(const std::vector<NetPrefix>& v) {
    std::vector<std::string> out;
    for (const auto& p : v) out.push_back(p.to_string());
    return out;
}

gdoi::TrafficId subnet(std::vector<uint8_t> a, std::vector<uint8_t> mask, uint16_t port = 0) {
    gdoi::TrafficId id;
    id.id_type = 4;
    id.address = a;
    id.mask_or_end = mask;
    id.port = port;
    return id;
}

}  // namespace

std::vector<std::string> range(const char* first, const char* last) {
    const auto f = P(first);
    return strings(range_to_prefixes(f.family, f.address, P(last).address));
}

std::vector<uint8_t> v6(const char* text) {
    const auto a = common::IpAddress::parse(text).value();
    return {a.bytes.begin(), a.bytes.end()};
}

TEST_CASE("dataplane selectors: range to prefixes", "[dataplane][selectors]") {
    CHECK(range("10.0.0.0", "10.0.0.255") == std::vector<std::string>{"10.0.0.0/24"});
    CHECK(range("10.0.0.1", "10.0.0.6") ==
          std::vector<std::string>{"10.0.0.1/32", "10.0.0.2/31", "10.0.0.4/31", "10.0.0.6/32"});
    CHECK(strings(range_to_prefixes(common::IpFamily::ipv4, 0, 0xffffffffu)) ==
          std::vector<std::string>{"0.0.0.0/0"});
    CHECK(range("255.255.255.254", "255.255.255.255") == std::vector<std::string>{"255.255.255.254/31"});
}

TEST_CASE("dataplane selectors: IPv6 range to prefixes", "[dataplane][selectors][ipv6]") {
    CHECK(range("2001:db8::", "2001:db8::ffff") == std::vector<std::string>{"2001:db8::/112"});
    CHECK(
        range("2001:db8::1", "2001:db8::6") ==
        std::vector<std::string>{"2001:db8::1/128", "2001:db8::2/127", "2001:db8::4/127", "2001:db8::6/128"});
    // The whole space and its top end: no overflow past ffff:...:ffff.
    CHECK(range("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff") == std::vector<std::string>{"::/0"});
    CHECK(range("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff") ==
          std::vector<std::string>{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127"});
    CHECK(range("2001:db8::", "2001:db8:0:1::") ==
          std::vector<std::string>{"2001:db8::/64", "2001:db8:0:1::/128"});
}

TEST_CASE("dataplane selectors: subtract and intersect", "[dataplane][selectors]") {
    const auto remote = subtract({P("10.0.0.0/8")}, {P("10.1.0.0/24")});
    CHECK(remote.size() == 16);
    CHECK(remote.front().to_string() == "10.0.0.0/16");
    CHECK(remote.back().to_string() == "10.128.0.0/9");
    // Nothing of the removed prefix is left, everything else is.
    for (const auto& p : remote) CHECK(!(p.contains(P("10.1.0.0/24")) || P("10.1.0.0/24").contains(p)));
    uint64_t size = 0;
    for (const auto& p : remote) size += uint64_t{1} << (32 - p.length);
    CHECK(size == (uint64_t{1} << 24) - 256);

    CHECK(subtract({P("10.1.0.0/24")}, {P("10.0.0.0/8")}).empty());
    CHECK(strings(subtract({P("10.2.0.0/16")}, {P("10.1.0.0/24")})) ==
          std::vector<std::string>{"10.2.0.0/16"});
    CHECK(strings(intersect({P("10.0.0.0/8")}, {P("10.1.0.0/24"), P("192.168.1.0/24")})) ==
          std::vector<std::string>{"10.1.0.0/24"});
    CHECK(strings(normalize({P("10.1.0.0/24"), P("10.0.0.0/8"), P("10.0.0.0/8")})) ==
          std::vector<std::string>{"10.0.0.0/8"});
}

TEST_CASE("dataplane selectors: IPv6 subtract and intersect", "[dataplane][selectors][ipv6]") {
    const auto remote = subtract({P("2001:db8::/32")}, {P("2001:db8:1::/48")});
    CHECK(remote.size() == 16);
    CHECK(remote.front().to_string() == "2001:db8::/48");
    CHECK(remote.back().to_string() == "2001:db8:8000::/33");
    for (const auto& p : remote)
        CHECK(!(p.contains(P("2001:db8:1::/48")) || P("2001:db8:1::/48").contains(p)));
    // A host out of ::/0: 128 prefixes, one per bit.
    const auto all_but_one = subtract({P("::/0")}, {P("100::47/128")});
    CHECK(all_but_one.size() == 128);
    for (const auto& p : all_but_one) CHECK(!p.contains(P("100::47/128")));
    CHECK(std::any_of(all_but_one.begin(), all_but_one.end(),
                      [&](const NetPrefix& p) { return p.contains(P("100::46/128")); }));
    CHECK(strings(intersect({P("2001:db8::/32")}, {P("2001:db8:2::/48"), P("fd00::/8")})) ==
          std::vector<std::string>{"2001:db8:2::/48"});
}

TEST_CASE("dataplane selectors: mixed families never meet", "[dataplane][selectors][ipv6]") {
    // ::/0 and 0.0.0.0/0 both have length 0 and address 0: the family keeps them apart.
    CHECK(!P("::/0").contains(P("10.0.0.0/8")));
    CHECK(!P("0.0.0.0/0").contains(P("2001:db8::/32")));
    CHECK(strings(normalize({P("2001:db8::/32"), P("10.0.0.0/8"), P("::/0"), P("0.0.0.0/0")})) ==
          std::vector<std::string>{"0.0.0.0/0", "::/0"});
    // Subtracting one family leaves the other untouched.
    CHECK(strings(subtract({P("10.0.0.0/8"), P("2001:db8::/32")}, {P("::/0")})) ==
          std::vector<std::string>{"10.0.0.0/8"});
    CHECK(strings(subtract({P("10.0.0.0/8"), P("2001:db8::/32")}, {P("0.0.0.0/0")})) ==
          std::vector<std::string>{"2001:db8::/32"});
    CHECK(strings(intersect({P("0.0.0.0/0")}, {P("2001:db8::/32")})).empty());
    const auto dual =
        remote_prefixes({P("10.0.0.0/8"), P("2001:db8::/32")}, {P("10.1.0.0/24"), P("2001:db8:1::/48")},
                        {P("169.254.0.71/32"), P("100::47/128")});
    CHECK(of_family(dual, common::IpFamily::ipv4).size() == 16);
    CHECK(of_family(dual, common::IpFamily::ipv6).size() == 16);
    CHECK(strings(local_group_prefixes({P("10.0.0.0/8"), P("2001:db8::/32")},
                                       {P("10.1.0.0/24"), P("2001:db8:1::/48"), P("fd00::/64")})) ==
          std::vector<std::string>{"10.1.0.0/24", "2001:db8:1::/48"});
    CHECK(NetPrefix::from(common::IpPrefix::parse("2001:db8::1/64").value()).to_string() ==
          "2001:db8::/64");  // host bits cleared
    CHECK(NetPrefix::host(common::IpAddress::parse("100::47").value()).to_string() == "100::47/128");
}

TEST_CASE("dataplane selectors: IPv6 ID payloads", "[dataplane][selectors][ipv6]") {
    gdoi::TrafficId id;
    id.id_type = 5;  // ID_IPV6_ADDR
    id.address = v6("2001:db8::1");
    CHECK(strings(id_prefixes(id).value()) == std::vector<std::string>{"2001:db8::1/128"});
    id.id_type = 6;  // ID_IPV6_ADDR_SUBNET
    id.mask_or_end = v6("ffff:ffff:ffff:ffff::");
    CHECK(strings(id_prefixes(id).value()) == std::vector<std::string>{"2001:db8::/64"});
    id.mask_or_end = v6("ffff:0:ffff::");
    CHECK(!id_prefixes(id));
    id.id_type = 8;  // ID_IPV6_ADDR_RANGE
    id.mask_or_end = v6("2001:db8::6");
    CHECK(id_prefixes(id).value().size() == 4);
    id.mask_or_end = v6("2001:db7::");
    CHECK_THAT(id_prefixes(id).error().message, Catch::Contains("ends before it starts"));
    id.mask_or_end = {10, 0, 0, 1};
    CHECK(!id_prefixes(id));
    // The ID type and the address size must agree.
    id.id_type = 4;
    id.mask_or_end = v6("ffff::");
    CHECK_THAT(id_prefixes(id).error().message, Catch::Contains("4-octet IPv4"));
    id.id_type = 6;
    id.address = {10, 0, 0, 0};
    CHECK_THAT(id_prefixes(id).error().message, Catch::Contains("16-octet IPv6"));
    id.id_type = 11;  // ID_KEY_ID
    CHECK(!id_prefixes(id));
}

TEST_CASE("dataplane selectors: remote prefixes leave out the local scope, G_IN/G_OUT and key servers",
          "[dataplane][selectors]") {
    const auto remote =
        remote_prefixes({P("0.0.0.0/0")}, {P("10.1.0.0/24")}, {P("169.254.0.71/32"), P("198.51.100.10/32")});
    for (const auto& p : remote) {
        CHECK(!p.contains(P("169.254.0.71/32")));
        CHECK(!p.contains(P("198.51.100.10/32")));
        CHECK(!p.contains(P("10.1.0.5/32")));
    }
    CHECK(std::any_of(remote.begin(), remote.end(),
                      [&](const NetPrefix& p) { return p.contains(P("10.2.0.1/32")); }));
    CHECK(strings(local_group_prefixes({P("10.0.0.0/8")}, {P("10.1.0.0/24"), P("192.168.9.0/24")})) ==
          std::vector<std::string>{"10.1.0.0/24"});
}

TEST_CASE("dataplane selectors: TEK selector to nft selectors", "[dataplane][selectors]") {
    gdoi::TrafficSelector s;
    s.protocol = 0;
    s.source = subnet({10, 0, 0, 0}, {255, 0, 0, 0});
    s.destination = subnet({10, 0, 0, 0}, {255, 0, 0, 0});
    auto sel = to_policy_selectors(s);
    REQUIRE(sel);
    REQUIRE(sel->size() == 1);
    CHECK((*sel)[0].source == policy::Prefix::parse("10.0.0.0/8").value());
    CHECK((*sel)[0].destination == policy::Prefix::parse("10.0.0.0/8").value());
    CHECK(!(*sel)[0].protocol);

    s.protocol = 17;
    s.destination.port = 5000;
    sel = to_policy_selectors(s);
    REQUIRE(sel);
    CHECK((*sel)[0].protocol == uint8_t{17});
    CHECK((*sel)[0].destination_port == policy::PortRange::single(5000));
    CHECK(!(*sel)[0].source_port);

    SECTION("a range becomes several prefixes") {
        gdoi::TrafficSelector r;
        r.source.id_type = 7;
        r.source.address = {10, 0, 0, 1};
        r.source.mask_or_end = {10, 0, 0, 2};
        r.destination = subnet({10, 2, 0, 0}, {255, 255, 0, 0});
        auto x = to_policy_selectors(r);
        REQUIRE(x);
        CHECK(x->size() == 2);
    }
    SECTION("IPv6 selectors convert; mixed families and non-contiguous masks are refused") {
        // Whether the dataplane carries IPv6 TEKs is accept_tek's decision (kernel_dataplane_tek_test).
        gdoi::TrafficSelector six;
        six.source.id_type = 6;
        six.source.address = v6("2001:db8:1::");
        six.source.mask_or_end = v6("ffff:ffff:ffff::");
        six.destination = six.source;
        six.destination.address = v6("2001:db8:2::");
        auto x = to_policy_selectors(six);
        REQUIRE(x);
        REQUIRE(x->size() == 1);
        CHECK((*x)[0].source == policy::Prefix::parse("2001:db8:1::/48").value());
        CHECK((*x)[0].destination == policy::Prefix::parse("2001:db8:2::/48").value());
        CHECK(strings(scope_prefixes(six).value()) ==
              std::vector<std::string>{"2001:db8:1::/48", "2001:db8:2::/48"});
        gdoi::TrafficSelector mixed = six;
        mixed.destination = subnet({10, 0, 0, 0}, {255, 0, 0, 0});
        auto m = to_policy_selectors(mixed);
        REQUIRE(!m);
        CHECK_THAT(m.error().message, Catch::Contains("different address families"));
        gdoi::TrafficSelector odd;
        odd.source = subnet({10, 0, 0, 0}, {255, 0, 255, 0});
        odd.destination = odd.source;
        CHECK(!to_policy_selectors(odd));
    }
    SECTION("a port on a protocol without ports is refused") {
        gdoi::TrafficSelector icmp = s;
        icmp.protocol = 1;
        CHECK(!to_policy_selectors(icmp));
    }
}
