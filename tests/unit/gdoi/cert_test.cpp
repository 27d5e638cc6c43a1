// X.509 for phase 1 with signatures: parsing, identities against certificates, the IKEv1
// signature formats (checked with OpenSSL directly, not with the code under test) and the
// trust checks (CA, dates, CRL, keyUsage), with a PKI made at run time.
#include "gdoi/cert.h"

#include <openssl/ecdsa.h>
#include <openssl/rsa.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>

#include "gdoi/cert_files.h"
#include "test_pki.h"
#include "test_util.h"

using namespace gdoi;
using crypto::Certificate;
using crypto::SigAuthMethod;
using crypto::TrustStore;
using gdoi::test::hex;
using gdoi::test::str;

namespace {

Certificate parsed(const Bytes& der) {
    auto c = Certificate::parse(der);
    REQUIRE(c.ok());
    return *c;
}

isakmp::IdPayload id(isakmp::IdType type, Bytes data) {
    return isakmp::IdPayload{static_cast<uint8_t>(type), 0, 0, std::move(data)};
}

TrustStore store(const test::Issued& ca, std::vector<Bytes> crls = {}) {
    auto s = TrustStore::from_memory({ca.der}, crls);
    REQUIRE(s.ok());
    return std::move(*s);
}

std::string verify_error(const TrustStore& s, const Bytes& der) {
    auto st = s.verify(parsed(der), {});
    REQUIRE_FALSE(st.ok());
    return st.error().message;
}

crypto::PrivateKey private_key(const test::TestKey& k, bool pem = true) {
    auto p = crypto::PrivateKey::parse(test::key_text(k, pem));
    REQUIRE(p.ok());
    return std::move(*p);
}

}  // namespace

TEST_CASE("Certificate: DER and PEM, names, garbage refused", "[cert]") {
    auto ca = test::make_ca();
    auto leaf = test::issue(test::make_key("P-256"), {}, &ca);
    auto c = parsed(leaf.der);
    CHECK(c.der() == leaf.der);
    CHECK(c.subject() == "CN=gcks.test,O=gdoi-test");
    CHECK(c.issuer() == "CN=test CA,O=gdoi-test");
    CHECK(c.dns_names() == std::vector<std::string>{"gcks.test"});
    CHECK(c.ip_addresses() == std::vector<Bytes>{hex("c000020a")});
    CHECK(c.key_method() == SigAuthMethod::EcdsaP256);
    // The subject DER is what i2d_X509_NAME gives for the certificate's subject.
    const X509_NAME* name = X509_get_subject_name(leaf.x509.get());
    Bytes expected(static_cast<size_t>(i2d_X509_NAME(name, nullptr)));
    unsigned char* p = expected.data();
    i2d_X509_NAME(name, &p);
    CHECK(c.subject_der() == expected);

    BIO* b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, leaf.x509.get());
    char* text = nullptr;
    long n = BIO_get_mem_data(b, &text);
    Bytes pem(text, text + n);
    BIO_free(b);
    CHECK(parsed(pem).der() == leaf.der);

    CHECK_FALSE(Certificate::parse(Bytes{}).ok());
    CHECK_FALSE(Certificate::parse(str("not a certificate")).ok());
    Bytes truncated(leaf.der.begin(), leaf.der.end() - 1);
    CHECK_FALSE(Certificate::parse(truncated).ok());
    Bytes trailing = leaf.der;
    trailing.push_back(0);
    CHECK_FALSE(Certificate::parse(trailing).ok());
}

