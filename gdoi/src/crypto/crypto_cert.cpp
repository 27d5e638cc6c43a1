// X.509 certificates, private keys, trust (X509_STORE) and the IKEv1 signature formats.
#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>
#include <fstream>

#include "crypto_pkey.h"
#include "gdoi/cert.h"

namespace gdoi::crypto {
namespace {

using X509Ptr = OsslPtr<X509, X509_free>;
using X509NamePtr = OsslPtr<X509_NAME, X509_NAME_free>;
using Bio = OsslPtr<BIO, BIO_free>;
// sk_X509_free is a macro: a function to name. The stack does not own the certificates.
void free_x509_stack(STACK_OF(X509) * s) { sk_X509_free(s); }

constexpr size_t kMaxCredentialFile = 1 << 20;  // a CA bundle or CRL; far above real ones

bool is_pem(ByteView data) {
    static constexpr char kBegin[] = "-----BEGIN";
    return std::search(data.begin(), data.end(), kBegin, kBegin + sizeof kBegin - 1) != data.end();
}

Bio memory_bio(ByteView data) { return Bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size()))); }

std::string bio_text(BIO* b) {
    char* p = nullptr;
    long n = BIO_get_mem_data(b, &p);
    return n > 0 ? std::string(p, static_cast<size_t>(n)) : std::string();
}

std::string name_text(const X509_NAME* name) {
    Bio b(BIO_new(BIO_s_mem()));
    if (!b || X509_NAME_print_ex(b.get(), name, 0, XN_FLAG_RFC2253) < 0) return "?";
    return bio_text(b.get());
}

Bytes name_der(const X509_NAME* name) {
    const int len = i2d_X509_NAME(name, nullptr);
    Bytes out(static_cast<size_t>(std::max(len, 0)));
    unsigned char* p = out.data();
    if (len > 0) i2d_X509_NAME(name, &p);
    return out;
}

std::string time_text(const ASN1_TIME* t) {
    Bio b(BIO_new(BIO_s_mem()));
    if (!b || ASN1_TIME_print(b.get(), t) != 1) return "?";
    return bio_text(b.get());
}

std::string ip_text(ByteView ip) {
    char buf[INET6_ADDRSTRLEN] = "?";
    if (ip.size() == 4) inet_ntop(AF_INET, ip.data(), buf, sizeof buf);
    if (ip.size() == 16) inet_ntop(AF_INET6, ip.data(), buf, sizeof buf);
    return buf;
}

// Identity text from the network: printable ASCII only, bounded.
std::string printable(ByteView data) {
    std::string s;
    for (uint8_t c : data.first(std::min<size_t>(data.size(), 128)))
        s += std::isprint(c) ? static_cast<char>(c) : '?';
    return s;
}

std::optional<SigAuthMethod> method_of(EVP_PKEY* key) {
    if (key == nullptr) return std::nullopt;
    if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA) return SigAuthMethod::Rsa;
    if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) return std::nullopt;
    char group[64] = {};
    if (EVP_PKEY_get_group_name(key, group, sizeof group, nullptr) != 1) return std::nullopt;
    const std::string g = group;
    if (g == "prime256v1" || g == "P-256") return SigAuthMethod::EcdsaP256;
    if (g == "secp384r1" || g == "P-384") return SigAuthMethod::EcdsaP384;
    return std::nullopt;
}

size_t ecdsa_half(SigAuthMethod m) { return m == SigAuthMethod::EcdsaP256 ? 32 : 48; }

common::Result<Bytes> read_public_file(const std::string& path, const char* what) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return common::make_error(std::string("cannot open ") + what + " " + path);
    Bytes data(kMaxCredentialFile + 1);
    in.read(reinterpret_cast<char*>(data.data()), static_cast<std::streamsize>(data.size()));
    data.resize(static_cast<size_t>(in.gcount()));
    if (data.size() > kMaxCredentialFile)
        return common::make_error(std::string(what) + " " + path + " is larger than 1 MiB");
    if (data.empty()) return common::make_error(std::string(what) + " " + path + " is empty");
    return data;
}

}  // namespace

const char* sig_auth_method_name(SigAuthMethod method) {
    switch (method) {
        case SigAuthMethod::Rsa:
            return "rsa-sig";
        case SigAuthMethod::EcdsaP256:
            return "ecdsa-256";
        case SigAuthMethod::EcdsaP384:
            return "ecdsa-384";
    }
    return "?";
}

// ---- Certificate

struct Certificate::Impl {
    X509Ptr x509;
    Bytes der;
};

