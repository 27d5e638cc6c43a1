// Phase-1 proposal table (RFC 2409 Appendix A; AES: RFC 3602 §5, key length attribute 14).
#include "gdoi/ike_proposal.h"

#include <array>

namespace gdoi {
namespace {

struct CipherRow {
    const char* name;
    uint16_t ike_id;
    crypto::CipherAlg alg;
    size_t key_bytes;
    bool key_length_attribute;  // AES carries KEY_LENGTH; 3DES has a fixed key
};
constexpr std::array<CipherRow, 4> kCiphers{{
    {"aes128", 7, crypto::CipherAlg::AesCbc, 16, true},
    {"aes192", 7, crypto::CipherAlg::AesCbc, 24, true},
    {"aes256", 7, crypto::CipherAlg::AesCbc, 32, true},
    {"3des", 5, crypto::CipherAlg::Des3Cbc, 24, false},
}};

struct HashRow {
    const char* name;
    uint16_t ike_id;
    crypto::HashAlg alg;
};
constexpr std::array<HashRow, 4> kHashes{{
    {"sha1", 2, crypto::HashAlg::Sha1},
    {"sha256", 4, crypto::HashAlg::Sha256},
    {"sha384", 5, crypto::HashAlg::Sha384},
    {"sha512", 6, crypto::HashAlg::Sha512},
}};

struct GroupRow {
    const char* name;
    crypto::DhGroup group;
};
constexpr std::array<GroupRow, 8> kGroups{{
    {"modp1024", crypto::DhGroup::Modp1024},
    {"modp1536", crypto::DhGroup::Modp1536},
    {"modp2048", crypto::DhGroup::Modp2048},
    {"modp3072", crypto::DhGroup::Modp3072},
    {"modp4096", crypto::DhGroup::Modp4096},
    {"ecp256", crypto::DhGroup::Ecp256},
    {"ecp384", crypto::DhGroup::Ecp384},
    {"ecp521", crypto::DhGroup::Ecp521},
}};

const CipherRow* cipher_row(const crypto::Cipher& c) {
    for (const auto& row : kCiphers)
        if (row.alg == c.alg && row.key_bytes == c.key_size) return &row;
    return nullptr;
}

std::string known_names() {
    std::string s = "ciphers:";
    for (const auto& r : kCiphers) s += std::string(" ") + r.name;
    s += "; hashes:";
    for (const auto& r : kHashes) s += std::string(" ") + r.name;
    s += "; groups:";
    for (const auto& r : kGroups) s += std::string(" ") + r.name;
    return s;
}

}  // namespace

std::string IkeProposal::name() const {
    std::string s;
    if (const auto* c = cipher_row(cipher)) s += c->name;
    for (const auto& h : kHashes)
        if (h.alg == hash) s += std::string("-") + h.name;
    for (const auto& g : kGroups)
        if (g.group == group) s += std::string("-") + g.name;
    return s;
}

isakmp::Transform IkeProposal::to_transform(uint8_t number, uint32_t lifetime_seconds) const {
    using isakmp::Attribute;
    const CipherRow* c = cipher_row(cipher);
    isakmp::Transform t;
    t.number = number;
    t.id = ike_attr::kTransformKeyIke;
    t.attributes.push_back(Attribute::basic_attr(ike_attr::kEncryptionAlgorithm, c->ike_id));
    if (c->key_length_attribute)
        t.attributes.push_back(
            Attribute::basic_attr(ike_attr::kKeyLength, static_cast<uint16_t>(c->key_bytes * 8)));
    for (const auto& h : kHashes)
        if (h.alg == hash) t.attributes.push_back(Attribute::basic_attr(ike_attr::kHashAlgorithm, h.ike_id));
    t.attributes.push_back(Attribute::basic_attr(ike_attr::kAuthenticationMethod, auth_method));
    t.attributes.push_back(Attribute::basic_attr(ike_attr::kGroupDescription, static_cast<uint16_t>(group)));
    t.attributes.push_back(Attribute::basic_attr(ike_attr::kLifeType, ike_attr::kLifeSeconds));
    t.attributes.push_back(Attribute::integer(ike_attr::kLifeDuration, lifetime_seconds));
    return t;
}

common::Result<IkeProposal> parse_ike_proposal(const std::string& name) {
    auto dash1 = name.find('-');
    auto dash2 = dash1 == std::string::npos ? std::string::npos : name.find('-', dash1 + 1);
    if (dash2 == std::string::npos || name.find('-', dash2 + 1) != std::string::npos)
        return common::make_error("IKE proposal '" + name +
                                  "' must be cipher-hash-group, e.g. aes256-sha256-modp2048");
    std::string c = name.substr(0, dash1), h = name.substr(dash1 + 1, dash2 - dash1 - 1),
                g = name.substr(dash2 + 1);
    IkeProposal p;
    bool found_c = false, found_h = false, found_g = false;
    for (const auto& row : kCiphers)
        if (c == row.name) p.cipher = {row.alg, row.key_bytes}, found_c = true;
    for (const auto& row : kHashes)
        if (h == row.name) p.hash = row.alg, found_h = true;
    for (const auto& row : kGroups)
        if (g == row.name) p.group = row.group, found_g = true;
    if (!found_c || !found_h || !found_g)
        return common::make_error("IKE proposal '" + name + "': unknown " +
                                  (!found_c   ? "cipher '" + c
                                   : !found_h ? "hash '" + h
                                              : "group '" + g) +
                                  "' (supported " + known_names() + ")");
    return p;
}

common::Result<IkeProposal> ike_proposal_from_transform(const isakmp::Transform& t) {
    auto value = [&](uint16_t type) -> std::optional<uint64_t> {
        const auto* a = isakmp::find_attribute(t.attributes, type);
        return a ? a->as_integer() : std::nullopt;
    };
    if (t.id != ike_attr::kTransformKeyIke) return common::make_error("transform id is not KEY_IKE");
    auto enc = value(ike_attr::kEncryptionAlgorithm);
    auto hash = value(ike_attr::kHashAlgorithm);
    auto group = value(ike_attr::kGroupDescription);
    auto auth = value(ike_attr::kAuthenticationMethod);
    auto keylen = value(ike_attr::kKeyLength);
    if (!enc || !hash || !group || !auth) return common::make_error("transform lacks a mandatory attribute");
    if (*auth != ike_attr::kAuthPreSharedKey && *auth != ike_attr::kAuthRsaSig &&
        *auth != ike_attr::kAuthEcdsaP256 && *auth != ike_attr::kAuthEcdsaP384 &&
        *auth != ike_attr::kAuthEcdsaP521)
        return common::make_error("authentication method " + std::to_string(*auth) +
                                  " is not pre-shared key (1), RSA signatures (3) or ECDSA (9, 10, 11)");
    IkeProposal p;
    p.auth_method = static_cast<uint16_t>(*auth);
    bool ok = false;
    for (const auto& row : kCiphers) {
        if (row.ike_id != *enc) continue;
        if (row.key_length_attribute && (!keylen || *keylen != row.key_bytes * 8)) continue;
        p.cipher = {row.alg, row.key_bytes};
        ok = true;
    }
    if (!ok) return common::make_error("unsupported encryption algorithm " + std::to_string(*enc));
    ok = false;
    for (const auto& row : kHashes)
        if (row.ike_id == *hash) p.hash = row.alg, ok = true;
    if (!ok) return common::make_error("unsupported hash algorithm " + std::to_string(*hash));
    if (*group > 0xffff || !crypto::is_supported_group(static_cast<uint16_t>(*group)))
        return common::make_error("unsupported DH group " + std::to_string(*group));
    p.group = static_cast<crypto::DhGroup>(*group);
    return p;
}

std::optional<uint64_t> ike_lifetime_seconds(const isakmp::Transform& t) {
    const auto* type = isakmp::find_attribute(t.attributes, ike_attr::kLifeType);
    const auto* duration = isakmp::find_attribute(t.attributes, ike_attr::kLifeDuration);
    if (!type || !duration || type->as_integer() != ike_attr::kLifeSeconds) return std::nullopt;
    return duration->as_integer();
}

}  // namespace gdoi
