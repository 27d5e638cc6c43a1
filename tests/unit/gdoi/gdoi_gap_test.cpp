// GDOI GAP payload (RFC 6407 §5.6) encode/parse, found by fuzz_gdoi_payloads.
#include <catch2/catch.hpp>

#include "gdoi/gdoi_payloads.h"
#include "test_util.h"

using namespace gdoi;

TEST_CASE("GAP: delays round trip", "[gdoi][gap]") {
    Gap gap{30, 600};
    auto back = wire::parse_gap(wire::encode_gap(gap));
    REQUIRE(back.ok());
    CHECK(back->activation_time_delay == 30);
    CHECK(back->deactivation_time_delay == 600);
    // The parser accepts the variable (TLV) form as well.
    auto tlv = wire::parse_gap(test::hex("0001 0004 00010000  8002 0258"));
    REQUIRE(tlv.ok());
    CHECK(tlv->activation_time_delay == 65536);
    CHECK(tlv->deactivation_time_delay == 600);
}

TEST_CASE("GAP: delays above 16 bits are not truncated by encode_gap", "[gdoi][gap][bug]") {
    // Gap holds 32-bit delays and parse_gap accepts them (TLV form), but encode_gap
    // (gdoi/src/codec/gdoi_payloads.cpp, encode_gap) writes both as basic attributes with
    // static_cast<uint16_t>, so 65536 s becomes 0 and 100000 s becomes 34464 without
    // any error. Found by fuzz_gdoi_payloads (corpus/gdoi_payloads/regression_gap_above_16_bits).
    Gap gap{65536, 100000};
    auto back = wire::parse_gap(wire::encode_gap(gap));
    REQUIRE(back.ok());
    CHECK(back->activation_time_delay == 65536);
    CHECK(back->deactivation_time_delay == 100000);
}
