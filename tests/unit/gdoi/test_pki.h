// A small PKI made at test run time with OpenSSL's own APIs (keys, CA, leaf certificates,
// CRLs): the certificate and signature tests never use fixed results of the code under test.
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "gdoi/bytes.h"
#include "gdoi/secure_bytes.h"

namespace gdoi::test {

struct PkeyDel {
    void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct X509Del {
    void operator()(X509* x) const { X509_free(x); }
};
using TestKey = std::shared_ptr<EVP_PKEY>;
using TestX509 = std::shared_ptr<X509>;

// "RSA-2048", "RSA-3072", "P-256", "P-384"
inline TestKey make_key(const std::string& type) {
    EVP_PKEY* k = type == "RSA-2048"   ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048})
                  : type == "RSA-3072" ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{3072})
                                       : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", type.c_str());
    REQUIRE(k != nullptr);
    return TestKey(k, PkeyDel{});
}

struct CertSpec {
    std::string cn = "gcks.test";
    std::string alt_names = "DNS:gcks.test, IP:192.0.2.10";  // "" for none
    std::string key_usage = "critical, digitalSignature";    // "" for no keyUsage extension
    long not_before = -3600;                                 // seconds from now
    long not_after = 30L * 86400;
    long serial = 1;
    bool ca = false;
    bool authority_key_id = true;  // false: a certificate X509_STRICT refuses (RFC 5280 §4.2.1.1)
};

struct Issued {
    TestX509 x509;
    Bytes der;
    TestKey key;
};

inline void add_ext(X509* x, X509* issuer, int nid, const std::string& value) {
    if (value.empty()) return;
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, x, nullptr, nullptr, 0);
    X509_EXTENSION* e = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    REQUIRE(e != nullptr);
    X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
}

inline Bytes der_of(X509* x) {
    int len = i2d_X509(x, nullptr);
    Bytes out(static_cast<size_t>(len));
    unsigned char* p = out.data();
    i2d_X509(x, &p);
    return out;
}

// A certificate for `key`, issued by `issuer` (self-signed when issuer is null).
inline Issued issue(const TestKey& key, const CertSpec& spec, const Issued* issuer = nullptr) {
    TestX509 x(X509_new(), X509Del{});
    X509_set_version(x.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x.get()), spec.serial);
    X509_gmtime_adj(X509_getm_notBefore(x.get()), spec.not_before);
    X509_gmtime_adj(X509_getm_notAfter(x.get()), spec.not_after);
    X509_set_pubkey(x.get(), key.get());
    X509_NAME* name = X509_get_subject_name(x.get());
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("gdoi-test"),
                               -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(spec.cn.c_str()), -1, -1, 0);
    X509* issuer_x = issuer ? issuer->x509.get() : x.get();
    X509_set_issuer_name(x.get(), X509_get_subject_name(issuer_x));
    add_ext(x.get(), issuer_x, NID_basic_constraints, spec.ca ? "critical, CA:true" : "CA:false");
    add_ext(x.get(), issuer_x, NID_key_usage, spec.ca ? "critical, keyCertSign, cRLSign" : spec.key_usage);
    add_ext(x.get(), issuer_x, NID_subject_alt_name, spec.alt_names);
    // RFC 5280 §4.2.1.2 / §4.2.1.1: what X509_V_FLAG_X509_STRICT asks of CAs and issued certificates.
    add_ext(x.get(), issuer_x, NID_subject_key_identifier, "hash");
    if (issuer && spec.authority_key_id)
        add_ext(x.get(), issuer_x, NID_authority_key_identifier, "keyid:always");
    REQUIRE(X509_sign(x.get(), issuer ? issuer->key.get() : key.get(), EVP_sha256()) > 0);
    return Issued{x, der_of(x.get()), key};
}

inline Issued make_ca(const std::string& cn = "test CA") {
    CertSpec spec;
    spec.cn = cn;
    spec.alt_names = "";
    spec.ca = true;
    return issue(make_key("P-256"), spec);
}

// The PEM text of a certificate (files that hold several: `cat leaf.pem intermediate.pem`).
inline std::string pem_of(const Issued& cert) {
    BIO* b = BIO_new(BIO_s_mem());
    REQUIRE(PEM_write_bio_X509(b, cert.x509.get()) == 1);
    char* p = nullptr;
    const long n = BIO_get_mem_data(b, &p);
    std::string out(p, static_cast<size_t>(n));
    BIO_free(b);
    return out;
}

// A DER CRL of `ca` listing the serials.
inline Bytes make_crl(const Issued& ca, const std::vector<long>& revoked) {
    X509_CRL* crl = X509_CRL_new();
    X509_CRL_set_version(crl, 1);
    X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca.x509.get()));
    ASN1_TIME* t = X509_gmtime_adj(nullptr, -60);
    X509_CRL_set1_lastUpdate(crl, t);
    X509_gmtime_adj(t, 86400);
    X509_CRL_set1_nextUpdate(crl, t);
    ASN1_TIME_free(t);
    for (long serial : revoked) {
        X509_REVOKED* r = X509_REVOKED_new();
        ASN1_INTEGER* s = ASN1_INTEGER_new();
        ASN1_INTEGER_set(s, serial);
        X509_REVOKED_set_serialNumber(r, s);
        ASN1_TIME* when = X509_gmtime_adj(nullptr, -30);
        X509_REVOKED_set_revocationDate(r, when);
        X509_CRL_add0_revoked(crl, r);
        ASN1_INTEGER_free(s);
        ASN1_TIME_free(when);
    }
    X509_CRL_sort(crl);
    REQUIRE(X509_CRL_sign(crl, ca.key.get(), EVP_sha256()) > 0);
    int len = i2d_X509_CRL(crl, nullptr);
    Bytes out(static_cast<size_t>(len));
    unsigned char* p = out.data();
    i2d_X509_CRL(crl, &p);
    X509_CRL_free(crl);
    return out;
}

// The key as PKCS#8 PEM (pem) or DER, in secure memory like a key file's content.
inline SecureBytes key_text(const TestKey& key, bool pem = true) {
    BIO* b = BIO_new(BIO_s_mem());
    if (pem)
        PEM_write_bio_PrivateKey(b, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
    else
        i2d_PrivateKey_bio(b, key.get());
    char* p = nullptr;
    long n = BIO_get_mem_data(b, &p);
    SecureBytes out(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(p), static_cast<size_t>(n)));
    BIO_free(b);
    return out;
}

}  // namespace gdoi::test
