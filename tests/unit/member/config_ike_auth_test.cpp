// ike.auth and the certificate keys (member/config/ike_auth.cpp): a group with certificates
// loads its credentials with the configuration; every mistake is reported at its key with
// file:line:column. The PKI is made at run time (tests/unit/gdoi/test_pki.h).
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>

#include "../gdoi/test_pki.h"
#include "config/config.h"
#include "temp_dir.h"

using namespace member;
using member_test::TempDir;
namespace pki = gdoi::test;

namespace {

// The test's files (temp_dir.h); binary contents and PEM certificates.
std::string write_bytes(const TempDir& d, const std::string& name, const gdoi::Bytes& data, mode_t mode) {
    return d.write(name, std::string(data.begin(), data.end()), mode);
}
std::string write_key(const TempDir& d, const std::string& name, const pki::TestKey& key) {
    const auto k = pki::key_text(key);
    return d.write(name, std::string(reinterpret_cast<const char*>(k.data()), k.size()), 0600);
}
std::string write_pem_cert(const TempDir& d, const std::string& name, const pki::Issued& cert) {
    BIO* b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, cert.x509.get());
    char* p = nullptr;
    const long n = BIO_get_mem_data(b, &p);
    std::string text(p, static_cast<size_t>(n));
    BIO_free(b);
    return d.write(name, text, 0644);
}

struct Pki {
    pki::Issued ca = pki::make_ca("member test CA");
    pki::Issued member;
    Pki(const std::string& key_type = "P-256") {
        pki::CertSpec spec;
        spec.cn = "gm1.example";
        spec.alt_names = "DNS:gm1.example, IP:192.0.2.1";
        member = pki::issue(pki::make_key(key_type), spec, &ca);
    }
};

std::string config(const std::string& ike_lines) {
    return "[member]\nlocal-address = \"192.0.2.1\"\nwan-interface = \"eth0\"\n\n"
           "[[group]]\nname = \"G\"\nid = 1\nservers = [\"198.51.100.10\"]\nlan-interfaces = [\"eth1\"]\n" +
           ike_lines;
}

// The files of a member with certificates, and the ike lines that name them.
struct Setup {
    TempDir files;
    Pki pki;
    std::string cert, key, ca;
    explicit Setup(const std::string& key_type = "P-256") : pki(key_type) {
        cert = write_bytes(files, "member.der", pki.member.der, 0644);
        key = write_key(files, "member.key", pki.member.key);
        ca = write_pem_cert(files, "ca.pem", pki.ca);
    }
    std::string ike(const std::string& extra = "") const {
        return "ike.certificate = \"" + cert + "\"\nike.private-key = \"" + key + "\"\nike.ca = \"" + ca +
               "\"\n" + extra;
    }
};

}  // namespace

TEST_CASE("ike auth: a certificate makes the group authenticate with signatures", "[config][ike-auth]") {
    Setup s("P-256");
    auto c = parse_config(config(s.ike("ike.peer-id = \"gcks.example\"\n")), "member.toml");
    if (!c) FAIL(c.error().message);
    const auto& g = c->groups.at(0);
    REQUIRE(g.ike_sig);
    CHECK(g.ike_psk.empty());
    CHECK(g.ike_sig->certificate == s.cert);
    CHECK(g.ike_sig->credentials.method == gdoi::crypto::SigAuthMethod::EcdsaP256);  // the key's type
    REQUIRE(g.ike_sig->credentials.certificate);
    CHECK(g.ike_sig->credentials.certificate->der() == s.pki.member.der);
    CHECK(g.ike_sig->id_type == gdoi::isakmp::IdType::DerAsn1Dn);
    REQUIRE(g.ike_sig->peer_id);
    CHECK(g.ike_sig->peer_id->type == static_cast<uint8_t>(gdoi::isakmp::IdType::Fqdn));
    CHECK(std::string(g.ike_sig->peer_id->data.begin(), g.ike_sig->peer_id->data.end()) == "gcks.example");

    // An address pin, the fqdn identity, RSA named explicitly.
    Setup r("RSA-2048");
    c = parse_config(
        config(r.ike("ike.auth = \"rsa-sig\"\nike.id-type = \"fqdn\"\nike.peer-id = \"198.51.100.10\"\n")),
        "member.toml");
    if (!c) FAIL(c.error().message);
    CHECK(c->groups[0].ike_sig->credentials.method == gdoi::crypto::SigAuthMethod::Rsa);
    CHECK(c->groups[0].ike_sig->id_type == gdoi::isakmp::IdType::Fqdn);
    CHECK(c->groups[0].ike_sig->peer_id->type == static_cast<uint8_t>(gdoi::isakmp::IdType::Ipv4Addr));
    CHECK(c->groups[0].ike_sig->peer_id->data == gdoi::Bytes{198, 51, 100, 10});

    // A subject DN pin (ID_DER_ASN1_DN, the RDNs in the order given; either order matches).
    c = parse_config(config(s.ike("ike.peer-id = \"O=gdoi-test, CN=gcks.test\"\n")), "member.toml");
    if (!c) FAIL(c.error().message);
    auto dn = gdoi::crypto::dn_id_from_text("O=gdoi-test,CN=gcks.test");
    REQUIRE(dn.ok());
    CHECK(c->groups[0].ike_sig->peer_id->type == static_cast<uint8_t>(gdoi::isakmp::IdType::DerAsn1Dn));
    CHECK(c->groups[0].ike_sig->peer_id->data == dn->data);
}

