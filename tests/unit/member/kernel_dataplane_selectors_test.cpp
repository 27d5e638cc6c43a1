// Selector and prefix conversions of the kernel dataplane (member/src/dataplane_selectors.h).
#include <catch2/catch.hpp>

#include "dataplane/dataplane_host.h"
#include "dataplane/dataplane_selectors.h"

using namespace member;

namespace {

V4Prefix P(const char* text) { return *V4Prefix::parse(text); }

std::vector<std::string> strings(const std::vector<V4Prefix>& v) {
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

TEST_CASE("dataplane selectors: range to prefixes", "[dataplane][selectors]") {
    CHECK(strings(range_to_prefixes(P("10.0.0.0/32").address, P("10.0.0.255/32").address)) ==
          std::vector<std::string>{"10.0.0.0/24"});
    CHECK(strings(range_to_prefixes(P("10.0.0.1/32").address, P("10.0.0.6/32").address)) ==
          std::vector<std::string>{"10.0.0.1/32", "10.0.0.2/31", "10.0.0.4/31", "10.0.0.6/32"});
    CHECK(strings(range_to_prefixes(0, 0xffffffffu)) == std::vector<std::string>{"0.0.0.0/0"});
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
                      [&](const V4Prefix& p) { return p.contains(P("10.2.0.1/32")); }));
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
    SECTION("IPv6 and non-contiguous masks are refused") {
        gdoi::TrafficSelector v6;
        v6.source.id_type = 6;
        v6.source.address = gdoi::Bytes(16, 0);
        v6.source.mask_or_end = gdoi::Bytes(16, 0);
        v6.destination = v6.source;
        auto x = to_policy_selectors(v6);
        REQUIRE(!x);
        CHECK_THAT(x.error().message, Catch::Contains("IPv4"));
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
