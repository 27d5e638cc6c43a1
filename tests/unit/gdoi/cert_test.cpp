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
         {Row{"P-256", SigAuthMethod::EcdsaP256, 32}, Row{"P-384", SigAuthMethod::EcdsaP384, 48}}) {
        INFO(row.curve);
        auto key = test::make_key(row.curve);
        auto ca = test::make_ca();
        auto cert = parsed(test::issue(key, {}, &ca).der);
        const Bytes hash = crypto::random_bytes(row.half);
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
    CHECK_FALSE(
        crypto::PrivateKey::parse(test::key_text(test::make_key("P-521"))).ok());  // unsupported curve
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
    for (const char* name : {"cert.der", "key.pem", "ca.der", "open.pem", "other.pem"})
        std::remove((dir + "/" + name).c_str());
    rmdir(dir.c_str());
}
