// gdoi-test-keyserver's --selector options: one for every TEK (the tests' usual key server) or
// one after each --tek (a dual-stack group).
#include "tek_selectors.h"

#include <catch2/catch.hpp>

using keyserver::assign_selectors;
using keyserver::SelectorOption;

namespace {

std::vector<gdoi::Tek> teks(size_t n) {
    std::vector<gdoi::Tek> v(n);
    for (size_t i = 0; i < n; ++i) v[i].spi = static_cast<uint32_t>(0x1000 + i);
    return v;
}

std::string traffic(const gdoi::Tek& t) {
    CHECK(t.selector.source.to_string() == t.selector.destination.to_string());
    CHECK(t.selector.protocol == 0);
    return t.selector.source.to_string();
}

}  // namespace

TEST_CASE("no --selector: every TEK protects 10.0.0.0/8", "[keyserver][selector]") {
    auto v = teks(2);
    REQUIRE(assign_selectors(v, {}).empty());
    CHECK(traffic(v[0]) == "10.0.0.0/8");
    CHECK(traffic(v[1]) == "10.0.0.0/8");
    CHECK(v[0].selector.source.id_type == 4);  // ID_IPV4_ADDR_SUBNET
}

TEST_CASE("one --selector is every TEK's, wherever it stands", "[keyserver][selector]") {
    for (size_t before : {0u, 1u, 2u}) {
        auto v = teks(2);  // --tek A --tek B --selector P, as the tests and benchmarks write it
        REQUIRE(assign_selectors(v, {{before, "192.168.0.0/16"}}).empty());
        CHECK(traffic(v[0]) == "192.168.0.0/16");
        CHECK(traffic(v[1]) == "192.168.0.0/16");
    }
    auto v6 = teks(1);
    REQUIRE(assign_selectors(v6, {{1, "2001:db8::/32"}}).empty());
    CHECK(traffic(v6[0]) == "2001:db8::/32");
    CHECK(v6[0].selector.source.id_type == 6);  // ID_IPV6_ADDR_SUBNET
    CHECK(v6[0].selector.source.mask_or_end.size() == 16);
}

TEST_CASE("a --selector after each --tek is that TEK's: a dual-stack group", "[keyserver][selector]") {
    auto v = teks(2);
    REQUIRE(assign_selectors(v, {{1, "10.0.0.0/8"}, {2, "2001:db8::/32"}}).empty());
    CHECK(traffic(v[0]) == "10.0.0.0/8");
    CHECK(v[0].selector.source.id_type == 4);
    CHECK(traffic(v[1]) == "2001:db8::/32");
    CHECK(v[1].selector.source.id_type == 6);
    CHECK(v[0].spi == 0x1000);  // the TEKs themselves are untouched
    CHECK(v[1].spi == 0x1001);
}

TEST_CASE("host bits are cleared and a bare address is a full-length prefix", "[keyserver][selector]") {
    auto v = teks(2);
    REQUIRE(assign_selectors(v, {{1, "10.1.2.3/8"}, {2, "2001:db8:1::10"}}).empty());
    CHECK(traffic(v[0]) == "10.0.0.0/8");
    CHECK(traffic(v[1]) == "2001:db8:1::10/128");
}

TEST_CASE("selectors that cannot be meant are refused", "[keyserver][selector]") {
    auto v = teks(2);
    // Not a prefix.
    CHECK_FALSE(assign_selectors(v, {{1, "10.0.0.0/33"}}).empty());
    CHECK_FALSE(assign_selectors(v, {{1, "2001:db8::/129"}}).empty());
    CHECK_FALSE(assign_selectors(v, {{1, "example.org"}}).empty());
    CHECK_FALSE(assign_selectors(v, {{1, "10.0.0.0/"}}).empty());
    // Several: one right after each --tek, no more, no fewer.
    CHECK_FALSE(assign_selectors(v, {{0, "10.0.0.0/8"}, {2, "2001:db8::/32"}}).empty());
    CHECK_FALSE(assign_selectors(v, {{1, "10.0.0.0/8"}, {1, "2001:db8::/32"}}).empty());
    CHECK_FALSE(assign_selectors(v, {{2, "10.0.0.0/8"}, {2, "2001:db8::/32"}}).empty());
    auto three = teks(3);
    CHECK_FALSE(assign_selectors(three, {{1, "10.0.0.0/8"}, {2, "2001:db8::/32"}}).empty());
}
