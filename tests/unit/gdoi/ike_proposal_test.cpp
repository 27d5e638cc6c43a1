// Phase-1 proposal names, their IKE transforms (RFC 2409 Appendix A, RFC 3602)
// and reading a peer's transform back.
#include "gdoi/ike_proposal.h"

#include <catch2/catch.hpp>

#include "test_util.h"

using namespace gdoi;
using crypto::CipherAlg;
using crypto::DhGroup;
using crypto::HashAlg;
using isakmp::Attribute;

namespace {

std::vector<std::string> strongswan_matrix() {
    std::vector<std::string> names;
    for (const char* c : {"aes128", "aes256", "3des"})
        for (const char* h : {"sha1", "sha256", "sha384"})
            for (const char* g : {"modp2048", "ecp256", "ecp384"})
                names.push_back(std::string(c) + "-" + h + "-" + g);
    for (const char* extra : {"aes128-sha1-modp1536", "aes256-sha512-modp4096", "aes192-sha256-modp2048",
                              "aes256-sha256-ecp521", "aes128-sha1-modp1024", "aes128-sha256-modp3072"})
        names.push_back(extra);
    return names;
}

uint64_t attr(const isakmp::Transform& t, uint16_t type) {
    const auto* a = isakmp::find_attribute(t.attributes, type);
    REQUIRE(a != nullptr);
    auto v = a->as_integer();
    REQUIRE(v.has_value());
    return *v;
}

isakmp::Transform transform_of(const char* name) {
    auto p = parse_ike_proposal(name);
    REQUIRE(p.ok());
    return p->to_transform(1, 3600);
}

void remove_attr(isakmp::Transform& t, uint16_t type) {
    std::erase_if(t.attributes, [&](const Attribute& a) { return a.type == type; });
}

void set_attr(isakmp::Transform& t, Attribute a) {
    remove_attr(t, a.type);
    t.attributes.push_back(std::move(a));
}

}  // namespace

TEST_CASE("parse_ike_proposal: strongSwan matrix and extras", "[ike][proposal]") {
    for (const auto& name : strongswan_matrix()) {
        INFO(name);
        auto p = parse_ike_proposal(name);
        REQUIRE(p.ok());
        CHECK(p->name() == name);
    }
}

TEST_CASE("parse_ike_proposal: components map to crypto types", "[ike][proposal]") {
    struct Row {
        const char* name;
        crypto::Cipher cipher;
        HashAlg hash;
        DhGroup group;
    };
    const Row rows[] = {
        {"aes128-sha1-modp2048", {CipherAlg::AesCbc, 16}, HashAlg::Sha1, DhGroup::Modp2048},
        {"aes192-sha256-ecp256", {CipherAlg::AesCbc, 24}, HashAlg::Sha256, DhGroup::Ecp256},
        {"aes256-sha384-ecp384", {CipherAlg::AesCbc, 32}, HashAlg::Sha384, DhGroup::Ecp384},
        {"3des-sha512-ecp521", {CipherAlg::Des3Cbc, 24}, HashAlg::Sha512, DhGroup::Ecp521},
        {"aes128-sha1-modp1024", {CipherAlg::AesCbc, 16}, HashAlg::Sha1, DhGroup::Modp1024},
        {"aes128-sha1-modp1536", {CipherAlg::AesCbc, 16}, HashAlg::Sha1, DhGroup::Modp1536},
        {"aes128-sha1-modp3072", {CipherAlg::AesCbc, 16}, HashAlg::Sha1, DhGroup::Modp3072},
        {"aes256-sha512-modp4096", {CipherAlg::AesCbc, 32}, HashAlg::Sha512, DhGroup::Modp4096},
    };
    for (const auto& r : rows) {
        INFO(r.name);
        auto p = parse_ike_proposal(r.name);
        REQUIRE(p.ok());
        CHECK(p->cipher == r.cipher);
        CHECK(p->hash == r.hash);
        CHECK(p->group == r.group);
    }
}

TEST_CASE("parse_ike_proposal: errors name the bad part", "[ike][proposal]") {
    struct Row {
        const char* name;
        const char* mentions;
    };
    const Row rows[] = {
        {"aes512-sha256-modp2048", "cipher 'aes512'"},
        {"aes128-md5-modp2048", "hash 'md5'"},
        {"aes128-sha256-modp768", "group 'modp768'"},
        {"aes128-sha256-ecp224", "group 'ecp224'"},
        {"AES128-sha256-modp2048", "cipher 'AES128'"},
        {"aes128-sha256", "cipher-hash-group"},
        {"aes128", "cipher-hash-group"},
        {"", "cipher-hash-group"},
        {"aes128-sha256-modp2048-x", "cipher-hash-group"},
        {"aes128--modp2048", "hash ''"},
        {"aes128-sha256-", "group ''"},
    };
    for (const auto& r : rows) {
        INFO(r.name);
        auto p = parse_ike_proposal(r.name);
        REQUIRE_FALSE(p.ok());
        INFO(p.error().message);
        CHECK(p.error().message.find(r.mentions) != std::string::npos);
        CHECK(p.error().message.find(std::string("'") + r.name + "'") != std::string::npos);
    }
}

