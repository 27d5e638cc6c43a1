#include "xfrm/mtu.h"

#include <catch2/catch.hpp>

using namespace xfrm;

namespace {
const EspTransform kGcm{EspTransformId::esp_aes_gcm_16, 128, AuthAlgorithmId::none};
const EspTransform kCbc{EspTransformId::esp_aes_cbc, 256, AuthAlgorithmId::hmac_sha2_256};
const EspTransform k3des{EspTransformId::esp_3des, 192, AuthAlgorithmId::hmac_sha1};
}  // namespace

TEST_CASE("carrier MTU for a 1500-byte WAN with GCM is 1446", "[mtu]") {
    CHECK(carrier_mtu(1500, kGcm) == 1446);
    CHECK(carrier_mtu(1500, kCbc) == 1438);
    CHECK(carrier_mtu(1500, k3des) == 1446);
    CHECK(carrier_mtu(9000, kGcm) == 8946);
    CHECK(carrier_mtu(60, kGcm) == 0);
    CHECK(carrier_mtu(1500, {EspTransformId::esp_aes_cbc, 128, AuthAlgorithmId::none}) == 0);
}

TEST_CASE("a carrier-MTU packet plus IPv4 and ESP overhead fits the WAN exactly or nearly", "[mtu]") {
    for (const auto& t : {kGcm, kCbc, k3des}) {
        for (uint32_t wan : {576u, 1280u, 1400u, 1492u, 1500u, 9000u}) {
            const uint32_t m = carrier_mtu(wan, t);
            REQUIRE(m > 0);
            CHECK(20 + m + esp_overhead(m, t) <= wan);
            // One more byte would need another padding block and overflow.
            CHECK(20 + (m + 1) + esp_overhead(m + 1, t) > wan);
        }
    }
    CHECK(esp_overhead(1446, kGcm) == 34);  // 8 + 8 IV + 0 pad + 2 + 16 ICV
}

TEST_CASE("IPv6 carrier MTU: 40-octet outer header, at least 1280", "[mtu][ipv6]") {
    // WAN 1500, AES-CBC + HMAC-SHA-256-128: 1406, as tests/vm/ipv6-layout.sh measured.
    CHECK(carrier_mtu(1500, kCbc, Family::ipv6) == 1406);
    CHECK(carrier_mtu(1500, kGcm, Family::ipv6) == 1426);
    for (const auto& t : {kGcm, kCbc, k3des}) {
        for (uint32_t wan : {1400u, 1492u, 1500u, 9000u}) {
            const uint32_t m = carrier_mtu(wan, t, Family::ipv6);
            REQUIRE(m >= 1280);
            CHECK(40 + m + esp_overhead(m, t) <= wan);
            CHECK(40 + (m + 1) + esp_overhead(m + 1, t) > wan);
        }
        // A WAN that cannot carry a 1280-octet inner packet: refused (0), not a smaller carrier.
        CHECK(carrier_mtu(1280, t, Family::ipv6) == 0);
        CHECK(carrier_mtu(1340, t, Family::ipv6) == 0);
    }
}
