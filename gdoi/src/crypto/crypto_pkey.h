// gdoi/src private: owning pointers for OpenSSL objects, and the signature helpers shared by the
// GROUPKEY-PUSH signatures (crypto_sig.cpp) and the phase-1 certificate signatures (crypto_cert.cpp).
#pragma once

#include <openssl/evp.h>

#include <memory>

#include "gdoi/bytes.h"

namespace gdoi::crypto {

// An OpenSSL object owned by a unique_ptr that frees it with its own function:
// OsslPtr<X509, X509_free>.
template <typename T, auto Free>
struct OsslFree {
    void operator()(T* p) const { Free(p); }
};
template <typename T, auto Free>
using OsslPtr = std::unique_ptr<T, OsslFree<T, Free>>;
using Pkey = OsslPtr<EVP_PKEY, EVP_PKEY_free>;
using PkeyCtx = OsslPtr<EVP_PKEY_CTX, EVP_PKEY_CTX_free>;

// PKCS#1 v1.5 (RSA) or ECDSA (DER signature) verification of a digest; md == nullptr: the
// digest is taken as it is (RSA: no DigestInfo).
bool verify_digest(EVP_PKEY* key, const EVP_MD* md, ByteView digest, ByteView sig);
// r|s (RFC 4754) → DER ECDSA-Sig-Value; empty on failure.
Bytes ecdsa_der_from_raw(ByteView raw);
// DER ECDSA-Sig-Value → r|s, each `half` bytes (RFC 4754 §7); empty on failure.
Bytes ecdsa_raw_from_der(ByteView der, size_t half);

}  // namespace gdoi::crypto