TEST_CASE("identity_matches: DN, FQDN, addresses against the certificate", "[cert]") {
    auto ca = test::make_ca();
    auto leaf = test::issue(test::make_key("P-256"), {}, &ca);
    auto other = test::issue(test::make_key("P-256"), {.cn = "other.test"}, &ca);
    auto c = parsed(leaf.der);
    using isakmp::IdType;
    CHECK(crypto::identity_matches(id(IdType::DerAsn1Dn, c.subject_der()), c).ok());
    CHECK(crypto::identity_matches(id(IdType::Fqdn, str("gcks.test")), c).ok());
    CHECK(crypto::identity_matches(id(IdType::Fqdn, str("GCKS.Test")), c).ok());
    CHECK(crypto::identity_matches(id(IdType::Ipv4Addr, hex("c000020a")), c).ok());

    auto dn_other = crypto::identity_matches(id(IdType::DerAsn1Dn, parsed(other.der).subject_der()), c);
    REQUIRE_FALSE(dn_other.ok());
    CHECK(dn_other.error().message.find("ID_DER_ASN1_DN 'CN=other.test,O=gdoi-test'") != std::string::npos);
    CHECK(dn_other.error().message.find("subject 'CN=gcks.test,O=gdoi-test', DNS gcks.test, IP 192.0.2.10") !=
          std::string::npos);
    CHECK_FALSE(crypto::identity_matches(id(IdType::Fqdn, str("gcks.test.evil")), c).ok());
    CHECK_FALSE(crypto::identity_matches(id(IdType::Fqdn, str("gcks.tes")), c).ok());
    CHECK_FALSE(crypto::identity_matches(id(IdType::Ipv4Addr, hex("c000020b")), c).ok());
    CHECK_FALSE(crypto::identity_matches(id(IdType::Ipv6Addr, Bytes(16, 0)), c).ok());
    CHECK_FALSE(crypto::identity_matches(id(IdType::DerAsn1Dn, hex("3000ff")), c).ok());  // trailing byte
    CHECK_FALSE(crypto::identity_matches(id(IdType::DerAsn1Dn, str("garbage")), c).ok());
    auto key_id = crypto::identity_matches(id(IdType::KeyId, str("x")), c);
    REQUIRE_FALSE(key_id.ok());
    CHECK(key_id.error().message.find("cannot be checked") != std::string::npos);

    auto fqdn = crypto::id_from_certificate(c, IdType::Fqdn);
    REQUIRE(fqdn.ok());
    CHECK(fqdn->data == str("gcks.test"));
    auto dn = crypto::id_from_certificate(c, IdType::DerAsn1Dn);
    REQUIRE(dn.ok());
    CHECK(dn->data == c.subject_der());
    auto bare = test::issue(test::make_key("P-256"), {.alt_names = ""}, &ca);
    CHECK_FALSE(crypto::id_from_certificate(parsed(bare.der), IdType::Fqdn).ok());
}

TEST_CASE("RSA SIG: PKCS#1 v1.5 type 1 over the bare hash, no DigestInfo", "[cert][sig]") {
    for (const char* type : {"RSA-2048", "RSA-3072"}) {
        INFO(type);
        auto key = test::make_key(type);
        auto ca = test::make_ca();
        auto cert = parsed(test::issue(key, {}, &ca).der);
        const Bytes hash_i = crypto::random_bytes(32);
        auto sig = private_key(key).sign_hash(SigAuthMethod::Rsa, hash_i);
        REQUIRE(sig.ok());
        CHECK(sig->size() == static_cast<size_t>(EVP_PKEY_get_size(key.get())));
        // Recovered with OpenSSL's raw RSA: exactly the hash, no DigestInfo around it.
        EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(key.get(), nullptr);
        REQUIRE(EVP_PKEY_verify_recover_init(ctx) == 1);
        EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING);
        Bytes recovered(sig->size());
        size_t len = recovered.size();
        REQUIRE(EVP_PKEY_verify_recover(ctx, recovered.data(), &len, sig->data(), sig->size()) == 1);
        EVP_PKEY_CTX_free(ctx);
        recovered.resize(len);
        CHECK(recovered == hash_i);

        CHECK(crypto::verify_hash_signature(SigAuthMethod::Rsa, cert, hash_i, *sig));
        Bytes bad = *sig;
        bad[bad.size() / 2] ^= 1;
        CHECK_FALSE(crypto::verify_hash_signature(SigAuthMethod::Rsa, cert, hash_i, bad));
        Bytes other_hash = hash_i;
        other_hash[0] ^= 1;
        CHECK_FALSE(crypto::verify_hash_signature(SigAuthMethod::Rsa, cert, other_hash, *sig));
        CHECK_FALSE(crypto::verify_hash_signature(SigAuthMethod::EcdsaP256, cert, hash_i, *sig));
        CHECK_FALSE(crypto::verify_hash_signature(SigAuthMethod::Rsa, cert, hash_i, Bytes{}));
        CHECK_FALSE(private_key(key).sign_hash(SigAuthMethod::EcdsaP256, hash_i).ok());
    }
}