TEST_CASE("to_transform: RFC 2409 Appendix A attribute values", "[ike][proposal]") {
    SECTION("aes256-sha256-modp2048") {
        auto t = transform_of("aes256-sha256-modp2048");
        CHECK(t.number == 1);
        CHECK(t.id == ike_attr::kTransformKeyIke);
        CHECK(attr(t, ike_attr::kEncryptionAlgorithm) == 7);  // AES-CBC
        CHECK(attr(t, ike_attr::kKeyLength) == 256);
        CHECK(attr(t, ike_attr::kHashAlgorithm) == 4);  // SHA2-256
        CHECK(attr(t, ike_attr::kAuthenticationMethod) == 1);
        CHECK(attr(t, ike_attr::kGroupDescription) == 14);
        CHECK(attr(t, ike_attr::kLifeType) == 1);
        CHECK(attr(t, ike_attr::kLifeDuration) == 3600);
        for (const auto& a : t.attributes) CHECK(a.basic == (a.type != ike_attr::kLifeDuration));
    }
    SECTION("3des-sha1-ecp256 has no KEY_LENGTH") {
        auto t = transform_of("3des-sha1-ecp256");
        CHECK(attr(t, ike_attr::kEncryptionAlgorithm) == 5);
        CHECK(isakmp::find_attribute(t.attributes, ike_attr::kKeyLength) == nullptr);
        CHECK(attr(t, ike_attr::kHashAlgorithm) == 2);
        CHECK(attr(t, ike_attr::kGroupDescription) == 19);
    }
    SECTION("hash and group ids") {
        CHECK(attr(transform_of("aes128-sha384-ecp384"), ike_attr::kHashAlgorithm) == 5);
        CHECK(attr(transform_of("aes128-sha512-ecp521"), ike_attr::kHashAlgorithm) == 6);
        CHECK(attr(transform_of("aes128-sha384-ecp384"), ike_attr::kGroupDescription) == 20);
        CHECK(attr(transform_of("aes128-sha512-ecp521"), ike_attr::kGroupDescription) == 21);
        CHECK(attr(transform_of("aes128-sha1-modp1024"), ike_attr::kGroupDescription) == 2);
        CHECK(attr(transform_of("aes128-sha1-modp1536"), ike_attr::kGroupDescription) == 5);
        CHECK(attr(transform_of("aes128-sha1-modp3072"), ike_attr::kGroupDescription) == 15);
        CHECK(attr(transform_of("aes128-sha1-modp4096"), ike_attr::kGroupDescription) == 16);
        CHECK(attr(transform_of("aes192-sha1-modp4096"), ike_attr::kKeyLength) == 192);
        CHECK(attr(transform_of("aes128-sha1-modp4096"), ike_attr::kKeyLength) == 128);
    }
    SECTION("transform number and lifetime") {
        auto p = parse_ike_proposal("aes128-sha1-modp2048");
        REQUIRE(p.ok());
        auto t = p->to_transform(7, 86400);
        CHECK(t.number == 7);
        CHECK(ike_lifetime_seconds(t) == 86400u);
    }
}

TEST_CASE("to_transform -> wire -> ike_proposal_from_transform round trip", "[ike][proposal]") {
    for (const auto& name : strongswan_matrix()) {
        INFO(name);
        auto p = parse_ike_proposal(name);
        REQUIRE(p.ok());
        isakmp::Proposal prop;
        prop.protocol = ike_attr::kProtocolIsakmp;
        prop.transforms = {p->to_transform(3, 28800)};
        auto sa = isakmp::parse_sa(isakmp::encode_sa(isakmp::SaPayload{2, 1, {prop}}));
        REQUIRE(sa.ok());
        const auto& t = sa->proposals.at(0).transforms.at(0);
        auto back = ike_proposal_from_transform(t);
        REQUIRE(back.ok());
        CHECK(*back == *p);
        CHECK(ike_lifetime_seconds(t) == 28800u);
    }
}

TEST_CASE("ike_proposal_from_transform: AES needs a matching KEY_LENGTH", "[ike][proposal]") {
    auto t = transform_of("aes256-sha256-modp2048");
    SECTION("missing") {
        remove_attr(t, ike_attr::kKeyLength);
        CHECK_FALSE(ike_proposal_from_transform(t).ok());
    }
    SECTION("unsupported length") {
        set_attr(t, Attribute::basic_attr(ike_attr::kKeyLength, 512));
        CHECK_FALSE(ike_proposal_from_transform(t).ok());
        set_attr(t, Attribute::basic_attr(ike_attr::kKeyLength, 0));
        CHECK_FALSE(ike_proposal_from_transform(t).ok());
    }
    SECTION("other lengths select the other AES variants") {
        set_attr(t, Attribute::basic_attr(ike_attr::kKeyLength, 128));
        auto p = ike_proposal_from_transform(t);
        REQUIRE(p.ok());
        CHECK(p->cipher == crypto::Cipher{CipherAlg::AesCbc, 16});
        set_attr(t, Attribute::variable(ike_attr::kKeyLength, test::hex("00c0")));  // TLV form, 192
        p = ike_proposal_from_transform(t);
        REQUIRE(p.ok());
        CHECK(p->cipher == crypto::Cipher{CipherAlg::AesCbc, 24});
    }
    SECTION("3DES ignores a KEY_LENGTH") {
        auto d = transform_of("3des-sha1-modp2048");
        d.attributes.push_back(Attribute::basic_attr(ike_attr::kKeyLength, 192));
        auto p = ike_proposal_from_transform(d);
        REQUIRE(p.ok());
        CHECK(p->cipher == crypto::Cipher{CipherAlg::Des3Cbc, 24});
    }
}

