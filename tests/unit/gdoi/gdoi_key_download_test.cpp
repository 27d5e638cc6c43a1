// GDOI KD payload (RFC 6407 §5.5): one key packet per SA, as many as the payload's bytes hold.
#include <catch2/catch.hpp>

#include "gdoi/gdoi_payloads.h"
#include "test_util.h"

using namespace gdoi;
using isakmp::ParseError;

namespace {

// A KD with `count` TEK key packets: SPI i, a 32-octet cipher key and a 32-octet HMAC key
// (ESP AES-256-CBC with HMAC-SHA2-256), 81 octets each.
Bytes kd_with_teks(size_t count) {
    const Bytes cipher_key(32, 0xc1), integrity_key(32, 0x1e);
    std::vector<wire::KeyPacketOut> packets;
    for (size_t i = 0; i < count; ++i) {
        ByteWriter spi;
        spi.u32(static_cast<uint32_t>(0x1000 + i));
        packets.push_back(
            {wire::kd::kTypeTek,
             spi.take(),
             {{wire::kd::kTekAlgorithmKey, cipher_key}, {wire::kd::kTekIntegrityKey, integrity_key}}});
    }
    return wire::encode_key_download(packets);
}

ParseError parse_error(const common::Result<std::vector<wire::KeyPacket>>& r) {
    REQUIRE_FALSE(r.ok());
    return isakmp::parse_error_of(r.error());
}

}  // namespace

TEST_CASE("KD: hundreds of key packets parse (one per TEK of a large policy)", "[gdoi][kd]") {
    for (size_t count : {size_t{65}, size_t{200}, size_t{803}, size_t{1000}}) {
        const Bytes kd = kd_with_teks(count);
        CHECK(kd.size() == 4 + 81 * count);
        auto parsed = wire::parse_key_download(kd);
        REQUIRE(parsed.ok());
        REQUIRE(parsed->size() == count);
        const auto& last = parsed->back();
        CHECK(last.type == wire::kd::kTypeTek);
        CHECK(last.spi == test::hex(count == 1000  ? "000013e7"
                                    : count == 803 ? "00001322"
                                    : count == 200 ? "000010c7"
                                                   : "00001040"));
        REQUIRE(last.find(wire::kd::kTekIntegrityKey) != nullptr);
        CHECK(last.find(wire::kd::kTekIntegrityKey)->value.size() == 32);
    }
}

TEST_CASE("KD: a count its bytes cannot hold, or packets it does not count, are refused", "[gdoi][kd]") {
    const Bytes kd = kd_with_teks(200);
    SECTION("count 0") {
        Bytes zero = kd;
        zero[0] = zero[1] = 0;
        CHECK(parse_error(wire::parse_key_download(zero)) == ParseError::TooMany);
    }
    SECTION("count 65535 in a payload of 200 packets") {
        Bytes huge = kd;
        huge[0] = huge[1] = 0xff;
        CHECK(parse_error(wire::parse_key_download(huge)) == ParseError::TooMany);
    }
    SECTION("count 65535 with bytes for 65535 minimal packets but not their lengths") {
        Bytes minimal = test::hex("ffff 0000");
        minimal.resize(4 + 5 * 0xffff, 0);  // headers say length 0
        CHECK(parse_error(wire::parse_key_download(minimal)) == ParseError::BadLength);
    }
    SECTION("count one above the packets present") {
        Bytes more = kd;
        more[1] = 201;
        CHECK(parse_error(wire::parse_key_download(more)) == ParseError::NestingOverrun);
    }
    SECTION("count one below: the last packet is trailing data") {
        Bytes fewer = kd;
        fewer[1] = 199;
        CHECK(parse_error(wire::parse_key_download(fewer)) == ParseError::TrailingData);
    }
    SECTION("the last packet runs past the payload") {
        Bytes cut = kd;
        cut.pop_back();
        CHECK(parse_error(wire::parse_key_download(cut)) == ParseError::NestingOverrun);
    }
    SECTION("a packet shorter than its header and SPI size") {
        Bytes short_packet = kd;
        short_packet[4 + 81 * 150 + 2] = 0;
        short_packet[4 + 81 * 150 + 3] = 4;
        CHECK(parse_error(wire::parse_key_download(short_packet)) == ParseError::BadLength);
    }
}