TEST_CASE("ECDSA SIG: r||s of the curve's size over the hash as digest (RFC 4754)", "[cert][sig]") {
    struct Row {
        const char* curve;
        SigAuthMethod method;
        size_t half;
    };
    for (const Row& row :
         {Row{"P-256", SigAuthMethod::EcdsaP256, 32}, Row{"P-384", SigAuthMethod::EcdsaP384, 48},
          Row{"P-521", SigAuthMethod::EcdsaP521, 66}}) {
        INFO(row.curve);
        auto key = test::make_key(row.curve);
        auto ca = test::make_ca();
        auto cert = parsed(test::issue(key, {}, &ca).der);
        const Bytes hash = crypto::random_bytes(std::min<size_t>(row.half, 64));  // SHA-512 for P-521
        auto sig = private_key(key, false).sign_hash(row.method, hash);
        REQUIRE(sig.ok());
        REQUIRE(sig->size() == 2 * row.half);
        // r and s as DER, checked by OpenSSL's ECDSA over the hash as the digest.
        ECDSA_SIG* s = ECDSA_SIG_new();
        ECDSA_SIG_set0(s, BN_bin2bn(sig->data(), static_cast<int>(row.half), nullptr),
                       BN_bin2bn(sig->data() + row.half, static_cast<int>(row.half), nullptr));
        unsigned char* der = nullptr;
        int der_len = i2d_ECDSA_SIG(s, &der);
        ECDSA_SIG_free(s);
        EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(key.get(), nullptr);
        REQUIRE(EVP_PKEY_verify_init(ctx) == 1);
        CHECK(EVP_PKEY_verify(ctx, der, static_cast<size_t>(der_len), hash.data(), hash.size()) == 1);
        EVP_PKEY_CTX_free(ctx);
        OPENSSL_free(der);

        CHECK(crypto::verify_hash_signature(row.method, cert, hash, *sig));
        Bytes bad = *sig;
        bad.back() ^= 1;
        CHECK_FALSE(crypto::verify_hash_signature(row.method, cert, hash, bad));
        Bytes short_sig(sig->begin(), sig->end() - 1);
        CHECK_FALSE(crypto::verify_hash_signature(row.method, cert, hash, short_sig));
        CHECK_FALSE(crypto::verify_hash_signature(SigAuthMethod::Rsa, cert, hash, *sig));
        const SigAuthMethod wrong_curve =
            row.method == SigAuthMethod::EcdsaP256 ? SigAuthMethod::EcdsaP384 : SigAuthMethod::EcdsaP256;
        CHECK_FALSE(private_key(key).sign_hash(wrong_curve, hash).ok());
    }
}

TEST_CASE("PrivateKey: PEM or DER, matches its certificate only", "[cert]") {
    auto ca = test::make_ca();
    auto key = test::make_key("RSA-2048");
    auto cert = parsed(test::issue(key, {}, &ca).der);
    CHECK(private_key(key, true).matches(cert));
    CHECK(private_key(key, false).matches(cert));
    CHECK(private_key(key).key_method() == SigAuthMethod::Rsa);
    CHECK_FALSE(private_key(test::make_key("RSA-2048")).matches(cert));
    CHECK_FALSE(crypto::PrivateKey::parse(SecureBytes(str("-----BEGIN PRIVATE KEY-----\nxx\n"))).ok());
    CHECK_FALSE(crypto::PrivateKey::parse(SecureBytes(str("garbage"))).ok());
    // RFC 4754 names P-256, P-384 and P-521 only: another curve is refused.
    auto k256 = crypto::PrivateKey::parse(test::key_text(test::make_key("secp256k1")));
    REQUIRE_FALSE(k256.ok());
    CHECK(k256.error().message.find("neither RSA nor ECDSA on P-256/P-384/P-521") != std::string::npos);
    CHECK(private_key(test::make_key("P-521")).key_method() == SigAuthMethod::EcdsaP521);
}