TEST_CASE("ike_proposal_from_transform: errors", "[ike][proposal]") {
    auto t = transform_of("aes128-sha256-modp2048");
    auto fails_with = [](const isakmp::Transform& x, const std::string& what) {
        auto p = ike_proposal_from_transform(x);
        REQUIRE_FALSE(p.ok());
        INFO(p.error().message);
        CHECK(p.error().message.find(what) != std::string::npos);
    };
    SECTION("not KEY_IKE") {
        t.id = 2;
        fails_with(t, "KEY_IKE");
    }
    SECTION("mandatory attribute missing") {
        for (uint16_t type : {ike_attr::kEncryptionAlgorithm, ike_attr::kHashAlgorithm,
                              ike_attr::kGroupDescription, ike_attr::kAuthenticationMethod}) {
            INFO("attribute " << type);
            auto x = t;
            remove_attr(x, type);
            fails_with(x, "mandatory");
        }
    }
    SECTION("not pre-shared key or a supported signature method") {
        set_attr(t, Attribute::basic_attr(ike_attr::kAuthenticationMethod, 4));  // RSA encryption
        fails_with(t, "authentication method 4");
        set_attr(t, Attribute::basic_attr(ike_attr::kAuthenticationMethod, 2));  // DSS signatures
        fails_with(t, "authentication method 2");
    }
    SECTION("signature methods are read back") {
        for (uint16_t m : {ike_attr::kAuthRsaSig, ike_attr::kAuthEcdsaP256, ike_attr::kAuthEcdsaP384}) {
            set_attr(t, Attribute::basic_attr(ike_attr::kAuthenticationMethod, m));
            auto p = ike_proposal_from_transform(t);
            REQUIRE(p.ok());
            CHECK(p->auth_method == m);
        }
    }
    SECTION("unsupported cipher") {
        set_attr(t, Attribute::basic_attr(ike_attr::kEncryptionAlgorithm, 1));  // DES
        fails_with(t, "encryption algorithm 1");
    }
    SECTION("unsupported hash") {
        set_attr(t, Attribute::basic_attr(ike_attr::kHashAlgorithm, 1));  // MD5
        fails_with(t, "hash algorithm 1");
    }
    SECTION("unsupported group") {
        for (uint16_t g : {1, 3, 17, 22, 24, 31}) {
            set_attr(t, Attribute::basic_attr(ike_attr::kGroupDescription, g));
            fails_with(t, "DH group " + std::to_string(g));
        }
    }
    SECTION("attribute value longer than 8 bytes counts as missing") {
        set_attr(t, Attribute::variable(ike_attr::kHashAlgorithm, Bytes(9, 0)));
        CHECK_FALSE(ike_proposal_from_transform(t).ok());
    }
}

TEST_CASE("ike_proposal_from_transform: a group value above 16 bits is not truncated",
          "[ike][proposal][bug]") {
    // Group Description 0x0001000E sent as a variable attribute is not group 14:
    // ike_proposal_from_transform casts the value to uint16_t before checking it
    // (gdoi/src/exchanges/ike_proposal.cpp, is_supported_group(static_cast<uint16_t>(*group))),
    // so 65550 is accepted as modp2048.
    auto t = transform_of("aes128-sha256-modp2048");
    set_attr(t, Attribute::variable(ike_attr::kGroupDescription, test::hex("0001000e")));
    CHECK_FALSE(ike_proposal_from_transform(t).ok());
}

TEST_CASE("ike_lifetime_seconds", "[ike][proposal]") {
    auto t = transform_of("aes128-sha256-modp2048");
    CHECK(ike_lifetime_seconds(t) == 3600u);
    set_attr(t, Attribute::basic_attr(ike_attr::kLifeDuration, 600));  // basic form is legal too
    CHECK(ike_lifetime_seconds(t) == 600u);
    set_attr(t, Attribute::basic_attr(ike_attr::kLifeType, 2));  // kilobytes
    CHECK_FALSE(ike_lifetime_seconds(t).has_value());
    remove_attr(t, ike_attr::kLifeType);
    CHECK_FALSE(ike_lifetime_seconds(t).has_value());
}