Certificate::Certificate(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Certificate::Certificate(Certificate&&) noexcept = default;
Certificate& Certificate::operator=(Certificate&&) noexcept = default;
Certificate::Certificate(const Certificate& other)
    : impl_(std::make_unique<Impl>(Impl{X509Ptr(X509_dup(other.impl_->x509.get())), other.impl_->der})) {}
Certificate::~Certificate() = default;

common::Result<Certificate> Certificate::parse(ByteView data) {
    auto impl = std::make_unique<Impl>();
    if (is_pem(data)) {
        Bio b = memory_bio(data);
        impl->x509.reset(b ? PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr) : nullptr);
    } else {
        const unsigned char* p = data.data();
        impl->x509.reset(d2i_X509(nullptr, &p, static_cast<long>(data.size())));
        if (impl->x509 && p != data.data() + data.size()) impl->x509.reset();  // trailing bytes
    }
    ERR_clear_error();
    if (!impl->x509) return common::make_error("not an X.509 certificate (DER or PEM)");
    const int len = i2d_X509(impl->x509.get(), nullptr);
    if (len <= 0) return common::make_error("X.509 certificate does not encode");
    impl->der.resize(static_cast<size_t>(len));
    unsigned char* out = impl->der.data();
    i2d_X509(impl->x509.get(), &out);
    return Certificate(std::move(impl));
}

const Bytes& Certificate::der() const { return impl_->der; }

Bytes Certificate::subject_der() const { return name_der(X509_get_subject_name(impl_->x509.get())); }

std::string Certificate::subject() const { return name_text(X509_get_subject_name(impl_->x509.get())); }
std::string Certificate::issuer() const { return name_text(X509_get_issuer_name(impl_->x509.get())); }

namespace {

template <typename F>
void for_each_alt_name(X509* x, F f) {
    OsslPtr<GENERAL_NAMES, GENERAL_NAMES_free> names(
        static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(x, NID_subject_alt_name, nullptr, nullptr)));
    if (!names) return;
    for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) f(*sk_GENERAL_NAME_value(names.get(), i));
}

ByteView asn1_view(const ASN1_STRING* s) {
    return ByteView(ASN1_STRING_get0_data(s), static_cast<size_t>(ASN1_STRING_length(s)));
}

}  // namespace

std::vector<std::string> Certificate::dns_names() const {
    std::vector<std::string> out;
    for_each_alt_name(impl_->x509.get(), [&](const GENERAL_NAME& n) {
        if (n.type == GEN_DNS) {
            auto v = asn1_view(n.d.dNSName);
            out.emplace_back(v.begin(), v.end());
        }
    });
    return out;
}

std::vector<Bytes> Certificate::ip_addresses() const {
    std::vector<Bytes> out;
    for_each_alt_name(impl_->x509.get(), [&](const GENERAL_NAME& n) {
        if (n.type == GEN_IPADD) {
            auto v = asn1_view(n.d.iPAddress);
            out.emplace_back(v.begin(), v.end());
        }
    });
    return out;
}

std::string Certificate::describe_names() const {
    std::string s = "subject '" + subject() + "'";
    const auto dns = dns_names();
    const auto ips = ip_addresses();
    if (dns.empty() && ips.empty()) return s + ", no subjectAltName";
    for (const auto& d : dns)
        s += ", DNS " + printable(ByteView(reinterpret_cast<const uint8_t*>(d.data()), d.size()));
    for (const auto& ip : ips) s += ", IP " + ip_text(ip);
    return s;
}

std::optional<SigAuthMethod> Certificate::key_method() const {
    return method_of(X509_get0_pubkey(impl_->x509.get()));
}

// ---- identities (RFC 2407 §4.6.2.1, RFC 4945 §3.1)

std::string describe_id(const isakmp::IdPayload& id) {
    using isakmp::IdType;
    switch (static_cast<IdType>(id.type)) {
        case IdType::Ipv4Addr:
            return "ID_IPV4_ADDR " + ip_text(id.data);
        case IdType::Ipv6Addr:
            return "ID_IPV6_ADDR " + ip_text(id.data);
        case IdType::Fqdn:
            return "ID_FQDN " + printable(id.data);
        case IdType::UserFqdn:
            return "ID_USER_FQDN " + printable(id.data);
        case IdType::DerAsn1Dn: {
            const unsigned char* p = id.data.data();
            X509NamePtr name(d2i_X509_NAME(nullptr, &p, static_cast<long>(id.data.size())));
            ERR_clear_error();
            return "ID_DER_ASN1_DN " +
                   (name ? "'" + name_text(name.get()) + "'" : std::string("(undecodable)"));
        }
        default:
            return "ID type " + std::to_string(id.type);
    }
}

common::Status identity_matches(const isakmp::IdPayload& id, const Certificate& cert) {
    using isakmp::IdType;
    bool match = false;
    switch (static_cast<IdType>(id.type)) {
        case IdType::DerAsn1Dn: {
            const unsigned char* p = id.data.data();
            X509NamePtr name(d2i_X509_NAME(nullptr, &p, static_cast<long>(id.data.size())));
            ERR_clear_error();
            match = name && p == id.data.data() + id.data.size() &&
                    X509_NAME_cmp(name.get(), X509_get_subject_name(cert.impl().x509.get())) == 0;
            break;
        }
        case IdType::Fqdn:
            for (const auto& d : cert.dns_names())
                match = match ||
                        std::equal(d.begin(), d.end(), id.data.begin(), id.data.end(), [](char a, uint8_t b) {
                            return std::tolower(static_cast<unsigned char>(a)) == std::tolower(b);
                        });
            break;
        case IdType::Ipv4Addr:
        case IdType::Ipv6Addr:
            for (const auto& ip : cert.ip_addresses()) match = match || ip == id.data;
            break;
        default:
            return common::make_error(
                describe_id(id) +
                " cannot be checked against a certificate (use ID_DER_ASN1_DN, ID_FQDN or an "
                "address)");
    }
    if (match) return {};
    return common::make_error("identity " + describe_id(id) + " is not a name of the certificate (" +
                              cert.describe_names() + ")");
}