TEST_CASE("TrustStore: CA, dates, CRL and keyUsage decide, with the reason", "[cert][trust]") {
    auto ca = test::make_ca();
    auto key = test::make_key("P-256");
    auto good = test::issue(key, {.serial = 10}, &ca);
    CHECK(store(ca).verify(parsed(good.der), {}).ok());
    CHECK(store(ca).ca_subjects() == std::vector<Bytes>{parsed(ca.der).subject_der()});

    SECTION("unknown CA") {
        auto other_ca = test::make_ca("other CA");
        auto foreign = test::issue(key, {}, &other_ca);
        auto msg = verify_error(store(ca), foreign.der);
        CHECK(msg.find("not issued by a CA of our CA file") != std::string::npos);
        CHECK(msg.find("'CN=gcks.test,O=gdoi-test'") != std::string::npos);
        CHECK(msg.find("issuer 'CN=other CA,O=gdoi-test'") != std::string::npos);
        CHECK(verify_error(store(ca), test::issue(key, {}).der).find("not issued by a CA") !=
              std::string::npos);  // self-signed
    }
    SECTION("expired and not yet valid") {
        auto expired = test::issue(key, {.not_before = -10 * 86400, .not_after = -86400}, &ca);
        CHECK(verify_error(store(ca), expired.der).find("expired on") != std::string::npos);
        auto future = test::issue(key, {.not_before = 86400, .not_after = 2 * 86400}, &ca);
        CHECK(verify_error(store(ca), future.der).find("is not valid before") != std::string::npos);
    }
    SECTION("revoked by the CRL; a CRL without it passes") {
        auto revoked = test::issue(key, {.serial = 11}, &ca);
        const Bytes crl = test::make_crl(ca, {11});
        CHECK(verify_error(store(ca, {crl}), revoked.der).find("is revoked") != std::string::npos);
        CHECK(store(ca, {crl}).verify(parsed(good.der), {}).ok());
        auto other_ca = test::make_ca("other CA");
        auto missing = verify_error(store(ca, {test::make_crl(other_ca, {})}), good.der);
        CHECK(missing.find("no CRL of its issuer") != std::string::npos);
    }
    SECTION("keyUsage") {
        auto no_ds = test::issue(key, {.key_usage = "critical, keyEncipherment"}, &ca);
        CHECK(verify_error(store(ca), no_ds.der).find("without digitalSignature") != std::string::npos);
        // RFC 4945 §5.1.3.2: nonRepudiation will do, and so does no keyUsage extension at all.
        CHECK(store(ca).verify(parsed(test::issue(key, {.key_usage = "nonRepudiation"}, &ca).der), {}).ok());
        CHECK(store(ca).verify(parsed(test::issue(key, {.key_usage = ""}, &ca).der), {}).ok());
    }
    SECTION("an intermediate CA from the peer's CERT payloads") {
        auto sub_key = test::make_key("P-256");
        auto sub = test::issue(sub_key, {.cn = "sub CA", .alt_names = "", .ca = true}, &ca);
        auto leaf = test::issue(key, {}, &sub);
        CHECK_FALSE(store(ca).verify(parsed(leaf.der), {}).ok());
        CHECK(store(ca).verify(parsed(leaf.der), {parsed(sub.der)}).ok());
    }
    SECTION("bad inputs") {
        CHECK_FALSE(TrustStore::from_memory({str("no certificate here")}, {}).ok());
        CHECK_FALSE(TrustStore::from_memory({ca.der}, {str("no CRL")}).ok());
        CHECK_FALSE(TrustStore::load("/nonexistent/ca.pem", {}).ok());
    }
}

