// X.509 certificates and the identities they name (RFC 2407 §4.6.2.1, RFC 4945 §3.1).
#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <cctype>

#include "crypto_x509.h"

namespace gdoi::crypto {
namespace {

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

}  // namespace

const char* sig_auth_method_name(SigAuthMethod method) {
    switch (method) {
        case SigAuthMethod::Rsa:
            return "rsa-sig";
        case SigAuthMethod::EcdsaP256:
            return "ecdsa-256";
        case SigAuthMethod::EcdsaP384:
            return "ecdsa-384";
        case SigAuthMethod::EcdsaP521:
            return "ecdsa-521";
    }
    return "?";
}

// ---- Certificate

Certificate::Certificate(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Certificate::Certificate(Certificate&&) noexcept = default;
Certificate& Certificate::operator=(Certificate&&) noexcept = default;
Certificate::Certificate(const Certificate& other)
    : impl_(std::make_unique<Impl>(Impl{X509Ptr(X509_dup(other.impl_->x509.get())), other.impl_->der})) {}
Certificate::~Certificate() = default;

common::Result<Certificate> Certificate::parse(ByteView data) { return parse(data, true); }

common::Result<Certificate> Certificate::parse_der(ByteView data) { return parse(data, false); }

common::Result<Certificate> Certificate::parse(ByteView data, bool pem_allowed) {
    X509Ptr x;
    if (pem_allowed && is_pem(data)) {
        // A PEM block with encryption headers would ask for a passphrase (on the terminal):
        // refused, never asked (read_certificates).
        auto all = read_certificates(data);
        if (!all.empty()) x = std::move(all.front());
    } else {
        const unsigned char* p = data.data();
        x.reset(d2i_X509(nullptr, &p, static_cast<long>(data.size())));
        if (x && p != data.data() + data.size()) x.reset();  // trailing bytes
    }
    ERR_clear_error();
    if (!x)
        return common::make_error(pem_allowed ? "not an X.509 certificate (DER or PEM)"
                                              : "not a DER X.509 certificate");
    return with_der(std::make_unique<Impl>(Impl{std::move(x), {}}));
}

common::Result<Certificate> Certificate::with_der(std::unique_ptr<Impl> impl) {
    const int len = i2d_X509(impl->x509.get(), nullptr);
    if (len <= 0) return common::make_error("X.509 certificate does not encode");
    impl->der.resize(static_cast<size_t>(len));
    unsigned char* out = impl->der.data();
    i2d_X509(impl->x509.get(), &out);
    return Certificate(std::move(impl));
}

common::Result<std::vector<Certificate>> Certificate::parse_chain(ByteView der_or_pem) {
    if (!is_pem(der_or_pem)) {
        auto one = parse(der_or_pem, false);
        if (!one) return common::make_error("not an X.509 certificate (DER or PEM)");
        std::vector<Certificate> out;
        out.push_back(std::move(*one));
        return out;
    }
    std::vector<Certificate> out;
    for (auto& x : read_certificates(der_or_pem)) {
        auto c = with_der(std::make_unique<Impl>(Impl{std::move(x), {}}));
        if (!c) return c.error();
        out.push_back(std::move(*c));
    }
    if (out.empty()) return common::make_error("not an X.509 certificate (DER or PEM)");
    return out;
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
    return bounded_text(std::move(s));
}

bool Certificate::is_ca() const { return (X509_get_extension_flags(impl_->x509.get()) & EXFLAG_CA) != 0; }

std::optional<SigAuthMethod> Certificate::key_method() const {
    return method_of(X509_get0_pubkey(impl_->x509.get()));
}

int64_t Certificate::not_after() const {
    // ASN1_TIME_diff against the epoch: exact for UTCTime and GeneralizedTime, no time_t parsing.
    OsslPtr<ASN1_TIME, ASN1_TIME_free> epoch(ASN1_TIME_set(nullptr, 0));
    int days = 0, seconds = 0;
    if (!epoch || ASN1_TIME_diff(&days, &seconds, epoch.get(), X509_get0_notAfter(impl_->x509.get())) != 1)
        return 0;
    return int64_t{days} * 86400 + seconds;
}

bool same_certificate_chain(const SigCredentials& a, const SigCredentials& b) {
    const auto der = [](const std::shared_ptr<const Certificate>& c) { return c ? c->der() : Bytes{}; };
    return der(a.certificate) == der(b.certificate) &&
           std::equal(a.intermediates.begin(), a.intermediates.end(), b.intermediates.begin(),
                      b.intermediates.end(), [&](const auto& x, const auto& y) { return der(x) == der(y); });
}

// ---- identities (RFC 2407 §4.6.2.1, RFC 4945 §3.1)

std::string describe_id(const isakmp::IdPayload& id) {
    using isakmp::IdType;
    if (!isakmp::check_address_id(id))
        return std::string(id.type == static_cast<uint8_t>(IdType::Ipv4Addr) ? "ID_IPV4_ADDR"
                                                                             : "ID_IPV6_ADDR") +
               " (" + std::to_string(id.data.size()) + " bytes, not an address)";
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
            const X509NamePtr name = decode_name(id.data);
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
            const X509NamePtr name = decode_name(id.data);
            match = name && X509_NAME_cmp(name.get(), X509_get_subject_name(cert.impl().x509.get())) == 0;
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
            if (auto sized = isakmp::check_address_id(id); !sized) return sized;
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

}  // namespace gdoi::crypto