TEST_CASE("ike auth: mistakes are reported at their key", "[config][ike-auth]") {
    Setup s("P-256");
    const auto error_of = [](const std::string& text) {
        auto r = parse_config(text, "member.toml");
        REQUIRE_FALSE(r.ok());
        return r.error().message;
    };
    // Line 10 is the first ike line of config().
    CHECK_THAT(error_of(config(s.ike("ike.psk = \"x\"\n"))),
               Catch::Contains("member.toml:13:11: group \"G\": ike.psk: ike.psk is for the pre-shared key"));
    CHECK_THAT(error_of(config("ike.auth = \"rsa-sig\"\nike.ca = \"" + s.ca + "\"\n")),
               Catch::Contains("member.toml:10:1: group \"G\": ike: missing required key \"certificate\"") &&
                   Catch::Contains("ike: missing required key \"private-key\""));
    CHECK_THAT(error_of(config("ike.psk = \"x\"\nike.ca = \"" + s.ca + "\"\n")),
               Catch::Contains("member.toml:11:10: group \"G\": ike.ca: ike.ca is for certificates"));
    CHECK_THAT(error_of(config(s.ike("ike.auth = \"rsa-sig\"\n"))), Catch::Contains("ike.certificate"));
    CHECK_THAT(
        error_of(config(s.ike("ike.peer-id = \"CN=gcks, XYZ=Example\"\n"))),
        Catch::Contains("member.toml:13:15: group \"G\": ike.peer-id: not a subject DN: unknown attribute "
                        "'XYZ'"));
    CHECK_THAT(error_of(config(s.ike("ike.peer-id = \"CN=gcks, O=\"\n"))),
               Catch::Contains(
                   "member.toml:13:15: group \"G\": ike.peer-id: not a subject DN: 'O' has an empty value"));
    CHECK_THAT(error_of(config(s.ike("ike.peer-id = \"CN=" + std::string(1100, 'a') + "\"\n"))),
               Catch::Contains(
                   "member.toml:13:15: group \"G\": ike.peer-id: a subject DN of 1103 bytes; at most 1024"));
    CHECK_THAT(error_of(config(s.ike("ike.auth = \"dsa\"\n"))), Catch::Contains("ike.auth"));
    // A key file others may read: refused like a pre-shared key file.
    REQUIRE(::chmod(s.key.c_str(), 0644) == 0);
    CHECK_THAT(error_of(config(s.ike())), Catch::Contains("ike.certificate") && Catch::Contains("chmod"));
    REQUIRE(::chmod(s.key.c_str(), 0600) == 0);
    // A key that is not the certificate's.
    Setup other("P-256");
    CHECK_THAT(error_of(config("ike.certificate = \"" + s.cert + "\"\nike.private-key = \"" + other.key +
                               "\"\nike.ca = \"" + s.ca + "\"\n")),
               Catch::Contains("ike.certificate"));
    // "ecdsa-sig" with an RSA key.
    Setup rsa("RSA-2048");
    CHECK_THAT(error_of(config(rsa.ike("ike.auth = \"ecdsa-sig\"\n"))),
               Catch::Contains("ike.auth: \"ecdsa-sig\" needs an ECDSA key"));
    // id-type fqdn with a certificate without a DNS name.
    TempDir f;
    pki::CertSpec no_dns;
    no_dns.cn = "gm2";
    no_dns.alt_names = "IP:192.0.2.2";
    const auto bare = pki::issue(pki::make_key("P-256"), no_dns, &s.pki.ca);
    const auto bare_cert = write_bytes(f, "bare.der", bare.der, 0644);
    const auto bare_key = write_key(f, "bare.key", bare.key);
    CHECK_THAT(error_of(config("ike.certificate = \"" + bare_cert + "\"\nike.private-key = \"" + bare_key +
                               "\"\nike.ca = \"" + s.ca + "\"\nike.id-type = \"fqdn\"\n")),
               Catch::Contains("ike.id-type"));
}

