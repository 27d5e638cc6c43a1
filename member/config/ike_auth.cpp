// The phase-1 authentication of a group: the pre-shared key (ike.psk / ike.psk-file, loader.cpp)
// or signatures with X.509 certificates (ike.auth, ike.certificate, ike.private-key, ike.ca,
// ike.crl, ike.id-type, ike.peer-id). The certificate files are read here, with the
// configuration, so that a missing, unreadable or untrusted file is reported at its key.
#include <algorithm>
#include <filesystem>

#include "common/ip_address.h"
#include "config/loader.h"
#include "gdoi/cert_files.h"

namespace member::schema {
namespace {

std::string resolve(const Context& c, const std::string& path) {
    std::filesystem::path p(path);
    if (p.is_relative() && !c.base_dir.empty()) p = c.base_dir / p;
    return p.string();
}

// ike.peer-id: an address literal (ID_IPV4_ADDR / ID_IPV6_ADDR) or a DNS name (ID_FQDN), as
// the key server's certificate names it in a subjectAltName (RFC 4945 §3.1), or its subject DN
// ("CN=gcks.example, O=Example", in either order of RDNs; ID_DER_ASN1_DN).
common::Result<gdoi::isakmp::IdPayload> parse_peer_id(const std::string& text) {
    if (auto a = common::IpAddress::parse(text)) return gdoi::isakmp::address_id(*a);
    if (text.find('=') != std::string::npos) {
        auto dn = gdoi::crypto::dn_id_from_text(text);
        if (!dn)
            return common::make_error(
                dn.error().message +
                "; give the key server's subject as \"CN=gcks.example, O=Example\", its "
                "DNS name or its address");
        return dn;
    }
    const bool dns = !text.empty() && text.size() <= 253 && std::all_of(text.begin(), text.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
               c == '.';
    });
    if (!dns)
        return common::make_error(
            "expected the key server's DNS name (such as \"gcks.example.net\"), address or subject DN (such "
            "as "
            "\"CN=gcks.example.net, O=Example\")");
    gdoi::isakmp::IdPayload id;
    id.type = static_cast<uint8_t>(gdoi::isakmp::IdType::Fqdn);
    id.data.assign(text.begin(), text.end());
    return id;
}

// The keys that only signatures use, given in a group that authenticates with its pre-shared key.
void refuse_signature_keys(Context& c, const Context::IkeAuthInput& in, const Where& w) {
    for (const auto& [node, key] :
         {std::pair{in.certificate_node, "certificate"}, std::pair{in.private_key_node, "private-key"},
          std::pair{in.ca_node, "ca"}, std::pair{in.crl_node, "crl"}, std::pair{in.peer_id_node, "peer-id"}})
        if (node)
            c.reader.error(at(*node), w.sub(key),
                           std::string("ike.") + key +
                               " is for certificates, but this group authenticates with its pre-shared key "
                               "(ike.auth = \"psk\"); remove it, or set ike.auth = \"rsa-sig\" or "
                               "\"ecdsa-sig\" and drop ike.psk / ike.psk-file");
}

void read_signatures(Context& c, const toml::table& ike, const Context::IkeAuthInput& in, const Where& w) {
    for (const char* key : {"psk", "psk-file"})
        if (const auto* n = ike.get(key))
            c.reader.error(
                at(*n), w.sub(key),
                std::string("ike.") + key +
                    " is for the pre-shared key, but this group authenticates with its certificate; "
                    "remove it (or set ike.auth = \"psk\" and drop the certificate keys)");
    const toml::node& table = ike.source().begin.line ? static_cast<const toml::node&>(ike) : *c.group_table;
    bool complete = true;
    for (const auto& [given, key, hint] :
         {std::tuple{in.certificate_node != nullptr, "certificate", "this member's certificate file"},
          std::tuple{in.private_key_node != nullptr, "private-key", "the certificate's private key file"},
          std::tuple{in.ca_node != nullptr, "ca", "the CA file that issues the key servers' certificates"}})
        if (!given) {
            c.reader.missing(table, w, key, hint);
            complete = false;
        }
    std::optional<gdoi::isakmp::IdPayload> peer_id;
    if (in.peer_id_node) {
        auto id = parse_peer_id(in.peer_id);
        if (!id)
            c.reader.error(at(*in.peer_id_node), w.sub("peer-id"), id.error().message);
        else
            peer_id = std::move(*id);
    }
    if (!complete) return;

    IkeSignatureConfig sig;
    sig.certificate = resolve(c, in.certificate);
    sig.private_key = resolve(c, in.private_key);
    sig.ca = resolve(c, in.ca);
    for (const auto& f : in.crl) sig.crl.push_back(resolve(c, f));
    sig.id_type = in.id_type;
    sig.peer_id = std::move(peer_id);
    gdoi::SigCredentialFiles files{sig.certificate, sig.private_key, sig.ca, sig.crl, std::nullopt};
    if (in.auth == IkeAuth::rsa_sig) files.method = gdoi::crypto::SigAuthMethod::Rsa;
    auto loaded = gdoi::load_sig_credentials(files);
    if (!loaded) {
        c.reader.error(at(*in.certificate_node), w.sub("certificate"), loaded.error().message);
        return;
    }
    if (in.auth == IkeAuth::ecdsa_sig && loaded->method == gdoi::crypto::SigAuthMethod::Rsa) {
        c.reader.error(
            at(*in.auth_node), w.sub("auth"),
            "\"ecdsa-sig\" needs an ECDSA key (P-256, P-384 or P-521), but " + sig.private_key +
                " holds an RSA key; set ike.auth = \"rsa-sig\" or give an ECDSA certificate and key");
        return;
    }
    // Our identity must be a name of our certificate (the key server checks it against it).
    if (sig.id_type != gdoi::isakmp::IdType::Ipv4Addr) {
        auto id = gdoi::crypto::id_from_certificate(*loaded->certificate, sig.id_type);
        if (!id) {
            c.reader.error(at(*in.certificate_node), w.sub("id-type"),
                           id.error().message + "; set ike.id-type to a name the certificate holds");
            return;
        }
        sig.local_id = std::move(*id);
    }
    sig.credentials = std::move(*loaded);
    c.group->ike_sig = std::move(sig);
}

}  // namespace