TEST_CASE("load_sig_credentials: files, owner-only key, key must fit", "[cert][files]") {
    char dir_template[] = "/tmp/gdoi-cert-test.XXXXXX";
    REQUIRE(mkdtemp(dir_template) != nullptr);
    const std::string dir = dir_template;
    auto write = [&](const std::string& name, std::span<const uint8_t> data, mode_t mode) {
        const std::string path = dir + "/" + name;
        std::ofstream(path, std::ios::binary)
            .write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
        chmod(path.c_str(), mode);
        return path;
    };
    auto ca = test::make_ca();
    auto key = test::make_key("P-384");
    auto leaf = test::issue(key, {}, &ca);
    SigCredentialFiles files;
    files.certificate = write("cert.der", leaf.der, 0644);
    files.private_key = write("key.pem", test::key_text(key).view(), 0600);
    files.ca_file = write("ca.der", ca.der, 0644);
    auto creds = load_sig_credentials(files);
    REQUIRE(creds.ok());
    CHECK(creds->method == SigAuthMethod::EcdsaP384);
    CHECK(creds->certificate->der() == leaf.der);

    SECTION("group-readable key refused") {
        files.private_key = write("open.pem", test::key_text(key).view(), 0640);
        auto r = load_sig_credentials(files);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().message.find("chmod") != std::string::npos);
    }
    SECTION("key of another certificate refused") {
        files.private_key = write("other.pem", test::key_text(test::make_key("P-384")).view(), 0600);
        auto r = load_sig_credentials(files);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().message.find("does not hold the key of certificate") != std::string::npos);
        files.require_key_match = false;
        CHECK(load_sig_credentials(files).ok());
    }
    SECTION("method that does not fit the key refused") {
        files.method = SigAuthMethod::Rsa;
        CHECK_FALSE(load_sig_credentials(files).ok());
    }
    CHECK(creds->intermediates.empty());
    auto text = [](const std::string& t) {
        return std::span(reinterpret_cast<const uint8_t*>(t.data()), t.size());
    };
    auto sub = test::issue(test::make_key("P-256"), {.cn = "sub CA", .alt_names = "", .ca = true}, &ca);
    auto sub_leaf = test::issue(key, {}, &sub);
    SECTION("certificate file with the chain: ours, then the intermediate CAs") {
        files.certificate = write("chain.pem", text(test::pem_of(sub_leaf) + test::pem_of(sub)), 0644);
        auto r = load_sig_credentials(files);
        REQUIRE(r.ok());
        CHECK(r->certificate->der() == sub_leaf.der);
        REQUIRE(r->intermediates.size() == 1);
        CHECK(r->intermediates[0]->der() == sub.der);
        // The key server's check with the root only needs the intermediate the member sends.
        CHECK_FALSE(r->trust->verify(*r->certificate, {}).ok());
        CHECK(r->trust->verify(*r->certificate, {*r->intermediates[0]}).ok());

        files.certificate = write("chain.pem", text(test::pem_of(sub_leaf) + test::pem_of(leaf)), 0644);
        auto not_ca = load_sig_credentials(files);
        REQUIRE_FALSE(not_ca.ok());
        CHECK(not_ca.error().message.find("certificate 2 (subject 'CN=gcks.test,O=gdoi-test'") !=
              std::string::npos);
        CHECK(not_ca.error().message.find("is not a CA certificate") != std::string::npos);
        std::string nine = test::pem_of(sub_leaf);
        for (int i = 0; i < 8; ++i) nine += test::pem_of(sub);
        files.certificate = write("chain.pem", text(nine), 0644);
        auto too_long = load_sig_credentials(files);
        REQUIRE_FALSE(too_long.ok());
        CHECK(too_long.error().message.find("holds 9 certificates; at most 8") != std::string::npos);
    }
    SECTION("CA directory: every regular file, symbolic links skipped") {
        const std::string cas = dir + "/cas";
        REQUIRE(mkdir(cas.c_str(), 0755) == 0);
        auto other_ca = test::make_ca("other CA");
        write("cas/b.pem", text(test::pem_of(ca) + test::pem_of(sub)), 0644);
        write("cas/a.der", other_ca.der, 0644);
        REQUIRE(symlink("a.der", (cas + "/0badbeef.0").c_str()) == 0);
        files.ca_file = cas;
        auto r = load_sig_credentials(files);
        REQUIRE(r.ok());
        // Sorted by name: a.der, then b.pem's two; the link is not read a second time.
        CHECK(r->trust->ca_subjects() == std::vector<Bytes>{parsed(other_ca.der).subject_der(),
                                                            parsed(ca.der).subject_der(),
                                                            parsed(sub.der).subject_der()});
        CHECK(r->trust->verify(parsed(leaf.der), {}).ok());
        CHECK(r->trust->verify(parsed(sub_leaf.der), {}).ok());
        const Bytes before = r->trust->fingerprint();
        write("cas/c.pem", text(test::pem_of(other_ca)), 0644);
        auto more = load_sig_credentials(files);
        REQUIRE(more.ok());
        CHECK(more->trust->fingerprint() != before);  // every file counts

        chmod(cas.c_str(), 0775);
        auto open_dir = load_sig_credentials(files);
        REQUIRE_FALSE(open_dir.ok());
        CHECK(open_dir.error().message.find("the CA directory must be writable by its owner only") !=
              std::string::npos);
        chmod(cas.c_str(), 0755);
        write("cas/d.txt", text("no certificate"), 0644);
        auto junk = load_sig_credentials(files);
        REQUIRE_FALSE(junk.ok());
        CHECK(junk.error().message.find("CA file " + cas + "/d.txt holds no X.509 certificate") !=
              std::string::npos);
        for (const char* name : {"a.der", "b.pem", "c.pem", "d.txt", "0badbeef.0"})
            std::remove((cas + "/" + name).c_str());
        auto empty = load_sig_credentials(files);
        REQUIRE_FALSE(empty.ok());
        CHECK(empty.error().message.find("CA directory " + cas + " holds no regular file") !=
              std::string::npos);
        rmdir(cas.c_str());
    }
    for (const char* name : {"cert.der", "key.pem", "ca.der", "open.pem", "other.pem", "chain.pem"})
        std::remove((dir + "/" + name).c_str());
    rmdir(dir.c_str());
}