common::Result<isakmp::IdPayload> id_from_certificate(const Certificate& cert, isakmp::IdType type) {
    isakmp::IdPayload id;
    id.type = static_cast<uint8_t>(type);
    if (type == isakmp::IdType::DerAsn1Dn) {
        id.data = cert.subject_der();
        return id;
    }
    if (type == isakmp::IdType::Fqdn) {
        const auto dns = cert.dns_names();
        if (dns.empty())
            return common::make_error("certificate " + cert.describe_names() +
                                      " has no DNS subjectAltName for an ID_FQDN identity");
        id.data.assign(dns.front().begin(), dns.front().end());
        return id;
    }
    return common::make_error("identity type " + std::to_string(id.type) +
                              " does not come from a certificate");
}

// ---- private key

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
        auto no_passphrase = [](char*, int, int, void*) { return 0; };
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
        return common::make_error("private key is neither RSA nor ECDSA on P-256/P-384");
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

// ---- trust

struct TrustStore::Impl {
    OsslPtr<X509_STORE, X509_STORE_free> store;
    std::vector<Bytes> subjects;
    bool crls = false;
};

TrustStore::TrustStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TrustStore::TrustStore(TrustStore&&) noexcept = default;
TrustStore& TrustStore::operator=(TrustStore&&) noexcept = default;
TrustStore::~TrustStore() = default;
const std::vector<Bytes>& TrustStore::ca_subjects() const { return impl_->subjects; }

common::Result<TrustStore> TrustStore::from_memory(const std::vector<Bytes>& ca_certs,
                                                   const std::vector<Bytes>& crls) {
    auto impl = std::make_unique<Impl>();
    impl->store.reset(X509_STORE_new());
    if (!impl->store) return common::make_error("X509_STORE_new failed");
    for (const auto& text : ca_certs) {
        size_t before = impl->subjects.size();
        Bio b = memory_bio(text);
        while (b) {  // every certificate of a PEM bundle, or one DER certificate
            X509Ptr x(is_pem(text) ? PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr)
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
                is_pem(text) ? PEM_read_bio_X509_CRL(b.get(), nullptr, nullptr, nullptr)
                             : d2i_X509_CRL_bio(b.get(), nullptr));
            if (!crl) break;
            X509_STORE_add_crl(impl->store.get(), crl.get());
            ++found;
            if (!is_pem(text)) break;
        }
        ERR_clear_error();
        if (found == 0) return common::make_error("holds no X.509 CRL");
        impl->crls = true;
    }
    // CRL_CHECK: the peer's certificate must be covered by a current CRL of its issuer.
    if (impl->crls) X509_STORE_set_flags(impl->store.get(), X509_V_FLAG_CRL_CHECK);
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

common::Status TrustStore::verify(const Certificate& cert,
                                  const std::vector<Certificate>& intermediates) const {
    X509* x = cert.impl().x509.get();
    OsslPtr<STACK_OF(X509), free_x509_stack> chain(sk_X509_new_null());
    for (const auto& c : intermediates) sk_X509_push(chain.get(), c.impl().x509.get());
    OsslPtr<X509_STORE_CTX, X509_STORE_CTX_free> ctx(X509_STORE_CTX_new());
    if (!chain || !ctx || X509_STORE_CTX_init(ctx.get(), impl_->store.get(), x, chain.get()) != 1)
        return common::make_error("certificate check could not start (out of memory)");
    const std::string who =
        "the key server's certificate '" + cert.subject() + "' (issuer '" + cert.issuer() + "')";
    if (X509_verify_cert(ctx.get()) != 1) {
        const int err = X509_STORE_CTX_get_error(ctx.get());
        ERR_clear_error();
        std::string what = X509_verify_cert_error_string(err);
        switch (err) {
            case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
            case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
            case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
            case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
                what =
                    "is not issued by a CA of our CA file: check that the CA file holds the key server's CA";
                break;
            case X509_V_ERR_CERT_HAS_EXPIRED:
                what = "expired on " + time_text(X509_get0_notAfter(x)) +
                       ": the key server needs a new certificate (or check this host's clock)";
                break;
            case X509_V_ERR_CERT_NOT_YET_VALID:
                what =
                    "is not valid before " + time_text(X509_get0_notBefore(x)) + ": check this host's clock";
                break;
            case X509_V_ERR_CERT_REVOKED:
                what = "is revoked by its CA's CRL: the key server must use a new certificate";
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
                                  "exchanges; the key server needs a certificate with digitalSignature");
    return {};
}

}  // namespace gdoi::crypto
