// common::IpAddress / common::IpPrefix, the address type xfrm::Address and xfrm::Prefix alias
// (run with the xfrm unit tests: gdoi_common is header-only and has no test binary of its own).
#include "common/ip_address.h"

#include <catch2/catch.hpp>

using common::IpAddress;
using common::IpFamily;
using common::IpPrefix;

TEST_CASE("common addresses parse, print and compare", "[address]") {
    CHECK(IpAddress::parse("2001:db8::1")->family == IpFamily::ipv6);
    CHECK(IpAddress::parse("2001:db8::1")->to_string() == "2001:db8::1");
    CHECK(IpAddress::parse("192.0.2.1")->byte_count() == 4);
    CHECK(IpAddress::parse("192.0.2.1")->bytes[4] == 0);
    CHECK_THAT(IpAddress::parse("192.0.2").error().message, Catch::Contains("not an IPv4 or IPv6 address"));
    CHECK(IpAddress::parse("::")->is_any());
    CHECK(IpAddress::parse("::")->max_prefix() == 128);
}

TEST_CASE("common prefixes: host bits, last address, containment", "[address]") {
    const auto p = *IpPrefix::parse("10.1.2.3/16");  // host bits kept; policy refuses them
    CHECK(p.has_host_bits());
    CHECK(p.network().to_string() == "10.1.0.0/16");
    CHECK(p.last_address() == IpAddress::ipv4(10, 1, 255, 255));
    CHECK(p.contains(IpAddress::ipv4(10, 1, 200, 1)));
    CHECK_FALSE(p.contains(IpAddress::ipv4(10, 2, 0, 1)));
    CHECK_FALSE(p.contains(*IpAddress::parse("::1")));
    CHECK(IpPrefix::any(IpFamily::ipv6).contains(*IpAddress::parse("2001:db8::1")));
    CHECK(IpPrefix::host(IpAddress::ipv4(192, 0, 2, 1)).to_string() == "192.0.2.1/32");
    CHECK(IpPrefix::parse("2001:db8::/32")->last_address().to_string() ==
          "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff");
    CHECK_FALSE(IpPrefix::parse("::/129"));
}
