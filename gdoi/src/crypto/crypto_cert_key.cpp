// Private keys from memory and the IKEv1 SIG payload formats (RFC 2409 §5.1, RFC 4754 §7).
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "crypto_x509.h"

namespace gdoi::crypto {
namespace {

// r and s each the curve's order size (RFC 4754 §7): 32, 48, and 66 bytes for P-521 (521 bits).
size_t ecdsa_half(SigAuthMethod m) {
    return m == SigAuthMethod::EcdsaP256 ? 32 : m == SigAuthMethod::EcdsaP384 ? 48 : 66;
}

}  // namespace

struct PrivateKey::Impl {
    Pkey key;
};

PrivateKey::PrivateKey(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PrivateKey::PrivateKey(PrivateKey&&) noexcept = default;
PrivateKey& PrivateKey::operator=(PrivateKey&&) noexcept = default;
PrivateKey::~PrivateKey() = default;

common::Result<PrivateKey> PrivateKey::parse(const SecureBytes& data) {
    auto impl = std::make_unique<Impl>();
    if (is_pem(data.view())) {
        // The BIO reads the caller's secure buffer in place; a passphrase callback that gives
        // none refuses encrypted keys instead of prompting on a terminal.
        Bio b = memory_bio(data.view());
        impl->key.reset(b ? PEM_read_bio_PrivateKey(b.get(), nullptr, no_passphrase, nullptr) : nullptr);
    } else {
        const unsigned char* p = data.data();
        impl->key.reset(d2i_AutoPrivateKey(nullptr, &p, static_cast<long>(data.size())));
    }
    ERR_clear_error();
    if (!impl->key)
        return common::make_error(
            "not a private key (PEM or DER; PKCS#8, PKCS#1 or SEC1; encrypted keys are not supported)");
    if (!method_of(impl->key.get()))
        return common::make_error("private key is neither RSA nor ECDSA on P-256/P-384/P-521");
    return PrivateKey(std::move(impl));
}

bool PrivateKey::matches(const Certificate& cert) const {
    return EVP_PKEY_eq(impl_->key.get(), X509_get0_pubkey(cert.impl().x509.get())) == 1;
}

std::optional<SigAuthMethod> PrivateKey::key_method() const { return method_of(impl_->key.get()); }

common::Result<Bytes> PrivateKey::sign_hash(SigAuthMethod method, ByteView hash) const {
    if (method_of(impl_->key.get()) != method)
        return common::make_error(std::string("the private key cannot sign for ") +
                                  sig_auth_method_name(method));
    PkeyCtx ctx(EVP_PKEY_CTX_new(impl_->key.get(), nullptr));
    if (!ctx || EVP_PKEY_sign_init(ctx.get()) != 1) return common::make_error("signature init failed");
    // No signature md: RSA pads the bare hash (PKCS#1 type 1, no DigestInfo); ECDSA takes the
    // hash as the digest it signs.
    if (method == SigAuthMethod::Rsa && EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) != 1)
        return common::make_error("RSA padding setup failed");
    size_t len = 0;
    if (EVP_PKEY_sign(ctx.get(), nullptr, &len, hash.data(), hash.size()) != 1)
        return common::make_error("signing failed");
    Bytes sig(len);
    if (EVP_PKEY_sign(ctx.get(), sig.data(), &len, hash.data(), hash.size()) != 1) {
        ERR_clear_error();
        return common::make_error("signing failed");
    }
    sig.resize(len);
    if (method == SigAuthMethod::Rsa) return sig;
    Bytes raw = ecdsa_raw_from_der(sig, ecdsa_half(method));
    if (raw.empty()) return common::make_error("ECDSA signature conversion failed");
    return raw;
}

bool verify_hash_signature(SigAuthMethod method, const Certificate& cert, ByteView hash, ByteView signature) {
    EVP_PKEY* key = X509_get0_pubkey(cert.impl().x509.get());
    if (method_of(key) != method || signature.empty()) return false;
    bool ok = false;
    if (method == SigAuthMethod::Rsa) {
        ok = verify_digest(key, nullptr, hash, signature);
    } else if (signature.size() == 2 * ecdsa_half(method)) {  // RFC 4754 §7: fixed-width r||s
        const Bytes der = ecdsa_der_from_raw(signature);
        ok = !der.empty() && verify_digest(key, nullptr, hash, der);
    }
    ERR_clear_error();
    return ok;
}

}  // namespace gdoi::crypto