void store_ike_auth(Context& c, const Item& v) {
    c.ike_auth.auth = IkeAuth(v.choice);
    c.ike_auth.auth_node = &v.node;
}
void store_ike_certificate(Context& c, const Item& v) {
    c.ike_auth.certificate = v.text;
    c.ike_auth.certificate_node = &v.node;
}
void store_ike_private_key(Context& c, const Item& v) {
    c.ike_auth.private_key = v.text;
    c.ike_auth.private_key_node = &v.node;
}
void store_ike_ca(Context& c, const Item& v) {
    c.ike_auth.ca = v.text;
    c.ike_auth.ca_node = &v.node;
}
void store_ike_crl(Context& c, const Item& v) {
    c.ike_auth.crl.push_back(v.text);
    if (!c.ike_auth.crl_node) c.ike_auth.crl_node = &v.node;
}
void store_ike_id_type(Context& c, const Item& v) {
    c.ike_auth.id_type = static_cast<gdoi::isakmp::IdType>(v.choice);
}
void store_ike_peer_id(Context& c, const Item& v) {
    c.ike_auth.peer_id = v.text;
    c.ike_auth.peer_id_node = &v.node;
}

void read_ike_auth(Context& c, const toml::table& ike, const Where& w) {
    const auto& in = c.ike_auth;
    // Signatures when asked for, or when a certificate is given without ike.auth.
    const bool signatures = in.auth ? *in.auth != IkeAuth::psk : in.certificate_node != nullptr;
    if (signatures) {
        read_signatures(c, ike, in, w);
        return;
    }
    refuse_signature_keys(c, in, w);
    read_psk(c, ike, w);
}

}  // namespace member::schema
