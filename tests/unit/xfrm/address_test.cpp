#include <catch2/catch.hpp>

#include "xfrm/address.h"

using namespace xfrm;

TEST_CASE("addresses and prefixes parse and print", "[address]") {
    auto a = Address::parse("192.0.2.1");
    REQUIRE(a);
    CHECK(a->family == Family::ipv4);
    CHECK(a->to_string() == "192.0.2.1");
    CHECK(*a == Address::ipv4(192, 0, 2, 1));

    auto v6 = Prefix::parse("2001:db8::/32");
    REQUIRE(v6);
    CHECK(v6->address.family == Family::ipv6);
    CHECK(v6->length == 32);
    CHECK(v6->to_string() == "2001:db8::/32");

    auto host = Prefix::parse("10.1.2.3");
    REQUIRE(host);
    CHECK(host->length == 32);

    CHECK_FALSE(Prefix::parse("10.0.0.0/33"));
    CHECK_FALSE(Prefix::parse("10.0.0.0/x"));
    CHECK_FALSE(Address::parse("gdoi"));
    CHECK(Address{}.is_any());
}