TEST_CASE("dn_id_from_text: RFC 4514 text to ID_DER_ASN1_DN, errors", "[cert][dn]") {
    auto ca = test::make_ca();
    auto c = parsed(test::issue(test::make_key("P-256"), {}, &ca).der);  // subject O=gdoi-test, CN=gcks.test
    SECTION("the subject's order as stored (most significant first) is its DER") {
        auto dn = crypto::dn_id_from_text("O = gdoi-test, CN = gcks.test");
        REQUIRE(dn.ok());
        CHECK(dn->type == static_cast<uint8_t>(isakmp::IdType::DerAsn1Dn));
        CHECK(crypto::identity_matches(*dn, c).ok());  // the same name: ID_DER_ASN1_DN as given
        CHECK(crypto::describe_id(*dn) == "ID_DER_ASN1_DN 'CN=gcks.test,O=gdoi-test'");
    }
    SECTION("escapes") {
        auto dn = crypto::dn_id_from_text(R"(CN=a\,b\2Cc, O=x\\y)");
        REQUIRE(dn.ok());
        CHECK(crypto::describe_id(*dn) == R"(ID_DER_ASN1_DN 'O=x\\y,CN=a\,b\,c')");
    }
    SECTION("refused") {
        for (const char* bad :
             {"XYZ=1", "CN=", "CN=a, O= ", "gcks.test, O=x", "=x", "CN=a,", "CN=a\\", "C=ABC"}) {
            INFO(bad);
            auto r = crypto::dn_id_from_text(bad);
            REQUIRE_FALSE(r.ok());
            CHECK(r.error().message.find("not a subject DN") != std::string::npos);
        }
        CHECK(crypto::dn_id_from_text("XYZ=1").error().message.find("unknown attribute 'XYZ'") !=
              std::string::npos);
        std::string many;
        for (int i = 0; i < 17; ++i) many += (i ? ", OU=u" : "OU=u") + std::to_string(i);
        CHECK(crypto::dn_id_from_text(many).error().message.find("more than 16 RDNs") != std::string::npos);
        CHECK(crypto::dn_id_from_text("CN=" + std::string(1100, 'a')).error().message.find("1024") !=
              std::string::npos);
    }
}

