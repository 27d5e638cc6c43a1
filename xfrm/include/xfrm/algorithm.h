// The one algorithm table: IPsec DOI transform ids (RFC 2407 §4.4.4 ESP transform
// ids, §4.5 "Authentication Algorithm" attribute 5) <-> Linux crypto names used by
// XFRM <-> key, IV, ICV and padding sizes. Used by the codec, the SA installer,
// the MTU computation and `gdoictl show`.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace xfrm {

// IPsec DOI ESP transform ids (RFC 2407 §4.4.4; GCM: RFC 4106 §8.1).
enum class EspTransformId : uint16_t { esp_3des = 3, esp_aes_cbc = 12, esp_aes_gcm_16 = 20 };

// IPsec DOI "Authentication Algorithm" attribute (class 5) values (RFC 2407 §4.5,
// SHA-2: RFC 4868 §2.7 with the §2.3 truncations).
enum class AuthAlgorithmId : uint16_t {
    none = 0,
    hmac_sha1 = 2,
    hmac_sha2_256 = 5,
    hmac_sha2_384 = 6,
    hmac_sha2_512 = 7,
};

struct CipherInfo {
    EspTransformId id;
    std::string_view ike_name;     // as in the IANA registry
    std::string_view kernel_name;  // Linux crypto API name for XFRMA_ALG_CRYPT / _AEAD
    bool aead;
    std::span<const uint16_t> key_bits;  // allowed cipher key sizes (without salt)
    uint16_t salt_bits;   // RFC 4106 §8.1: 4-byte salt appended to the AES key
    uint16_t icv_bits;    // AEAD only: integrity check value
    uint16_t iv_bytes;    // explicit IV carried in each ESP packet
    uint16_t block_bytes; // ESP payload alignment (RFC 4303 §2.4: at least 4)
};

struct AuthInfo {
    AuthAlgorithmId id;
    std::string_view ike_name;
    std::string_view kernel_name;  // for XFRMA_ALG_AUTH_TRUNC
    uint16_t key_bits;
    uint16_t truncation_bits;      // RFC 2404 (96), RFC 4868 (128/192/256)
};

const CipherInfo* find_cipher(EspTransformId id);
const AuthInfo* find_auth(AuthAlgorithmId id);
const CipherInfo* find_cipher_by_kernel_name(std::string_view name);
const AuthInfo* find_auth_by_kernel_name(std::string_view name);
std::span<const CipherInfo> all_ciphers();
std::span<const AuthInfo> all_auths();

// What an SA uses: a cipher (with its key size) and, unless the cipher is an AEAD,
// an authentication algorithm.
struct EspTransform {
    EspTransformId cipher = EspTransformId::esp_aes_gcm_16;
    uint16_t key_bits = 128;  // cipher key size without the GCM salt
    AuthAlgorithmId auth = AuthAlgorithmId::none;

    bool operator==(const EspTransform&) const = default;
};

// Bytes of keying material the kernel needs: cipher key (+ salt for GCM) and
// authentication key. nullopt-free: an invalid transform yields {0, 0}.
struct KeySizes {
    std::size_t encryption_bytes = 0;
    std::size_t integrity_bytes = 0;
};
KeySizes key_sizes(const EspTransform& t);

// Empty when valid, else what is wrong (unknown id, key size, AEAD with an auth
// algorithm, CBC without one).
std::string_view validate(const EspTransform& t);

}  // namespace xfrm
