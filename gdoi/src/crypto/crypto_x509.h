// gdoi/src private: the OpenSSL X.509 side shared by crypto_cert.cpp (certificates,
// identities), crypto_cert_key.cpp (private keys, IKEv1 signatures) and crypto_trust.cpp
// (X509_STORE): owning pointers, PEM detection, name printing, key types.
#pragma once

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "crypto_pkey.h"
#include "gdoi/cert.h"

namespace gdoi::crypto {

using X509Ptr = OsslPtr<X509, X509_free>;
using X509NamePtr = OsslPtr<X509_NAME, X509_NAME_free>;
using Bio = OsslPtr<BIO, BIO_free>;
// sk_X509_free is a macro: a function to name. The stack does not own the certificates.
inline void free_x509_stack(STACK_OF(X509) * s) { sk_X509_free(s); }

// The passphrase callback of every PEM read: gives none, so an encrypted PEM block is refused
// instead of prompting on the terminal (OpenSSL's default callback would block the daemon).
inline int no_passphrase(char*, int, int, void*) { return 0; }

inline bool is_pem(ByteView data) {
    static constexpr char kBegin[] = "-----BEGIN";
    return std::search(data.begin(), data.end(), kBegin, kBegin + sizeof kBegin - 1) != data.end();
}

inline Bio memory_bio(ByteView data) {
    return Bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

inline std::string bio_text(BIO* b) {
    char* p = nullptr;
    long n = BIO_get_mem_data(b, &p);
    return n > 0 ? std::string(p, static_cast<size_t>(n)) : std::string();
}

// A name for a log or error line, at most kMaxNameText bytes and "…": a certificate from the
// network may carry a subject of kilobytes.
constexpr size_t kMaxNameText = 256;
inline std::string bounded_text(std::string text) {
    if (text.size() <= kMaxNameText) return text;
    text.resize(kMaxNameText);
    return text + "\u2026";
}

inline std::string name_text(const X509_NAME* name) {
    Bio b(BIO_new(BIO_s_mem()));
    if (!b || X509_NAME_print_ex(b.get(), name, 0, XN_FLAG_RFC2253) < 0) return "?";
    return bounded_text(bio_text(b.get()));
}

// A DER Name (ID_DER_ASN1_DN data) with nothing after it, or null.
inline X509NamePtr decode_name(ByteView der) {
    const unsigned char* p = der.data();
    X509NamePtr name(d2i_X509_NAME(nullptr, &p, static_cast<long>(der.size())));
    ERR_clear_error();
    if (name && p != der.data() + der.size()) name.reset();
    return name;
}

// Every object of a PEM text (a bundle, a chain), or the one object of a DER text; an
// encrypted PEM block is refused (no_passphrase), never asked for. Empty: none found.
template <typename T, auto Free, auto PemRead, auto DerRead>
std::vector<OsslPtr<T, Free>> read_pem_or_der(ByteView text) {
    std::vector<OsslPtr<T, Free>> out;
    const bool pem = is_pem(text);
    Bio b = memory_bio(text);
    while (b) {
        OsslPtr<T, Free> x(pem ? PemRead(b.get(), nullptr, no_passphrase, nullptr)
                               : DerRead(b.get(), nullptr));
        if (!x) break;
        out.push_back(std::move(x));
        if (!pem) break;
    }
    ERR_clear_error();
    return out;
}

inline std::vector<X509Ptr> read_certificates(ByteView text) {
    return read_pem_or_der<X509, X509_free, PEM_read_bio_X509, d2i_X509_bio>(text);
}

inline Bytes name_der(const X509_NAME* name) {
    const int len = i2d_X509_NAME(name, nullptr);
    Bytes out(static_cast<size_t>(std::max(len, 0)));
    unsigned char* p = out.data();
    if (len > 0) i2d_X509_NAME(name, &p);
    return out;
}

inline std::optional<SigAuthMethod> method_of(EVP_PKEY* key) {
    if (key == nullptr) return std::nullopt;
    if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA) return SigAuthMethod::Rsa;
    if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) return std::nullopt;
    char group[64] = {};
    if (EVP_PKEY_get_group_name(key, group, sizeof group, nullptr) != 1) return std::nullopt;
    const std::string g = group;
    if (g == "prime256v1" || g == "P-256") return SigAuthMethod::EcdsaP256;
    if (g == "secp384r1" || g == "P-384") return SigAuthMethod::EcdsaP384;
    if (g == "secp521r1" || g == "P-521") return SigAuthMethod::EcdsaP521;
    return std::nullopt;
}

struct Certificate::Impl {
    X509Ptr x509;
    Bytes der;
};

}  // namespace gdoi::crypto