TEST_CASE("pin_matches: a DN in either order, FQDN case-insensitive, addresses", "[cert][dn]") {
    auto ca = test::make_ca();
    auto c = parsed(test::issue(test::make_key("P-256"), {}, &ca).der);
    using isakmp::IdType;
    auto dn = [](const char* text) {
        auto d = crypto::dn_id_from_text(text);
        REQUIRE(d.ok());
        return *d;
    };
    CHECK(crypto::pin_matches(dn("CN=gcks.test, O=gdoi-test"), c).ok());      // our logs' order
    CHECK(crypto::pin_matches(dn("O = gdoi-test, CN = gcks.test"), c).ok());  // openssl x509 -subject
    CHECK(crypto::pin_matches(dn("cn=GCKS.test,o=GDOI-test"), c).ok());  // X509_NAME_cmp: case does not count
    CHECK(crypto::pin_matches(id(IdType::Fqdn, str("GCKS.TEST")), c).ok());
    CHECK(crypto::pin_matches(id(IdType::Ipv4Addr, hex("c000020a")), c).ok());
    auto other = crypto::pin_matches(dn("CN=other.test, O=gdoi-test"), c);
    REQUIRE_FALSE(other.ok());
    CHECK(other.error().message.find("is not the certificate's subject in either order") !=
          std::string::npos);
    CHECK_FALSE(crypto::pin_matches(dn("CN=gcks.test"), c).ok());  // a part of the subject is not it
    CHECK_FALSE(crypto::pin_matches(dn("CN=gcks.test, O=gdoi-test, OU=x"), c).ok());
    CHECK_FALSE(crypto::pin_matches(id(IdType::Fqdn, str("other.test")), c).ok());
    CHECK_FALSE(crypto::pin_matches(id(IdType::Ipv4Addr, hex("c000020b")), c).ok());
}

TEST_CASE("pin_matches: three RDNs match as given or exactly reversed, no other permutation; RDN sets count",
          "[cert][dn]") {
    auto ca = test::make_ca();
    const auto issued = test::issue(test::make_key("P-256"), {}, &ca);
    // The same certificate with another subject: C=DE, O=gdoi-test, CN=gcks.test (X.509 order), or
    // one multi-valued RDN O=gdoi-test + CN=gcks.test.
    const auto with_subject = [&](bool multi_valued) {
        X509* x = X509_dup(issued.x509.get());
        X509_NAME* name = X509_NAME_new();
        const auto add = [&](const char* field, const char* value, int set) {
            X509_NAME_add_entry_by_txt(name, field, MBSTRING_ASC,
                                       reinterpret_cast<const unsigned char*>(value), -1, -1, set);
        };
        if (multi_valued) {
            add("O", "gdoi-test", 0);
            add("CN", "gcks.test", -1);  // -1: into the RDN before
        } else {
            add("C", "DE", 0);
            add("O", "gdoi-test", 0);
            add("CN", "gcks.test", 0);
        }
        X509_set_subject_name(x, name);
        X509_NAME_free(name);
        REQUIRE(X509_sign(x, ca.key.get(), EVP_sha256()) > 0);
        auto cert = parsed(test::der_of(x));
        X509_free(x);
        return cert;
    };
    auto dn = [](const char* text) {
        auto d = crypto::dn_id_from_text(text);
        REQUIRE(d.ok());
        return *d;
    };
    const auto three = with_subject(false);
    CHECK(crypto::pin_matches(dn("C=DE, O=gdoi-test, CN=gcks.test"), three).ok());  // openssl x509 -subject
    CHECK(crypto::pin_matches(dn("CN=gcks.test, O=gdoi-test, C=DE"), three).ok());  // RFC 4514, our logs
    for (const char* permuted : {"O=gdoi-test, C=DE, CN=gcks.test", "C=DE, CN=gcks.test, O=gdoi-test",
                                 "CN=gcks.test, C=DE, O=gdoi-test", "O=gdoi-test, CN=gcks.test, C=DE"}) {
        INFO(permuted);
        CHECK_FALSE(crypto::pin_matches(dn(permuted), three).ok());
    }
    const auto multi = with_subject(true);
    CHECK_FALSE(crypto::pin_matches(dn("O=gdoi-test, CN=gcks.test"), multi).ok());
    CHECK_FALSE(crypto::pin_matches(dn("CN=gcks.test, O=gdoi-test"), multi).ok());
    // A '+' (a multi-valued RDN) in the pin's text is refused, not read as part of a value.
    auto plus = crypto::dn_id_from_text("O=gdoi-test+CN=gcks.test");
    REQUIRE_FALSE(plus.ok());
    CHECK(plus.error().message.find("multi-valued RDN") != std::string::npos);
    auto escaped = crypto::dn_id_from_text(R"(CN=a\+b)");
    REQUIRE(escaped.ok());
    CHECK(crypto::describe_id(*escaped) == R"(ID_DER_ASN1_DN 'CN=a\+b')");
}

