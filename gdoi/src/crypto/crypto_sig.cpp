// Signatures for GROUPKEY-PUSH (RFC 6407 §4): RSA PKCS#1 v1.5 and ECDSA (RFC 4754 r|s).
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <algorithm>
#include <memory>

#include "crypto_md.h"
#include "crypto_pkey.h"
#include "gdoi/crypto.h"

namespace gdoi::crypto {
namespace {

size_t ecdsa_half(SigAlgorithm alg) {
    switch (alg) {
        case SigAlgorithm::EcdsaP256:
            return 32;
        case SigAlgorithm::EcdsaP384:
            return 48;
        case SigAlgorithm::EcdsaP521:
            return 66;
        default:
            return 0;
    }
}

// The key server's public key, decoded once for the pushes that follow: d2i_PUBKEY runs OpenSSL
// 3's decoder machinery, about 0.5 ms natively, two thirds of a push's decryption and check (an
// RSA-2048 check is 0.1 ms; bench/vm.sh times a push). A member checks every push of a KEK with
// the same key; a new key replaces the one kept (one per thread). Keyed by the DER octets: the
// same octets are the same key.
EVP_PKEY* decoded_public_key(ByteView der) {
    thread_local Bytes kept_der;
    thread_local Pkey kept;
    if (kept && std::equal(der.begin(), der.end(), kept_der.begin(), kept_der.end())) return kept.get();
    const unsigned char* p = der.data();
    Pkey key(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
    if (!key) return nullptr;
    kept = std::move(key);
    kept_der.assign(der.begin(), der.end());
    return kept.get();
}

}  // namespace

// PKCS#1 v1.5 verification of a digest, with or without the DigestInfo wrapper.
bool verify_digest(EVP_PKEY* key, const EVP_MD* md, ByteView digest, ByteView sig) {
    PkeyCtx ctx(EVP_PKEY_CTX_new(key, nullptr));
    if (!ctx || EVP_PKEY_verify_init(ctx.get()) != 1) return false;
    if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA) EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING);
    if (md != nullptr && EVP_PKEY_CTX_set_signature_md(ctx.get(), md) != 1) return false;
    return EVP_PKEY_verify(ctx.get(), sig.data(), sig.size(), digest.data(), digest.size()) == 1;
}

// r|s (RFC 4754) → DER ECDSA-Sig-Value.
Bytes ecdsa_der_from_raw(ByteView raw) {
    size_t half = raw.size() / 2;
    ECDSA_SIG* s = ECDSA_SIG_new();
    BIGNUM* r = BN_bin2bn(raw.data(), static_cast<int>(half), nullptr);
    BIGNUM* ss = BN_bin2bn(raw.data() + half, static_cast<int>(half), nullptr);
    Bytes out;
    if (s && r && ss && ECDSA_SIG_set0(s, r, ss) == 1) {
        r = ss = nullptr;
        int len = i2d_ECDSA_SIG(s, nullptr);
        if (len > 0) {
            out.resize(static_cast<size_t>(len));
            unsigned char* p = out.data();
            i2d_ECDSA_SIG(s, &p);
        }
    }
    BN_free(r);
    BN_free(ss);
    ECDSA_SIG_free(s);
    return out;
}

bool verify_signature(SigAlgorithm alg, ByteView public_key_der, HashAlg hash, ByteView data,
                      ByteView signature) {
    EVP_PKEY* key = decoded_public_key(public_key_der);
    if (!key) return false;
    Bytes digest = crypto::hash(hash, {data});
    if (alg == SigAlgorithm::Rsa) {
        if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) return false;
        // PKCS#1 v1.5 with DigestInfo first (RFC 8017 §8.2), the IKEv1 style second.
        return verify_digest(key, evp_md(hash), digest, signature) ||
               verify_digest(key, nullptr, digest, signature);
    }
    if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) return false;
    if (signature.size() == 2 * ecdsa_half(alg)) {
        Bytes der = ecdsa_der_from_raw(signature);
        if (!der.empty() && verify_digest(key, nullptr, digest, der)) return true;
    }
    return verify_digest(key, nullptr, digest, signature);
}

struct SigningKey::Impl {
    SigAlgorithm alg;
    Pkey key;
};

SigningKey::SigningKey(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SigningKey::SigningKey(SigningKey&&) noexcept = default;
SigningKey& SigningKey::operator=(SigningKey&&) noexcept = default;
SigningKey::~SigningKey() = default;
SigAlgorithm SigningKey::algorithm() const { return impl_->alg; }
unsigned SigningKey::key_bits() const { return static_cast<unsigned>(EVP_PKEY_get_bits(impl_->key.get())); }

Result<SigningKey> SigningKey::generate(SigAlgorithm alg) {
    auto impl = std::make_unique<Impl>();
    impl->alg = alg;
    const char* curve = alg == SigAlgorithm::EcdsaP256   ? "P-256"
                        : alg == SigAlgorithm::EcdsaP384 ? "P-384"
                                                         : "P-521";
    impl->key.reset(alg == SigAlgorithm::Rsa ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048})
                                             : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve));
    if (!impl->key) return common::make_error("signing key generation failed");
    return SigningKey(std::move(impl));
}

Bytes SigningKey::public_key_der() const {
    int len = i2d_PUBKEY(impl_->key.get(), nullptr);
    Bytes out(static_cast<size_t>(std::max(len, 0)));
    unsigned char* p = out.data();
    if (len > 0) i2d_PUBKEY(impl_->key.get(), &p);
    return out;
}

Result<Bytes> SigningKey::sign(HashAlg hash, ByteView data, bool digest_info) const {
    Bytes digest = crypto::hash(hash, {data});
    PkeyCtx ctx(EVP_PKEY_CTX_new(impl_->key.get(), nullptr));
    if (!ctx || EVP_PKEY_sign_init(ctx.get()) != 1) return common::make_error("sign init failed");
    if (impl_->alg == SigAlgorithm::Rsa) EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING);
    const bool bare = impl_->alg == SigAlgorithm::Rsa && !digest_info;  // no md: PKCS#1 over the bare digest
    if (!bare && EVP_PKEY_CTX_set_signature_md(ctx.get(), evp_md(hash)) != 1)
        return common::make_error("sign md failed");
    size_t len = 0;
    if (EVP_PKEY_sign(ctx.get(), nullptr, &len, digest.data(), digest.size()) != 1)
        return common::make_error("sign failed");
    Bytes sig(len);
    if (EVP_PKEY_sign(ctx.get(), sig.data(), &len, digest.data(), digest.size()) != 1)
        return common::make_error("sign failed");
    sig.resize(len);
    if (impl_->alg == SigAlgorithm::Rsa) return sig;
    // DER → r|s of fixed width (RFC 4754).
    Bytes raw = ecdsa_raw_from_der(sig, ecdsa_half(impl_->alg));
    if (raw.empty()) return common::make_error("ECDSA signature decode failed");
    return raw;
}

Bytes ecdsa_raw_from_der(ByteView der, size_t half) {
    const unsigned char* p = der.data();
    ECDSA_SIG* s = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
    if (!s) return {};
    Bytes raw(2 * half);
    const bool fits = BN_bn2binpad(ECDSA_SIG_get0_r(s), raw.data(), static_cast<int>(half)) >= 0 &&
                      BN_bn2binpad(ECDSA_SIG_get0_s(s), raw.data() + half, static_cast<int>(half)) >= 0;
    ECDSA_SIG_free(s);
    return fits ? raw : Bytes{};
}

}  // namespace gdoi::crypto
