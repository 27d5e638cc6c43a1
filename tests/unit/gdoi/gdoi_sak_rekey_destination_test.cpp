// SA KEK SRC ID / DST ID (RFC 6407 §5.3): parsed into Kek::selector, bounds-checked, and the
// multicast rekey destination a member joins (gdoi/multicast_socket.h).
#include <arpa/inet.h>

#include <catch2/catch.hpp>

#include "gdoi/gdoi_payloads.h"
#include "gdoi/multicast_socket.h"
#include "test_util.h"

using namespace gdoi;
using test::hex;

namespace {

// RFC 6407 §5.3 layout: Protocol, SRC ID Type/Port/Data Len/Data, DST ID likewise, SPI (16),
// RESERVED (4), KEK attributes (KEK_ALGORITHM AES, KEK_KEY_LIFETIME 86400).
const char* const kSpi = "00112233445566778899aabbccddeeff";
const char* const kTail = "00000000 8002 0003 0004 0004 00015180";

Bytes sak(const std::string& src_and_dst) { return hex("11" + src_and_dst + kSpi + kTail); }

Kek kek_with_destination(uint8_t id_type, Bytes address, uint16_t port, Bytes mask = {}) {
    Kek k;
    k.algorithm = 3;
    k.selector.destination.id_type = id_type;
    k.selector.destination.address = std::move(address);
    k.selector.destination.mask_or_end = std::move(mask);
    k.selector.destination.port = port;
    return k;
}

}  // namespace

TEST_CASE("SA KEK: SRC and DST ID parsed (IPv4 multicast destination)", "[gdoi][sak][multicast]") {
    // SRC ID_IPV4_ADDR 10.248.0.2 port 848, DST ID_IPV4_ADDR 239.1.2.3 port 0.
    auto kek = wire::parse_sak(sak("01 0350 04 0af80002  01 0000 04 ef010203"));
    REQUIRE(kek.ok());
    CHECK(kek->selector.protocol == 17);
    CHECK(kek->selector.source.id_type == 1);
    CHECK(kek->selector.source.port == 848);
    CHECK(kek->selector.source.address == hex("0af80002"));
    CHECK(kek->selector.destination.id_type == 1);
    CHECK(kek->selector.destination.port == 0);
    CHECK(kek->selector.destination.address == hex("ef010203"));
    CHECK(kek->selector.destination.mask_or_end.empty());
    CHECK(test::hexs(kek->spi) == kSpi);
    CHECK(kek->lifetime_seconds == 86400);
    // Encoded again, the same bytes.
    CHECK(wire::encode_sak(*kek) == sak("01 0350 04 0af80002  01 0000 04 ef010203"));

    auto dst = multicast_rekey_destination(*kek);
    REQUIRE(dst);
    CHECK(dst->to_string() == "239.1.2.3:848");  // DST ID Port 0: the GDOI port
}

TEST_CASE("SA KEK: IPv6 multicast destination with a port", "[gdoi][sak][multicast]") {
    // SRC ID_IPV6_ADDR 2001:db8::2, DST ID_IPV6_ADDR ff0e::848 port 2000.
    auto kek = wire::parse_sak(sak("05 0350 10 20010db8000000000000000000000002"
                                   "05 07d0 10 ff0e0000000000000000000000000848"));
    REQUIRE(kek.ok());
    CHECK(kek->selector.destination.id_type == 5);
    CHECK(kek->selector.destination.port == 2000);
    CHECK(kek->selector.source.to_string() == "2001:db8::2/128:848");
    auto dst = multicast_rekey_destination(*kek);
    REQUIRE(dst);
    CHECK(dst->to_string() == "[ff0e::848]:2000");
    CHECK(is_multicast(*dst));
}

TEST_CASE("SA KEK: SRC/DST ID bounds", "[gdoi][sak][multicast]") {
    using isakmp::ParseError;
    SECTION("DST ID data cut short") {
        Bytes whole = sak("01 0350 04 0af80002  01 0000 04 ef010203");
        Bytes cut(whole.begin(), whole.begin() + 1 + 8 + 6);  // protocol, SRC, DST header + 2 of 4 address octets
        CHECK(test::parse_error(wire::parse_sak(cut)) == ParseError::Truncated);
    }
    SECTION("DST ID Data Len does not fit the ID type") {
        // ID_IPV4_ADDR with 5 octets of data.
        CHECK(test::parse_error(wire::parse_sak(sak("01 0350 04 0af80002  01 0000 05 ef01020304"))) ==
              ParseError::BadLength);
    }
    SECTION("DST ID Data Len beyond the payload") {
        CHECK(test::parse_error(wire::parse_sak(hex("11 01 0350 04 0af80002 01 0000 ff ef010203"))) ==
              ParseError::Truncated);
    }
    SECTION("unknown DST ID type") {
        CHECK(test::parse_error(wire::parse_sak(sak("01 0350 04 0af80002  0b 0000 04 ef010203"))) ==
              ParseError::BadValue);
    }
}

TEST_CASE("multicast_rekey_destination: only one multicast address", "[gdoi][sak][multicast]") {
    CHECK_FALSE(multicast_rekey_destination(kek_with_destination(1, hex("0af80001"), 848)));  // unicast
    CHECK_FALSE(multicast_rekey_destination(kek_with_destination(1, hex("dfffffff"), 848)));  // 223.255.255.255
    CHECK(multicast_rekey_destination(kek_with_destination(1, hex("e0000001"), 848)));        // 224.0.0.1
    CHECK(multicast_rekey_destination(kek_with_destination(1, hex("efffffff"), 848)));        // 239.255.255.255
    CHECK_FALSE(multicast_rekey_destination(kek_with_destination(1, hex("f0000001"), 848)));  // 240/4
    // A subnet of full length is one address; a wider one is not, nor a range.
    auto host = multicast_rekey_destination(kek_with_destination(4, hex("ef010203"), 0, hex("ffffffff")));
    REQUIRE(host);
    CHECK(host->to_string() == "239.1.2.3:848");
    CHECK_FALSE(multicast_rekey_destination(kek_with_destination(4, hex("ef010200"), 0, hex("ffffff00"))));
    CHECK_FALSE(multicast_rekey_destination(kek_with_destination(7, hex("ef010203"), 0, hex("ef010203"))));
    CHECK_FALSE(multicast_rekey_destination(kek_with_destination(5, hex("fe800000000000000000000000000001"), 0)));
    CHECK_FALSE(multicast_rekey_destination(Kek{}));  // no DST ID at all
}

TEST_CASE("MulticastSocket: refuses a unicast group and an unknown interface", "[gdoi][multicast]") {
    auto unicast = Endpoint::parse("10.248.0.1", 848);
    REQUIRE(unicast.ok());
    auto r = MulticastSocket::join(*unicast, "lo");
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Catch::Contains("not a multicast address"));
    auto group = Endpoint::parse("239.1.2.3", 18848);
    REQUIRE(group.ok());
    auto none = MulticastSocket::join(*group, "no-such-if0");
    REQUIRE_FALSE(none.ok());
    CHECK_THAT(none.error().message, Catch::Contains("no interface named no-such-if0"));
}
