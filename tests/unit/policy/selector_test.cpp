// Prefixes, protocols and selectors: parsing and the operator-facing errors.
#include <catch2/catch.hpp>

#include "policy/selector.h"

using namespace policy;

TEST_CASE("prefixes parse for IPv4 and IPv6, bare addresses are host prefixes") {
    auto p = Prefix::parse("10.1.0.0/16");
    REQUIRE(p.ok());
    CHECK(p->family == Family::ipv4);
    CHECK(p->length == 16);
    CHECK(p->to_string() == "10.1.0.0/16");
    CHECK(Prefix::parse("192.0.2.7")->length == 32);
    auto v6 = Prefix::parse("2001:db8::/32");
    REQUIRE(v6.ok());
    CHECK(v6->family == Family::ipv6);
    CHECK(v6->to_string() == "2001:db8::/32");
    CHECK(Prefix::parse("10.1.0.0/16")->last_address()[1] == 1);
    CHECK(Prefix::parse("10.1.0.0/16")->last_address()[2] == 255);
}

TEST_CASE("bad prefixes say what is wrong and what would be right") {
    auto host_bits = Prefix::parse("10.1.0.1/16");
    REQUIRE_FALSE(host_bits.ok());
    CHECK_THAT(host_bits.error().message, Catch::Contains("did you mean 10.1.0.0/16"));
    CHECK_THAT(Prefix::parse("10.1.0.0/33").error().message, Catch::Contains("exceeds 32"));
    CHECK_THAT(Prefix::parse("10.1.0/8").error().message, Catch::Contains("expected an IPv4 or IPv6 address"));
    CHECK_THAT(Prefix::parse("10.0.0.0/x").error().message, Catch::Contains("must be a number"));
    CHECK_FALSE(Prefix::parse("10.0.0.0/").ok());
}

TEST_CASE("protocols by name or number") {
    CHECK(*parse_protocol("tcp") == 6);
    CHECK(*parse_protocol("ospf") == 89);
    CHECK(*parse_protocol("47") == 47);
    CHECK_THAT(parse_protocol("tcpp").error().message, Catch::Contains("unknown protocol 'tcpp'"));
    CHECK_FALSE(parse_protocol("256").ok());
    CHECK(protocol_name(17) == "udp");
    CHECK(protocol_name(200) == "200");
}

TEST_CASE("selector validation") {
    Selector s;
    s.destination_port = PortRange::single(179);
    CHECK_THAT(s.validate().error().message, Catch::Contains("ports need protocol tcp"));
    s.protocol = 1;
    CHECK_THAT(s.validate().error().message, Catch::Contains("protocol is icmp"));
    s.protocol = 6;
    CHECK(s.validate().ok());
    s.source_port = PortRange{2000, 1000};
    CHECK_THAT(s.validate().error().message, Catch::Contains("2000-1000 is reversed"));

    Selector mixed;
    mixed.source = *Prefix::parse("10.0.0.0/8");
    mixed.destination = *Prefix::parse("2001:db8::/32");
    CHECK_THAT(mixed.validate().error().message, Catch::Contains("different address families"));
}

TEST_CASE("a mirrored selector swaps addresses and ports") {
    Selector s;
    s.source = *Prefix::parse("10.1.0.0/16");
    s.destination = *Prefix::parse("10.2.0.0/16");
    s.protocol = 6;
    s.destination_port = PortRange::single(179);
    const auto m = s.mirrored();
    CHECK(m.source == s.destination);
    CHECK(m.destination == s.source);
    CHECK(m.source_port == s.destination_port);
    CHECK_FALSE(m.destination_port.has_value());
    CHECK(m.mirrored() == s);
    CHECK(s.to_string() == "10.1.0.0/16 -> 10.2.0.0/16 tcp dport 179");
}
