// Cryptographic primitives used by the IKEv1/GDOI exchanges (OpenSSL 3 libcrypto
// behind this header): hashes, the HMAC PRF, raw CBC ciphers, Diffie-Hellman
// (MODP and ECP) and randomness. Secret outputs come back as SecureBytes.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>

#include "common/result.h"
#include "gdoi/bytes.h"
#include "gdoi/secure_bytes.h"

namespace gdoi::crypto {

using common::Result;

enum class HashAlg { Sha1, Sha256, Sha384, Sha512 };
inline constexpr size_t kMaxHashSize = 64;  // SHA-512
size_t hash_size(HashAlg alg);
const char* hash_name(HashAlg alg);
Bytes hash(HashAlg alg, std::initializer_list<ByteView> parts);
// HMAC(key, parts...) — the IKEv1 prf (RFC 2409 §5: prf is the HMAC of the negotiated hash).
SecureBytes prf(HashAlg alg, ByteView key, std::initializer_list<ByteView> parts);
SecureBytes prf(HashAlg alg, ByteView key, std::span<const ByteView> parts);
// The same into storage the caller holds: `out` is resized to hash_size(alg) (no allocation
// within its capacity) and must not be the key or one of the parts.
void prf(HashAlg alg, ByteView key, std::initializer_list<ByteView> parts, SecureBytes& out);
// Into exactly hash_size(alg) bytes; `out` may overlap none of the inputs.
void prf(HashAlg alg, ByteView key, std::span<const ByteView> parts, std::span<uint8_t> out);

enum class CipherAlg { Des3Cbc, AesCbc };
struct Cipher {
    CipherAlg alg;
    size_t key_size;  // bytes: 24 for 3DES, 16/24/32 for AES
    size_t block_size() const { return alg == CipherAlg::Des3Cbc ? 8 : 16; }
    bool operator==(const Cipher&) const = default;
};
// Fetches OpenSSL's implementations of this hash, its HMAC and this cipher once for the
// process. The first use of each kind builds OpenSSL's table of them (a tenth of a
// millisecond); an exchange calls this before its first message instead of paying it
// between two. Later calls cost nothing.
void load_algorithms(HashAlg hash, const Cipher& cipher);
// Raw CBC without padding: input must be a multiple of the block size. Decrypted text goes to
// secure memory: GDOI plaintext carries keys (KD payloads).
Result<Bytes> cbc_encrypt(const Cipher& c, ByteView key, ByteView iv, ByteView plaintext);
Result<SecureBytes> cbc_decrypt(const Cipher& c, ByteView key, ByteView iv, ByteView ciphertext);

// Diffie-Hellman groups by IKE group number (RFC 2409 §6, RFC 3526, RFC 5903).
enum class DhGroup : uint16_t {
    Modp1024 = 2,
    Modp1536 = 5,
    Modp2048 = 14,
    Modp3072 = 15,
    Modp4096 = 16,
    Ecp256 = 19,
    Ecp384 = 20,
    Ecp521 = 21,
};
bool is_supported_group(uint16_t number);
// Length of the KE payload's public value for this group (RFC 2409 §5; RFC 5903 §7: x | y).
size_t dh_public_size(DhGroup group);
// Length of g^xy (RFC 2409 §5: the prime's length; RFC 5903 §7: the x coordinate).
size_t dh_shared_secret_size(DhGroup group);

class DhExchange {
public:
    static Result<DhExchange> generate(DhGroup group);
    DhExchange(DhExchange&&) noexcept;
    DhExchange& operator=(DhExchange&&) noexcept;
    ~DhExchange();

    DhGroup group() const;
    const Bytes& public_value() const;
    // g^xy: for MODP padded to the prime's length, for ECP the x coordinate (RFC 5903 §7).
    // Rejects a peer value that is out of range or not on the curve.
    Result<SecureBytes> shared_secret(ByteView peer_public) const;
    // The same into `out` (resized to dh_shared_secret_size(group())).
    common::Status shared_secret(ByteView peer_public, SecureBytes& out) const;

private:
    struct Impl;
    explicit DhExchange(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

Bytes random_bytes(size_t n);
SecureBytes random_secret(size_t n);

}  // namespace gdoi::crypto

namespace gdoi::crypto {

// GCKS signatures over GROUPKEY-PUSH messages (RFC 6407 §4, §5.3: SIG_ALGORITHM
// RSA = 1, ECDSA-256/384/521 = 4/5/6). The public key is a DER SubjectPublicKeyInfo.
enum class SigAlgorithm : uint16_t { Rsa = 1, EcdsaP256 = 4, EcdsaP384 = 5, EcdsaP521 = 6 };
// RSA: PKCS#1 v1.5; both the IKEv1 style (raw hash, no DigestInfo) and DigestInfo
// are accepted. ECDSA: r|s of fixed width (RFC 4754) or DER.
bool verify_signature(SigAlgorithm alg, ByteView public_key_der, HashAlg hash, ByteView data,
                      ByteView signature);

// A private signing key (PEM or DER PKCS#8) for the test key server.
class SigningKey {
public:
    static Result<SigningKey> generate(SigAlgorithm alg);
    SigningKey(SigningKey&&) noexcept;
    SigningKey& operator=(SigningKey&&) noexcept;
    ~SigningKey();
    SigAlgorithm algorithm() const;
    Bytes public_key_der() const;
    unsigned key_bits() const;
    // RSA: PKCS#1 v1.5 with DigestInfo (without it when !digest_info: the bare hash, as some
    // key servers sign pushes); ECDSA: r|s fixed width.
    Result<Bytes> sign(HashAlg hash, ByteView data, bool digest_info = true) const;

private:
    struct Impl;
    explicit SigningKey(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace gdoi::crypto