TEST_CASE("ike auth: the pre-shared key stays the default", "[config][ike-auth]") {
    TempDir f;
    const auto psk = f.write("g.psk", "secret", 0600);
    auto c = parse_config(
        config("ike.psk-file = \"" + psk + "\"\nike.auth = \"psk\"\nike.id-type = \"dn\"\n"), "member.toml");
    if (!c) FAIL(c.error().message);
    CHECK_FALSE(c->groups[0].ike_sig);
    CHECK(c->groups[0].ike_psk.size() == 6);
}

TEST_CASE("ike auth: a renewed certificate or chain at the same path is new credentials, not a changed group",
          "[config][ike-auth]") {
    Setup s("P-256");
    auto a = parse_config(config(s.ike()), "member.toml");
    auto b = parse_config(config(s.ike()), "member.toml");
    REQUIRE(a);
    REQUIRE(b);
    CHECK(a->groups[0] == b->groups[0]);  // read twice: the same configuration
    CHECK(a->groups[0].ike_sig->same_credentials(*b->groups[0].ike_sig));
    // The same path, a renewed certificate (same key, new serial).
    pki::CertSpec spec;
    spec.cn = "gm1.example";
    spec.alt_names = "DNS:gm1.example, IP:192.0.2.1";
    spec.serial = 2;
    const auto renewed = pki::issue(s.pki.member.key, spec, &s.pki.ca);
    write_bytes(s.files, "member.der", renewed.der, 0644);
    auto c = parse_config(config(s.ike()), "member.toml");
    REQUIRE(c);
    // The daemon hands the running group the new certificate (no fail-closed restart).
    CHECK(a->groups[0] == c->groups[0]);
    CHECK_FALSE(a->groups[0].ike_sig->same_credentials(*c->groups[0].ike_sig));
    auto d = parse_config(config(s.ike("ike.peer-id = \"gcks.example\"\n")), "member.toml");
    REQUIRE(d);
    CHECK_FALSE(c->groups[0] == d->groups[0]);  // another pin: the group changed

    // The same certificate, now followed by a CA of its chain in the file: changed too.
    s.cert = write_pem_cert(s.files, "member.pem", renewed);
    auto e = parse_config(config(s.ike()), "member.toml");
    REQUIRE(e);
    std::ofstream(s.cert, std::ios::app) << std::ifstream(s.ca).rdbuf();
    auto f = parse_config(config(s.ike()), "member.toml");
    if (!f) FAIL(f.error().message);
    CHECK(f->groups[0].ike_sig->credentials.intermediates.size() == 1);
    CHECK(e->groups[0] == f->groups[0]);
    CHECK_FALSE(e->groups[0].ike_sig->same_credentials(*f->groups[0].ike_sig));
}

TEST_CASE(
    "ike auth: new CRL contents at the same path leave the group unchanged, the trust store's fingerprint "
    "not",
    "[config][ike-auth]") {
    Setup s("P-256");
    const auto crl = write_bytes(s.files, "ca.crl", pki::make_crl(s.pki.ca, {}), 0644);
    const std::string ike = s.ike("ike.crl = [\"" + crl + "\"]\n");
    auto a = parse_config(config(ike), "member.toml");
    if (!a) FAIL(a.error().message);
    write_bytes(s.files, "ca.crl", pki::make_crl(s.pki.ca, {7}), 0644);
    auto b = parse_config(config(ike), "member.toml");
    if (!b) FAIL(b.error().message);
    // The reload leaves the group running (no fail-closed restart) and hands it the new store.
    CHECK(a->groups[0] == b->groups[0]);
    CHECK_FALSE(a->groups[0].ike_sig->same_credentials(*b->groups[0].ike_sig));
    CHECK(a->groups[0].ike_sig->credentials.trust->fingerprint() !=
          b->groups[0].ike_sig->credentials.trust->fingerprint());
    CHECK(b->groups[0].ike_sig->credentials.trust->crl_count() == 1);
    auto again = parse_config(config(ike), "member.toml");
    REQUIRE(again);
    CHECK(again->groups[0].ike_sig->credentials.trust->fingerprint() ==
          b->groups[0].ike_sig->credentials.trust->fingerprint());
}
