// Trust in a peer's certificate: OpenSSL's X509_STORE with our CAs and CRLs, and the
// keyUsage a signing certificate needs (RFC 4945 §5.1.3.2).
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include "crypto_x509.h"
#include "gdoi/private_file.h"

namespace gdoi::crypto {
namespace {

constexpr size_t kMaxCredentialFile = 1 << 20;  // a CA bundle or CRL; far above real ones

std::string time_text(const ASN1_TIME* t) {
    Bio b(BIO_new(BIO_s_mem()));
    if (!b || ASN1_TIME_print(b.get(), t) != 1) return "?";
    return bio_text(b.get());
}

// A trust anchor or CRL: a regular file (never a FIFO or device: the configuration's load would
// hang on it), not a symbolic link, owned by root or the daemon's user and writable by its owner
// only (anyone who can write it decides whom the member trusts), at most 1 MiB.
common::Result<Bytes> read_public_file(const std::string& path, const char* what) {
    const std::string rule = std::string("the ") + what;
    auto file = read_private_file(path, {rule, kMaxCredentialFile, S_IWGRP | S_IWOTH});
    if (!file) return file.error();
    if (file->content.empty()) return common::make_error(std::string(what) + " " + path + " is empty");
    const auto view = file->content.view();
    return Bytes(view.begin(), view.end());
}

}  // namespace

struct TrustStore::Impl {
    OsslPtr<X509_STORE, X509_STORE_free> store;
    std::vector<Bytes> subjects;
    Bytes fingerprint;
    size_t crls = 0;
};

TrustStore::TrustStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TrustStore::TrustStore(TrustStore&&) noexcept = default;
TrustStore& TrustStore::operator=(TrustStore&&) noexcept = default;
TrustStore::~TrustStore() = default;
const std::vector<Bytes>& TrustStore::ca_subjects() const { return impl_->subjects; }
const Bytes& TrustStore::fingerprint() const { return impl_->fingerprint; }
size_t TrustStore::crl_count() const { return impl_->crls; }

common::Result<TrustStore> TrustStore::from_memory(const std::vector<Bytes>& ca_certs,
                                                   const std::vector<Bytes>& crls) {
    auto impl = std::make_unique<Impl>();
    impl->store.reset(X509_STORE_new());
    if (!impl->store) return common::make_error("X509_STORE_new failed");
    for (const auto& text : ca_certs) {
        size_t before = impl->subjects.size();
        Bio b = memory_bio(text);
        while (b) {  // every certificate of a PEM bundle, or one DER certificate
            X509Ptr x(is_pem(text) ? PEM_read_bio_X509(b.get(), nullptr, no_passphrase, nullptr)
                                   : d2i_X509_bio(b.get(), nullptr));
            if (!x) break;
            X509_STORE_add_cert(impl->store.get(), x.get());
            impl->subjects.push_back(name_der(X509_get_subject_name(x.get())));
            if (!is_pem(text)) break;
        }
        ERR_clear_error();
        if (impl->subjects.size() == before) return common::make_error("holds no X.509 certificate");
    }
    for (const auto& text : crls) {
        Bio b = memory_bio(text);
        size_t found = 0;
        while (b) {
            OsslPtr<X509_CRL, X509_CRL_free> crl(
                is_pem(text) ? PEM_read_bio_X509_CRL(b.get(), nullptr, no_passphrase, nullptr)
                             : d2i_X509_CRL_bio(b.get(), nullptr));
            if (!crl) break;
            X509_STORE_add_crl(impl->store.get(), crl.get());
            ++found;
            if (!is_pem(text)) break;
        }
        ERR_clear_error();
        if (found == 0) return common::make_error("holds no X.509 CRL");
        impl->crls += found;
    }
    // Each text with its length ahead of it: no two different file sets hash alike.
    Bytes all;
    for (const auto* texts : {&ca_certs, &crls})
        for (const auto& text : *texts) {
            const uint64_t n = text.size();
            for (int i = 7; i >= 0; --i) all.push_back(static_cast<uint8_t>(n >> (8 * i)));
            all.insert(all.end(), text.begin(), text.end());
        }
    impl->fingerprint = hash(HashAlg::Sha256, {all});
    // CRL_CHECK + CRL_CHECK_ALL: the peer's certificate and every intermediate CA of its chain
    // must be covered by a current CRL of its issuer (a revoked intermediate is refused too).
    if (impl->crls)
        X509_STORE_set_flags(impl->store.get(), X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
    return TrustStore(std::move(impl));
}

common::Result<TrustStore> TrustStore::load(const std::string& ca_file,
                                            const std::vector<std::string>& crl_files) {
    auto ca = read_public_file(ca_file, "CA file");
    if (!ca) return ca.error();
    std::vector<Bytes> crls;
    for (const auto& path : crl_files) {
        auto crl = read_public_file(path, "CRL file");
        if (!crl) return crl.error();
        auto one = from_memory({}, {*crl});
        if (!one) return common::make_error("CRL file " + path + " " + one.error().message);
        crls.push_back(std::move(*crl));
    }
    auto store = from_memory({*ca}, crls);
    if (!store) return common::make_error("CA file " + ca_file + " " + store.error().message);
    return store;
}

common::Status TrustStore::verify(const Certificate& cert, const std::vector<Certificate>& intermediates,
                                  const std::string& peer) const {
    X509* x = cert.impl().x509.get();
    OsslPtr<STACK_OF(X509), free_x509_stack> chain(sk_X509_new_null());
    for (const auto& c : intermediates) sk_X509_push(chain.get(), c.impl().x509.get());
    OsslPtr<X509_STORE_CTX, X509_STORE_CTX_free> ctx(X509_STORE_CTX_new());
    if (!chain || !ctx || X509_STORE_CTX_init(ctx.get(), impl_->store.get(), x, chain.get()) != 1)
        return common::make_error("certificate check could not start (out of memory)");
    const std::string who = peer + "'s certificate '" + cert.subject() + "' (issuer '" + cert.issuer() + "')";
    if (X509_verify_cert(ctx.get()) != 1) {
        const int err = X509_STORE_CTX_get_error(ctx.get());
        ERR_clear_error();
        std::string what = X509_verify_cert_error_string(err);
        switch (err) {
            case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
            case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
            case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
            case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
                what = "is not issued by a CA of our CA file: check that the CA file holds " + peer + "'s CA";
                break;
            case X509_V_ERR_CERT_HAS_EXPIRED:
                what = "expired on " + time_text(X509_get0_notAfter(x)) + ": " + peer +
                       " needs a new certificate (or check this host's clock)";
                break;
            case X509_V_ERR_CERT_NOT_YET_VALID:
                what =
                    "is not valid before " + time_text(X509_get0_notBefore(x)) + ": check this host's clock";
                break;
            case X509_V_ERR_CERT_REVOKED:
                what = "is revoked by its CA's CRL: " + peer + " must use a new certificate";
                break;
            case X509_V_ERR_UNABLE_TO_GET_CRL:
                what = "has no CRL of its issuer among the CRL files: add the issuer's current CRL";
                break;
            case X509_V_ERR_CRL_HAS_EXPIRED:
                what = "is checked against an outdated CRL (past its nextUpdate): fetch the CA's current CRL";
                break;
            default:
                what = "does not verify: " + what;
        }
        return common::make_error(who + " " + what);
    }
    // RFC 4945 §5.1.3.2: with a keyUsage extension, digitalSignature or nonRepudiation must be set
    // (strongSwan: X509_IKE_COMPLIANT, checked in pubkey_v1_authenticator.c).
    const uint32_t usage = X509_get_key_usage(x);
    if (usage != UINT32_MAX && !(usage & (KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION)))
        return common::make_error(who +
                                  " has a keyUsage extension without digitalSignature: it may not sign IKE "
                                  "exchanges; " +
                                  peer + " needs a certificate with digitalSignature");
    return {};
}

}  // namespace gdoi::crypto