TEST_CASE("ID addresses must be 4 or 16 bytes; long names are bounded in messages", "[cert]") {
    auto ca = test::make_ca();
    auto c = parsed(test::issue(test::make_key("P-256"), {}, &ca).der);
    using isakmp::IdType;
    auto v4 = crypto::identity_matches(id(IdType::Ipv4Addr, hex("c000020a00")), c);
    REQUIRE_FALSE(v4.ok());
    CHECK(v4.error().message.find("ID_IPV4_ADDR with 5 bytes") != std::string::npos);
    CHECK_FALSE(crypto::identity_matches(id(IdType::Ipv6Addr, hex("c000020a")), c).ok());
    CHECK(crypto::describe_id(id(IdType::Ipv6Addr, hex("c000020a"))).find("4 bytes, not an address") !=
          std::string::npos);
    // isakmp::parse_id refuses them on the wire.
    CHECK_FALSE(isakmp::parse_id(hex("01000000c000020a00")).ok());
    CHECK_FALSE(isakmp::parse_id(hex("05000000c000020a")).ok());
    CHECK(isakmp::parse_id(hex("01000000c000020a")).ok());

    auto long_name =
        parsed(test::issue(test::make_key("P-256"),
                           {.cn = std::string(60, 'x'),
                            .alt_names = "DNS:" + std::string(200, 'd') + ", DNS:" + std::string(200, 'e')},
                           &ca)
                   .der);
    const std::string names = long_name.describe_names();
    CHECK(names.size() <= 256 + 3);
    CHECK(names.substr(names.size() - 3) == "\u2026");
}

TEST_CASE("TrustStore: CAs only, end-entity peers only, X509_STRICT", "[cert][trust]") {
    auto ca = test::make_ca();
    auto key = test::make_key("P-256");
    auto leaf = test::issue(key, {}, &ca);
    auto as_ca = TrustStore::from_memory({leaf.der}, {});
    REQUIRE_FALSE(as_ca.ok());
    CHECK(as_ca.error().message.find("'CN=gcks.test,O=gdoi-test', which is not a CA certificate") !=
          std::string::npos);
    auto ca_as_peer = store(ca).verify(parsed(ca.der), {});
    REQUIRE_FALSE(ca_as_peer.ok());
    CHECK(ca_as_peer.error().message.find(
              "is a CA certificate; a key server needs an end-entity certificate") != std::string::npos);
    auto member_ca = store(ca).verify(parsed(ca.der), {}, "the member");
    CHECK(member_ca.error().message.find("a member needs an end-entity certificate") != std::string::npos);
    // RFC 5280 profile: an issued certificate without authorityKeyIdentifier is refused.
    auto no_akid = test::issue(key, {.authority_key_id = false}, &ca);
    CHECK(verify_error(store(ca), no_akid.der).find("does not verify") != std::string::npos);
}
