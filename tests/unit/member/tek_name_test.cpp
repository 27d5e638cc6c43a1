// The TEK algorithm name gdoictl shows (a 3DES SA TEK without Key Length).
#include "daemon/tek_name.h"

#include <catch2/catch.hpp>

namespace {

gdoi::Tek tek(uint8_t transform, uint16_t key_bits, uint16_t auth) {
    gdoi::Tek t;
    t.transform_id = transform;
    t.key_bits = key_bits;
    t.auth_algorithm = auth;
    return t;
}

}  // namespace

TEST_CASE("3DES without a Key Length attribute is shown as ESP_3DES, not ESP_3DES-0", "[tek_name][issue10]") {
    CHECK(member::tek_algorithm_name(tek(3, 0, 2)) == "ESP_3DES/HMAC-SHA1");
    CHECK(member::tek_algorithm_name(tek(3, 0, 0)) == "ESP_3DES");
}

TEST_CASE("AES TEKs show their key length and integrity algorithm", "[tek_name]") {
    CHECK(member::tek_algorithm_name(tek(12, 256, 5)) == "ESP_AES_CBC-256/HMAC-SHA2-256");
    CHECK(member::tek_algorithm_name(tek(20, 128, 0)) == "ESP_AES_GCM_16-128");
    CHECK(member::tek_algorithm_name(tek(99, 128, 0)) == "transform 99-128");
}
