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
constexpr size_t kMaxCaFiles = 256;             // files of a CA directory

std::string time_text(const ASN1_TIME* t) {
    Bio b(BIO_new(BIO_s_mem()));
    if (!b || ASN1_TIME_print(b.get(), t) != 1) return "?";
    return bio_text(b.get());
}

common::Result<Bytes> public_file_bytes(common::Result<PrivateFile> file, const std::string& path,
                                        const char* what) {
    if (!file) return file.error();
    if (file->content.empty()) return common::make_error(std::string(what) + " " + path + " is empty");
    const auto view = file->content.view();
    return Bytes(view.begin(), view.end());
}

// `what` must outlive the rules (a literal, or a string of the caller's).
PrivateFileRules public_file_rules(std::string_view what) {
    return {what, kMaxCredentialFile, S_IWGRP | S_IWOTH};
}

// A trust anchor or CRL: a regular file (never a FIFO or device: the configuration's load would
// hang on it), not a symbolic link, owned by root or the daemon's user and writable by its owner
// only (anyone who can write it decides whom the member trusts), at most 1 MiB.
common::Result<Bytes> read_public_file(const std::string& path, const char* what) {
    const std::string rule = std::string("the ") + what;
    return public_file_bytes(read_private_file(path, public_file_rules(rule)), path, what);
}

}  // namespace

struct TrustStore::Impl {
    OsslPtr<X509_STORE, X509_STORE_free> store;
    std::vector<Bytes> subjects;
    Bytes fingerprint;
    size_t crls = 0;
    std::vector<Bytes> texts;  // every CA text, then every CRL text: what the fingerprint covers
};

namespace {

// Every certificate of one CA text (PEM: all of them; DER: one), each a CA's: a leaf among the
// trust anchors would let its holder's certificate verify as trusted.
common::Status add_cas(TrustStore::Impl& impl, ByteView text) {
    auto found = read_certificates(text);
    if (found.empty()) return common::make_error("holds no X.509 certificate");
    for (const auto& x : found) {
        // 1: basicConstraints CA:TRUE. Not 3 (a v1 self-signed certificate, an end entity's as
        // much as a root's) nor 4 (keyCertSign without basicConstraints).
        if (X509_check_ca(x.get()) != 1)
            return common::make_error(
                "holds certificate '" + name_text(X509_get_subject_name(x.get())) +
                "', which is not a CA certificate (no basicConstraints CA:TRUE); the CA "
                "file must hold the CAs that issue the key servers' certificates");
        X509_STORE_add_cert(impl.store.get(), x.get());
        impl.subjects.push_back(name_der(X509_get_subject_name(x.get())));
    }
    impl.texts.emplace_back(text.begin(), text.end());
    return {};
}

common::Status add_crls(TrustStore::Impl& impl, ByteView text) {
    const auto found =
        read_pem_or_der<X509_CRL, X509_CRL_free, PEM_read_bio_X509_CRL, d2i_X509_CRL_bio>(text);
    if (found.empty()) return common::make_error("holds no X.509 CRL");
    for (const auto& crl : found) X509_STORE_add_crl(impl.store.get(), crl.get());
    impl.crls += found.size();
    impl.texts.emplace_back(text.begin(), text.end());
    return {};
}

std::unique_ptr<TrustStore::Impl> new_store() {
    auto impl = std::make_unique<TrustStore::Impl>();
    impl->store.reset(X509_STORE_new());
    return impl->store ? std::move(impl) : nullptr;
}

// The fingerprint and the verification flags, once every CA and CRL is in.
void finish(TrustStore::Impl& impl) {
    // Each text with its length ahead of it: no two different file sets hash alike.
    Bytes all;
    for (const auto& text : impl.texts) {
        const uint64_t n = text.size();
        for (int i = 7; i >= 0; --i) all.push_back(static_cast<uint8_t>(n >> (8 * i)));
        all.insert(all.end(), text.begin(), text.end());
    }
    impl.fingerprint = hash(HashAlg::Sha256, {all});
    impl.texts.clear();
    // X509_STRICT: RFC 5280 profile checks on every certificate of the chain (a CA's
    // basicConstraints critical and keyUsage present, AKID/SKID present, no empty issuer, ...).
    unsigned long flags = X509_V_FLAG_X509_STRICT;
    // CRL_CHECK + CRL_CHECK_ALL: the peer's certificate and every intermediate CA of its chain
    // must be covered by a current CRL of its issuer (a revoked intermediate is refused too).
    if (impl.crls) flags |= X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL;
    X509_STORE_set_flags(impl.store.get(), flags);
}

// The CA texts of `path`: the file, or every regular file of it when it is a directory (sorted
// by name; symbolic links skipped: c_rehash's hash links point at files of the same directory),
// each read relative to the directory as it was listed. Each text with the path that names it.
common::Result<std::vector<std::pair<std::string, Bytes>>> read_ca_texts(const std::string& path) {
    std::vector<std::pair<std::string, Bytes>> out;
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
        auto text = read_public_file(path, "CA file");
        if (!text) return text.error();
        out.emplace_back(path, std::move(*text));
        return out;
    }
    auto dir = list_private_directory(path, {"the CA directory", 0, S_IWGRP | S_IWOTH, kMaxCaFiles});
    if (!dir) return dir.error();
    if (dir->names.empty())
        return common::make_error("CA directory " + path +
                                  " holds no regular file; give the file(s) of the CAs that issue the key "
                                  "servers' certificates");
    for (const auto& name : dir->names) {
        const std::string shown = path + "/" + name;
        auto text = public_file_bytes(read_private_file_in(*dir, name, public_file_rules("the CA file")),
                                      shown, "CA file");
        if (!text) return text.error();
        out.emplace_back(shown, std::move(*text));
    }
    return out;
}

}  // namespace

