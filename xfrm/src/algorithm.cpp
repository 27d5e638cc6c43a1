// The algorithm table. Kernel names are the crypto API templates XFRM looks up
// (iproute2 uses the same); sizes from the RFCs cited per row.
#include <array>

#include "xfrm/algorithm.h"

namespace xfrm {
namespace {

constexpr std::array<uint16_t, 3> kAesKeyBits{128, 192, 256};
constexpr std::array<uint16_t, 1> k3desKeyBits{192};

constexpr std::array<CipherInfo, 3> kCiphers{{
    // RFC 4106: 8-byte explicit IV, 16-byte ICV (the "_16" variant), salt 4 bytes.
    {EspTransformId::esp_aes_gcm_16, "ESP_AES_GCM_16", "rfc4106(gcm(aes))", true, kAesKeyBits, 32, 128, 8, 4},
    // RFC 3602: 16-byte IV, AES block 16.
    {EspTransformId::esp_aes_cbc, "ESP_AES_CBC", "cbc(aes)", false, kAesKeyBits, 0, 0, 16, 16},
    // RFC 2451: 8-byte IV, block 8, 3 x 64-bit keys (with parity bits).
    {EspTransformId::esp_3des, "ESP_3DES", "cbc(des3_ede)", false, k3desKeyBits, 0, 0, 8, 8},
}};

constexpr std::array<AuthInfo, 4> kAuths{{
    {AuthAlgorithmId::hmac_sha1, "HMAC-SHA1", "hmac(sha1)", 160, 96},         // RFC 2404
    {AuthAlgorithmId::hmac_sha2_256, "HMAC-SHA2-256", "hmac(sha256)", 256, 128},  // RFC 4868
    {AuthAlgorithmId::hmac_sha2_384, "HMAC-SHA2-384", "hmac(sha384)", 384, 192},
    {AuthAlgorithmId::hmac_sha2_512, "HMAC-SHA2-512", "hmac(sha512)", 512, 256},
}};

}  // namespace

const CipherInfo* find_cipher(EspTransformId id) {
    for (const auto& c : kCiphers)
        if (c.id == id) return &c;
    return nullptr;
}

const AuthInfo* find_auth(AuthAlgorithmId id) {
    for (const auto& a : kAuths)
        if (a.id == id) return &a;
    return nullptr;
}

const CipherInfo* find_cipher_by_kernel_name(std::string_view name) {
    for (const auto& c : kCiphers)
        if (c.kernel_name == name) return &c;
    // The kernel reports 3DES under its alias "des3_ede" when added by that name.
    if (name == "des3_ede") return find_cipher(EspTransformId::esp_3des);
    return nullptr;
}

const AuthInfo* find_auth_by_kernel_name(std::string_view name) {
    for (const auto& a : kAuths)
        if (a.kernel_name == name) return &a;
    return nullptr;
}

std::span<const CipherInfo> all_ciphers() { return kCiphers; }
std::span<const AuthInfo> all_auths() { return kAuths; }

std::string_view validate(const EspTransform& t) {
    const CipherInfo* c = find_cipher(t.cipher);
    if (!c) return "unknown ESP transform id";
    bool size_ok = false;
    for (auto bits : c->key_bits) size_ok |= bits == t.key_bits;
    if (!size_ok) return "key size not allowed for this cipher";
    if (c->aead && t.auth != AuthAlgorithmId::none) return "an AEAD cipher takes no separate authentication algorithm";
    if (!c->aead && !find_auth(t.auth)) return "a CBC cipher needs an authentication algorithm";
    return {};
}

KeySizes key_sizes(const EspTransform& t) {
    if (!validate(t).empty()) return {};
    const CipherInfo* c = find_cipher(t.cipher);
    KeySizes k;
    k.encryption_bytes = (t.key_bits + c->salt_bits) / 8u;
    if (const AuthInfo* a = find_auth(t.auth)) k.integrity_bytes = a->key_bits / 8u;
    return k;
}

}  // namespace xfrm
