// Subject DNs an operator writes (ike.peer-id = "CN=gcks.example, O=Example") and the pin of
// the key server's certificate (ID_DER_ASN1_DN: RFC 2407 §4.6.2.1; the DN text: RFC 4514 §3).
#include <openssl/objects.h>
#include <strings.h>

#include <cctype>

#include "crypto_x509.h"

namespace gdoi::crypto {
namespace {

constexpr size_t kMaxDnText = 1024;
constexpr int kMaxDnRdns = 16;
constexpr int kMaxNidScanned = 2000;  // OpenSSL 3 names about 1300 objects

struct Rdn {
    std::string attribute;
    std::string value;
};

std::string trimmed(std::string_view s) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    return std::string(s);
}

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// RFC 4514 §3: RDNs separated by ','; a value escapes a special character as "\," or any
// byte as "\2C". Spaces around '=' and ',' are ignored (as `openssl x509 -subject` prints
// "O = Example, CN = gcks"); an escaped space ("\ ") is kept.
common::Result<std::vector<Rdn>> split_rdns(std::string_view text) {
    std::vector<Rdn> out;
    std::string attribute, value;
    bool in_value = false;
    size_t kept = 0;  // value length up to its last escaped character: trailing spaces after it stay
    auto finish = [&]() -> common::Status {
        if (!in_value) return common::make_error("'" + trimmed(attribute) + "' has no '=' and value");
        std::string v = value;
        while (v.size() > kept && v.back() == ' ') v.pop_back();
        const size_t lead = v.find_first_not_of(' ');
        const std::string name = trimmed(attribute);
        if (lead == std::string::npos) return common::make_error("'" + name + "' has an empty value");
        if (name.empty()) return common::make_error("a value without an attribute name ('=" + v + "')");
        if (out.size() >= static_cast<size_t>(kMaxDnRdns))
            return common::make_error("more than " + std::to_string(kMaxDnRdns) + " RDNs");
        out.push_back({name, v.substr(lead)});
        attribute.clear();
        value.clear();
        in_value = false;
        kept = 0;
        return {};
    };
    for (size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '\\') {
            if (!in_value || i + 1 >= text.size())
                return common::make_error("a '\\' escape outside a value or at the end");
            const int hi = i + 2 < text.size() ? hex_digit(text[i + 1]) : -1;
            const int lo = hi >= 0 ? hex_digit(text[i + 2]) : -1;
            if (lo >= 0) {
                value += static_cast<char>(hi * 16 + lo);
                i += 2;
            } else {
                value += text[++i];
            }
            kept = value.size();
        } else if (c == ',') {
            if (auto ok = finish(); !ok) return ok.error();
        } else if (c == '+') {
            // RFC 4514 §3: '+' joins the attributes of one multi-valued RDN; not supported (a
            // literal '+' in a value is written "\+").
            return common::make_error(
                "a multi-valued RDN ('+') is not supported; escape a '+' of a value as \\+");
        } else if (c == '=' && !in_value) {
            in_value = true;
        } else {
            (in_value ? value : attribute) += c;
        }
    }
    if (auto ok = finish(); !ok) return ok.error();
    return out;
}

// RFC 4514 §3: attribute type names are case-insensitive ("cn", "CN"); a dotted OID as is.
int attribute_nid(const std::string& name) {
    int nid = OBJ_txt2nid(name.c_str());
    ERR_clear_error();
    for (int n = 1; nid == NID_undef && n < kMaxNidScanned; ++n) {
        const char* sn = OBJ_nid2sn(n);
        const char* ln = OBJ_nid2ln(n);
        if ((sn && strcasecmp(sn, name.c_str()) == 0) || (ln && strcasecmp(ln, name.c_str()) == 0)) nid = n;
    }
    ERR_clear_error();
    return nid;
}

// The same RDNs in the opposite order (a multi-valued RDN stays one RDN).
X509NamePtr reversed(const X509_NAME* name) {
    X509NamePtr out(X509_NAME_new());
    if (!out) return out;
    int previous_set = -1;
    for (int i = X509_NAME_entry_count(name) - 1; i >= 0; --i) {
        const X509_NAME_ENTRY* e = X509_NAME_get_entry(name, i);
        const int set = X509_NAME_ENTRY_set(e);
        // set 0: a new RDN at the end; -1: added to the last RDN (its other attribute).
        if (X509_NAME_add_entry(out.get(), e, -1, set == previous_set ? -1 : 0) != 1) return nullptr;
        previous_set = set;
    }
    return out;
}

}  // namespace

common::Result<isakmp::IdPayload> dn_id_from_text(std::string_view text) {
    if (text.size() > kMaxDnText)
        return common::make_error("a subject DN of " + std::to_string(text.size()) + " bytes; at most " +
                                  std::to_string(kMaxDnText));
    auto rdns = split_rdns(text);
    if (!rdns) return common::make_error("not a subject DN: " + rdns.error().message);
    X509NamePtr name(X509_NAME_new());
    if (!name) return common::make_error("X509_NAME_new failed");
    for (const auto& rdn : *rdns) {
        const int nid = attribute_nid(rdn.attribute);
        if (nid == NID_undef)
            return common::make_error("not a subject DN: unknown attribute '" + rdn.attribute +
                                      "' (use CN, O, OU, C, L, ST, DC, emailAddress or a dotted OID)");
        if (X509_NAME_add_entry_by_NID(name.get(), nid, MBSTRING_UTF8,
                                       reinterpret_cast<const unsigned char*>(rdn.value.data()),
                                       static_cast<int>(rdn.value.size()), -1, 0) != 1) {
            ERR_clear_error();
            return common::make_error("not a subject DN: '" + rdn.attribute + "=" + rdn.value +
                                      "' is not a valid value for that attribute (C is 2 letters)");
        }
    }
    isakmp::IdPayload id;
    id.type = static_cast<uint8_t>(isakmp::IdType::DerAsn1Dn);
    id.data = name_der(name.get());
    if (id.data.empty()) return common::make_error("not a subject DN: it does not encode");
    return id;
}

common::Status pin_matches(const isakmp::IdPayload& pin, const Certificate& cert) {
    if (pin.type != static_cast<uint8_t>(isakmp::IdType::DerAsn1Dn)) return identity_matches(pin, cert);
    const X509_NAME* subject = X509_get_subject_name(cert.impl().x509.get());
    const X509NamePtr name = decode_name(pin.data);
    // X509_NAME_cmp compares the canonical encodings: case and inner spaces of string values
    // do not count, nor does UTF8String against PrintableString.
    if (name && X509_NAME_cmp(name.get(), subject) == 0) return {};
    const X509NamePtr other_order = name ? reversed(name.get()) : nullptr;
    if (other_order && X509_NAME_cmp(other_order.get(), subject) == 0) return {};
    return common::make_error("identity " + describe_id(pin) +
                              " is not the certificate's subject in either order (" + cert.describe_names() +
                              ")");
}

}  // namespace gdoi::crypto