TrustStore::TrustStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TrustStore::TrustStore(TrustStore&&) noexcept = default;
TrustStore& TrustStore::operator=(TrustStore&&) noexcept = default;
TrustStore::~TrustStore() = default;
const std::vector<Bytes>& TrustStore::ca_subjects() const { return impl_->subjects; }
const Bytes& TrustStore::fingerprint() const { return impl_->fingerprint; }
size_t TrustStore::crl_count() const { return impl_->crls; }

common::Result<TrustStore> TrustStore::from_memory(const std::vector<Bytes>& ca_certs,
                                                   const std::vector<Bytes>& crls) {
    auto impl = new_store();
    if (!impl) return common::make_error("X509_STORE_new failed");
    for (const auto& text : ca_certs)
        if (auto added = add_cas(*impl, text); !added) return added.error();
    for (const auto& text : crls)
        if (auto added = add_crls(*impl, text); !added) return added.error();
    finish(*impl);
    return TrustStore(std::move(impl));
}

common::Result<TrustStore> TrustStore::load(const std::string& ca_path,
                                            const std::vector<std::string>& crl_files) {
    auto impl = new_store();
    if (!impl) return common::make_error("X509_STORE_new failed");
    auto ca_texts = read_ca_texts(ca_path);
    if (!ca_texts) return ca_texts.error();
    for (const auto& [path, text] : *ca_texts)
        if (auto added = add_cas(*impl, text); !added)
            return common::make_error("CA file " + path + " " + added.error().message);
    for (const auto& path : crl_files) {
        auto crl = read_public_file(path, "CRL file");
        if (!crl) return crl.error();
        if (auto added = add_crls(*impl, *crl); !added)
            return common::make_error("CRL file " + path + " " + added.error().message);
    }
    finish(*impl);
    return TrustStore(std::move(impl));
}

common::Status TrustStore::verify(const Certificate& cert, const std::vector<Certificate>& intermediates,
                                  const std::string& peer) const {
    X509* x = cert.impl().x509.get();
    const std::string who = peer + "'s certificate '" + cert.subject() + "' (issuer '" + cert.issuer() + "')";
    // A CA's certificate verifies against our store too (it may be one of our CAs): a peer
    // authenticates with an end-entity certificate only.
    if (cert.is_ca())
        return common::make_error(who + " is a CA certificate; " +
                                  (peer.rfind("the ", 0) == 0 ? "a " + peer.substr(4) : peer) +
                                  " needs an end-entity certificate");
    OsslPtr<STACK_OF(X509), free_x509_stack> chain(sk_X509_new_null());
    for (const auto& c : intermediates) sk_X509_push(chain.get(), c.impl().x509.get());
    OsslPtr<X509_STORE_CTX, X509_STORE_CTX_free> ctx(X509_STORE_CTX_new());
    if (!chain || !ctx || X509_STORE_CTX_init(ctx.get(), impl_->store.get(), x, chain.get()) != 1)
        return common::make_error("certificate check could not start (out of memory)");
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
