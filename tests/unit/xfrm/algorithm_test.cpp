#include <catch2/catch.hpp>

#include "xfrm/algorithm.h"

using namespace xfrm;

TEST_CASE("algorithm table maps IPsec DOI ids to kernel names and sizes", "[algorithm]") {
    const CipherInfo* gcm = find_cipher(EspTransformId::esp_aes_gcm_16);
    REQUIRE(gcm);
    CHECK(static_cast<int>(gcm->id) == 20);
    CHECK(gcm->kernel_name == "rfc4106(gcm(aes))");
    CHECK(gcm->aead);
    CHECK(gcm->icv_bits == 128);
    CHECK(gcm->salt_bits == 32);

    CHECK(find_cipher(EspTransformId::esp_aes_cbc)->kernel_name == "cbc(aes)");
    CHECK(static_cast<int>(EspTransformId::esp_aes_cbc) == 12);
    CHECK(find_cipher(EspTransformId::esp_3des)->kernel_name == "cbc(des3_ede)");
    CHECK(static_cast<int>(EspTransformId::esp_3des) == 3);
    CHECK(find_cipher(static_cast<EspTransformId>(99)) == nullptr);
}

TEST_CASE("authentication algorithms carry the RFC truncation lengths", "[algorithm]") {
    struct Row {
        AuthAlgorithmId id;
        int doi;
        const char* name;
        int key_bits;
        int trunc;
    };
    const Row rows[] = {
        {AuthAlgorithmId::hmac_sha1, 2, "hmac(sha1)", 160, 96},
        {AuthAlgorithmId::hmac_sha2_256, 5, "hmac(sha256)", 256, 128},
        {AuthAlgorithmId::hmac_sha2_384, 6, "hmac(sha384)", 384, 192},
        {AuthAlgorithmId::hmac_sha2_512, 7, "hmac(sha512)", 512, 256},
    };
    for (const auto& r : rows) {
        const AuthInfo* a = find_auth(r.id);
        REQUIRE(a);
        CHECK(static_cast<int>(a->id) == r.doi);
        CHECK(a->kernel_name == r.name);
        CHECK(a->key_bits == r.key_bits);
        CHECK(a->truncation_bits == r.trunc);
        CHECK(find_auth_by_kernel_name(r.name) == a);
    }
    CHECK(all_auths().size() == 4);
}

TEST_CASE("transforms are validated and sized", "[algorithm]") {
    CHECK(validate({EspTransformId::esp_aes_gcm_16, 256, AuthAlgorithmId::none}).empty());
    CHECK_FALSE(validate({EspTransformId::esp_aes_gcm_16, 256, AuthAlgorithmId::hmac_sha1}).empty());
    CHECK_FALSE(validate({EspTransformId::esp_aes_cbc, 128, AuthAlgorithmId::none}).empty());
    CHECK_FALSE(validate({EspTransformId::esp_aes_cbc, 100, AuthAlgorithmId::hmac_sha1}).empty());
    CHECK_FALSE(validate({EspTransformId::esp_3des, 128, AuthAlgorithmId::hmac_sha1}).empty());

    auto gcm = key_sizes({EspTransformId::esp_aes_gcm_16, 128, AuthAlgorithmId::none});
    CHECK(gcm.encryption_bytes == 20);  // 16-byte key + 4-byte salt (RFC 4106 §8.1)
    CHECK(gcm.integrity_bytes == 0);
    auto cbc = key_sizes({EspTransformId::esp_aes_cbc, 256, AuthAlgorithmId::hmac_sha2_512});
    CHECK(cbc.encryption_bytes == 32);
    CHECK(cbc.integrity_bytes == 64);
    auto des = key_sizes({EspTransformId::esp_3des, 192, AuthAlgorithmId::hmac_sha1});
    CHECK(des.encryption_bytes == 24);
    CHECK(des.integrity_bytes == 20);
    CHECK(key_sizes({EspTransformId::esp_3des, 128, AuthAlgorithmId::hmac_sha1}).encryption_bytes == 0);
}
