#include <catch2/catch.hpp>

#include "xfrm/mtu.h"

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
