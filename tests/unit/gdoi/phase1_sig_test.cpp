// Phase1Initiator with signatures (RFC 2409 §5.1), sans-IO, against a small scripted
// responder written here from the RFC: the payloads of each message (CERTREQ, CERT, SIG),
// SIG_I checked with the initiator's certificate, and the refusals of the key server's
// certificate, identity and SIG_R, each with its operator message.
#include "gdoi/phase1_sig.h"

#include <catch2/catch.hpp>
#include <chrono>

#include "gdoi/cert.h"
#include "gdoi/phase1.h"
#include "test_pki.h"
#include "test_util.h"

using namespace gdoi;
using namespace std::chrono_literals;
using crypto::SigAuthMethod;
using gdoi::test::hex;
using gdoi::test::parse;
using gdoi::test::str;
using isakmp::ExchangeType;
using isakmp::PayloadType;

namespace {

const Clock::time_point kT0{std::chrono::seconds(100000)};
const isakmp::Cookie kCkyR{0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8};

crypto::Certificate cert_of(const test::Issued& i) {
    auto c = crypto::Certificate::parse(i.der);
    REQUIRE(c.ok());
    return *c;
}

crypto::SigCredentials credentials(const test::Issued& mine, const test::Issued& ca, SigAuthMethod method) {
    crypto::SigCredentials c;
    c.method = method;
    c.certificate = std::make_shared<const crypto::Certificate>(cert_of(mine));
    auto key = crypto::PrivateKey::parse(test::key_text(mine.key));
    REQUIRE(key.ok());
    c.private_key = std::make_shared<const crypto::PrivateKey>(std::move(*key));
    auto trust = crypto::TrustStore::from_memory({ca.der}, {});
    REQUIRE(trust.ok());
    c.trust = std::make_shared<const crypto::TrustStore>(std::move(*trust));
    return c;
}

// A PKI for one key type: CA, the member's and the key server's certificates.
struct Pki {
    explicit Pki(const char* key_type) : ca(test::make_ca()) {
        gm = test::issue(test::make_key(key_type),
                         {.cn = "gm1.test", .alt_names = "DNS:gm1.test, IP:192.0.2.1"}, &ca);
        ks = test::issue(test::make_key(key_type), {}, &ca);
    }
    test::Issued ca, gm, ks;
};

Phase1Config sig_config(const Pki& pki, SigAuthMethod method, Phase1Mode mode) {
    Phase1Config c;
    c.mode = mode;
    auto p = parse_ike_proposal("aes128-sha256-modp2048");
    REQUIRE(p.ok());
    c.proposals = {*p};
    c.sig = credentials(pki.gm, pki.ca, method);
    c.local_id = isakmp::IdPayload{static_cast<uint8_t>(isakmp::IdType::Fqdn), 0, 0, str("gm1.test")};
    c.retransmit = RetransmitPolicy{500ms, 4000ms, 15000ms};
    c.peer_name = "192.0.2.10:848";
    return c;
}

isakmp::Header reply_header(const isakmp::Cookie& cky_i, ExchangeType exchange) {
    isakmp::Header h;
    h.initiator_cookie = cky_i;
    h.responder_cookie = kCkyR;
    h.exchange = exchange;
    return h;
}

// The responder's side of RFC 2409 §5.1 with its own certificate and key, for one initiator.
class SigResponder {
public:
    SigResponder(test::Issued cert, SigAuthMethod method, isakmp::IdPayload id)
        : cert_(std::move(cert)), method_(method), id_(std::move(id)) {}

    // What the initiator sent: its CERT payloads (ours first, then its intermediate CAs).
    int certs_seen = 0;
    std::vector<Bytes> cert_ders;
    // What the test may spoil in the answer.
    bool send_cert = true;
    bool corrupt_sig = false;

    // SA choice (message 1 -> 2 in main mode; aggressive mode goes on in on_am1).
    void take_sa(const isakmp::ParsedMessage& m) {
        cky_i_ = m.header.initiator_cookie;
        const auto* sa = isakmp::find_payload(m.payloads, PayloadType::Sa);
        REQUIRE(sa != nullptr);
        sai_b_.assign(sa->body.begin(), sa->body.end());
        auto parsed = isakmp::parse_sa(sai_b_);
        REQUIRE(parsed.ok());
        chosen_t_ = parsed->proposals.at(0).transforms.at(0);
        auto chosen = ike_proposal_from_transform(chosen_t_);
        REQUIRE(chosen.ok());
        chosen_ = *chosen;
        doi_ = parsed->doi;
    }
    Bytes sa_answer() const {
        isakmp::Proposal p;
        p.protocol = ike_attr::kProtocolIsakmp;
        p.transforms = {chosen_t_};
        return isakmp::encode_sa(isakmp::SaPayload{doi_, 0, {p}});
    }
    Bytes on_mm1(const Bytes& d) {
        auto m = parse(d);
        take_sa(m);
        isakmp::MessageBuilder b;
        b.add(PayloadType::Sa, sa_answer());
        return b.finish(reply_header(cky_i_, ExchangeType::IdentityProtection));
    }
    // KE + nonce in, keys derived (RFC 2409 §5: SKEYID = prf(Ni_b | Nr_b, g^xy)).
    void key_exchange(const std::vector<isakmp::RawPayload>& payloads) {
        const auto* ke = isakmp::find_payload(payloads, PayloadType::KeyExchange);
        const auto* ni = isakmp::find_payload(payloads, PayloadType::Nonce);
        REQUIRE((ke && ni));
        gxi_.assign(ke->body.begin(), ke->body.end());
        auto dh = crypto::DhExchange::generate(chosen_.group);
        REQUIRE(dh.ok());
        gxr_ = dh->public_value();
        auto gxy = dh->shared_secret(gxi_);
        REQUIRE(gxy.ok());
        nr_ = crypto::random_bytes(20);
        derive_sig_keys(chosen_, ni->body, nr_, *gxy, cky_i_, kCkyR, keys_);
        iv_ = phase1_iv(keys_, gxi_, gxr_);
        certreqs_ = 0;
        for (const auto& p : payloads) certreqs_ += p.type == PayloadType::CertificateRequest;
    }
    Bytes on_mm3(const Bytes& d) {
        auto m = parse(d);
        key_exchange(m.payloads);
        isakmp::MessageBuilder b;
        b.add(PayloadType::KeyExchange, gxr_).add(PayloadType::Nonce, nr_);
        return b.finish(reply_header(cky_i_, ExchangeType::IdentityProtection));
    }
    // IDir [CERT] SIG_R, SIG_R over HASH_R = prf(SKEYID, g^xr | g^xi | CKY-R | CKY-I | SAi_b | IDir_b).
    void add_identity(isakmp::MessageBuilder& b) {
        const Bytes idir_b = isakmp::encode_id(id_);
        const SecureBytes hash_r =
            crypto::prf(keys_.auth_hash, keys_.skeyid, {gxr_, gxi_, kCkyR, cky_i_, sai_b_, idir_b});
        auto key = crypto::PrivateKey::parse(test::key_text(cert_.key));
        REQUIRE(key.ok());
        auto sig = key->sign_hash(method_, hash_r);
        REQUIRE(sig.ok());
        if (corrupt_sig) sig->back() ^= 1;
        b.add(PayloadType::Identification, idir_b);
        if (send_cert) b.add(PayloadType::Certificate, isakmp::encode_certificate({4, cert_.der}));
        b.add(PayloadType::Signature, *sig);
    }
    // Checks the initiator's [IDii] CERT SIG_I; IDii from the chain or given (aggressive mode).
    bool sig_i_verifies(const std::vector<isakmp::RawPayload>& chain, ByteView idii_b) {
        const auto* id = isakmp::find_payload(chain, PayloadType::Identification);
        const auto* cert = isakmp::find_payload(chain, PayloadType::Certificate);
        const auto* sig = isakmp::find_payload(chain, PayloadType::Signature);
        if (!cert || !sig) return false;
        if (id) idii_b = id->body;
        certs_seen = 0;
        for (const auto& p : chain) {
            if (p.type != PayloadType::Certificate) continue;
            auto each = isakmp::parse_certificate(p.body);
            REQUIRE(each.ok());
            CHECK(each->encoding == 4);
            cert_ders.emplace_back(each->data.begin(), each->data.end());
            ++certs_seen;
        }
        auto c = isakmp::parse_certificate(cert->body);
        REQUIRE(c.ok());
        CHECK(c->encoding == 4);
        auto peer = crypto::Certificate::parse(c->data);
        REQUIRE(peer.ok());
        const SecureBytes hash_i =
            crypto::prf(keys_.auth_hash, keys_.skeyid, {gxi_, gxr_, cky_i_, kCkyR, sai_b_, idii_b});
        return crypto::verify_hash_signature(method_, *peer, hash_i, sig->body);
    }
    Bytes on_mm5(const Bytes& d, bool* sig_i_ok) {
        auto m = parse(d);
        REQUIRE(m.header.encrypted());
        auto opened = open_message(m.body, keys_, iv_);
        REQUIRE(opened.ok());
        iv_ = opened->next_iv;
        auto chain = isakmp::parse_payload_chain(m.header.next_payload, opened->plaintext,
                                                 isakmp::Trailing::AllowPadding);
        REQUIRE(chain.ok());
        *sig_i_ok = sig_i_verifies(*chain, {});
        isakmp::MessageBuilder b;
        add_identity(b);
        auto sealed = seal_message(reply_header(cky_i_, ExchangeType::IdentityProtection), b.first_type(),
                                   b.chain(), keys_, iv_);
        REQUIRE(sealed.ok());
        return *sealed;
    }
    Bytes on_am1(const Bytes& d) {
        auto m = parse(d);
        take_sa(m);
        key_exchange(m.payloads);
        const auto* id = isakmp::find_payload(m.payloads, PayloadType::Identification);
        REQUIRE(id != nullptr);
        idii_b_.assign(id->body.begin(), id->body.end());
        isakmp::MessageBuilder b;
        b.add(PayloadType::Sa, sa_answer()).add(PayloadType::KeyExchange, gxr_).add(PayloadType::Nonce, nr_);
        add_identity(b);
        return b.finish(reply_header(cky_i_, ExchangeType::Aggressive));
    }
    bool on_am3(const Bytes& d) {
        auto m = parse(d);
        REQUIRE(m.header.encrypted());
        auto opened = open_message(m.body, keys_, iv_);
        REQUIRE(opened.ok());
        auto chain = isakmp::parse_payload_chain(m.header.next_payload, opened->plaintext,
                                                 isakmp::Trailing::AllowPadding);
        REQUIRE(chain.ok());
        return sig_i_verifies(*chain, idii_b_);
    }
    int certreqs() const { return certreqs_; }

private:
    test::Issued cert_;
    SigAuthMethod method_;
    isakmp::IdPayload id_;
    isakmp::Cookie cky_i_{};
    isakmp::Transform chosen_t_;
    IkeProposal chosen_;
    uint32_t doi_ = 2;
    Bytes sai_b_, gxi_, gxr_, nr_, iv_, idii_b_;
    IkeSaKeys keys_;
    int certreqs_ = 0;
};

isakmp::IdPayload fqdn(const char* name) {
    return isakmp::IdPayload{static_cast<uint8_t>(isakmp::IdType::Fqdn), 0, 0, str(name)};
}

// Runs main mode to the end; returns whether the responder verified SIG_I.
bool run_main(Phase1Initiator& init, SigResponder& resp) {
    auto s1 = init.start(kT0);
    REQUIRE(s1.send.has_value());
    auto s2 = init.on_datagram(resp.on_mm1(*s1.send), kT0 + 1ms);
    REQUIRE(s2.send.has_value());
    auto s3 = init.on_datagram(resp.on_mm3(*s2.send), kT0 + 2ms);
    REQUIRE(s3.send.has_value());
    bool sig_i_ok = false;
    init.on_datagram(resp.on_mm5(*s3.send, &sig_i_ok), kT0 + 3ms);
    return sig_i_ok;
}

}  // namespace

TEST_CASE("signatures, main mode: CERTREQ, CERT + SIG_I that verifies, SIG_R accepted", "[phase1][sig]") {
    struct Row {
        const char* key;
        SigAuthMethod method;
        uint16_t attribute;
    };
    for (const Row& row :
         {Row{"RSA-2048", SigAuthMethod::Rsa, 3}, Row{"P-256", SigAuthMethod::EcdsaP256, 9},
          Row{"P-384", SigAuthMethod::EcdsaP384, 10}, Row{"P-521", SigAuthMethod::EcdsaP521, 11}}) {
        INFO(row.key);
        Pki pki(row.key);
        Phase1Initiator init(sig_config(pki, row.method, Phase1Mode::Main));
        SigResponder resp(pki.ks, row.method, fqdn("gcks.test"));
        auto s1 = init.start(kT0);
        REQUIRE(s1.send.has_value());
        // The proposal offers the configured Authentication Method.
        auto sa = isakmp::parse_sa(isakmp::find_payload(parse(*s1.send).payloads, PayloadType::Sa)->body);
        REQUIRE(sa.ok());
        const auto* auth = isakmp::find_attribute(sa->proposals[0].transforms[0].attributes,
                                                  ike_attr::kAuthenticationMethod);
        REQUIRE(auth != nullptr);
        CHECK(auth->as_integer() == row.attribute);
        auto s2 = init.on_datagram(resp.on_mm1(*s1.send), kT0 + 1ms);
        REQUIRE(s2.send.has_value());
        // Message 3: KE, Ni and one CERTREQ naming our CA (encoding 4, the CA's DER subject).
        auto m3 = parse(*s2.send);
        const auto* req = isakmp::find_payload(m3.payloads, PayloadType::CertificateRequest);
        REQUIRE(req != nullptr);
        auto creq = isakmp::parse_certificate(req->body);
        REQUIRE(creq.ok());
        CHECK(creq->encoding == 4);
        CHECK(creq->data == cert_of(pki.ca).subject_der());
        auto s3 = init.on_datagram(resp.on_mm3(*s2.send), kT0 + 2ms);
        REQUIRE(s3.send.has_value());
        CHECK(resp.certreqs() == 1);
        bool sig_i_ok = false;
        auto s4 = init.on_datagram(resp.on_mm5(*s3.send, &sig_i_ok), kT0 + 3ms);
        CHECK(sig_i_ok);
        CHECK_FALSE(s4.send.has_value());
        INFO(init.failure_message());
        CHECK(init.established());
        CHECK(init.sa().peer_id.data == str("gcks.test"));
    }
}

TEST_CASE("signatures, aggressive mode: IDii + CERTREQ, CERT + SIG_R, encrypted CERT + SIG_I",
          "[phase1][sig]") {
    for (const char* key : {"RSA-2048", "P-256"}) {
        INFO(key);
        Pki pki(key);
        const auto method = std::string(key) == "P-256" ? SigAuthMethod::EcdsaP256 : SigAuthMethod::Rsa;
        Phase1Initiator init(sig_config(pki, method, Phase1Mode::Aggressive));
        SigResponder resp(pki.ks, method, fqdn("gcks.test"));
        auto s1 = init.start(kT0);
        REQUIRE(s1.send.has_value());
        CHECK(isakmp::find_payload(parse(*s1.send).payloads, PayloadType::CertificateRequest) != nullptr);
        auto s2 = init.on_datagram(resp.on_am1(*s1.send), kT0 + 1ms);
        INFO(init.failure_message());
        REQUIRE(s2.send.has_value());
        CHECK(init.established());
        CHECK(resp.on_am3(*s2.send));
    }
}

TEST_CASE("signatures: the key server's certificate, identity and SIG_R are checked", "[phase1][sig]") {
    Pki pki("P-256");
    Phase1Config config = sig_config(pki, SigAuthMethod::EcdsaP256, Phase1Mode::Main);
    test::Issued ks = pki.ks;
    isakmp::IdPayload ks_id = fqdn("gcks.test");
    std::string expect;
    bool no_cert = false, bad_sig = false;
    SigAuthMethod resp_method = SigAuthMethod::EcdsaP256;
    SECTION("certificate from an unknown CA") {
        auto other = test::make_ca("other CA");
        ks = test::issue(test::make_key("P-256"), {}, &other);
        expect = "not issued by a CA of our CA file";
    }
    SECTION("expired certificate") {
        ks = test::issue(test::make_key("P-256"), {.not_before = -7200, .not_after = -3600}, &pki.ca);
        expect = "expired on";
    }
    SECTION("revoked certificate") {
        ks = test::issue(test::make_key("P-256"), {.serial = 77}, &pki.ca);
        auto trust = crypto::TrustStore::from_memory({pki.ca.der}, {test::make_crl(pki.ca, {77})});
        REQUIRE(trust.ok());
        config.sig->trust = std::make_shared<const crypto::TrustStore>(std::move(*trust));
        expect = "is revoked";
    }
    SECTION("certificate without digitalSignature") {
        ks = test::issue(test::make_key("P-256"), {.key_usage = "keyAgreement"}, &pki.ca);
        expect = "without digitalSignature";
    }
    SECTION("identity not in the certificate") {
        ks_id = fqdn("elsewhere.test");
        expect = "identity ID_FQDN elsewhere.test is not a name of the certificate (subject 'CN=gcks.test";
    }
    SECTION("pinned identity differs") {
        config.expected_peer_id = fqdn("other.test");
        expect = "but we expect ID_FQDN other.test";
    }
    SECTION("no CERT payload") {
        no_cert = true;
        expect = "sent no certificate";
    }
    SECTION("certificate with a key of another type") {
        ks = test::issue(test::make_key("P-384"), {}, &pki.ca);
        resp_method = SigAuthMethod::EcdsaP384;
        expect = "holds no key for the negotiated method ecdsa-256";
    }
    SECTION("SIG_R does not verify") {
        bad_sig = true;
        expect = "signature (SIG_R, ecdsa-256) does not verify";
    }
    Phase1Initiator init(std::move(config));
    SigResponder resp(ks, resp_method, ks_id);
    resp.send_cert = !no_cert;
    resp.corrupt_sig = bad_sig;
    const bool sig_i_ok = run_main(init, resp);
    if (resp_method == SigAuthMethod::EcdsaP256) CHECK(sig_i_ok);  // ours is fine in every case
    CHECK(init.failed());
    CHECK(init.failure() == Phase1Failure::AuthenticationFailed);
    INFO(init.failure_message());
    CHECK(init.failure_message().find(expect) != std::string::npos);
}

TEST_CASE("signatures: a pinned identity that holds; the chosen method must be the offered one",
          "[phase1][sig]") {
    Pki pki("RSA-2048");
    Phase1Config config = sig_config(pki, SigAuthMethod::Rsa, Phase1Mode::Main);
    config.expected_peer_id = fqdn("gcks.test");
    Phase1Initiator init(std::move(config));
    SigResponder resp(pki.ks, SigAuthMethod::Rsa, fqdn("gcks.test"));
    CHECK(run_main(init, resp));
    CHECK(init.established());

    // A key server that answers with pre-shared key authentication is refused.
    Phase1Initiator other(sig_config(pki, SigAuthMethod::Rsa, Phase1Mode::Main));
    auto s1 = other.start(kT0);
    auto m1 = parse(*s1.send);
    auto sa = isakmp::parse_sa(isakmp::find_payload(m1.payloads, PayloadType::Sa)->body);
    REQUIRE(sa.ok());
    auto t = sa->proposals[0].transforms[0];
    for (auto& a : t.attributes)
        if (a.type == ike_attr::kAuthenticationMethod) a = isakmp::Attribute::basic_attr(a.type, 1);
    isakmp::Proposal p;
    p.protocol = ike_attr::kProtocolIsakmp;
    p.transforms = {t};
    isakmp::MessageBuilder b;
    b.add(PayloadType::Sa, isakmp::encode_sa(isakmp::SaPayload{sa->doi, 0, {p}}));
    other.on_datagram(b.finish(reply_header(m1.header.initiator_cookie, ExchangeType::IdentityProtection)),
                      kT0 + 1ms);
    CHECK(other.failed());
    CHECK(other.failure() == Phase1Failure::ProtocolError);
    CHECK(other.failure_message().find("which we did not offer") != std::string::npos);
}

TEST_CASE("signatures: a subject DN pin names the certificate in either order, whatever ID type",
          "[phase1][sig][dn]") {
    Pki pki("P-256");
    const char* pin_text = "";
    bool accepted = true;
    SECTION("as our logs print it") { pin_text = "CN=gcks.test, O=gdoi-test"; }
    SECTION("as openssl x509 -subject prints it") { pin_text = "O = gdoi-test, CN = gcks.test"; }
    SECTION("another subject") {
        pin_text = "CN=other.test, O=gdoi-test";
        accepted = false;
    }
    Phase1Config config = sig_config(pki, SigAuthMethod::EcdsaP256, Phase1Mode::Main);
    auto pin = crypto::dn_id_from_text(pin_text);
    REQUIRE(pin.ok());
    config.expected_peer_id = *pin;
    Phase1Initiator init(std::move(config));
    SigResponder resp(pki.ks, SigAuthMethod::EcdsaP256, fqdn("gcks.test"));  // it identifies by ID_FQDN
    CHECK(run_main(init, resp));
    INFO(init.failure_message());
    CHECK(init.established() == accepted);
    if (!accepted)
        CHECK(
            init.failure_message().find("the key server identifies as ID_FQDN gcks.test (certificate subject "
                                        "'CN=gcks.test,O=gdoi-test'") != std::string::npos);
    if (!accepted)
        CHECK(init.failure_message().find("but we expect ID_DER_ASN1_DN 'O=gdoi-test,CN=other.test': check "
                                          "ike.peer-id") != std::string::npos);
}

TEST_CASE("signatures: the member sends the intermediate CAs of its chain after its certificate",
          "[phase1][sig]") {
    Pki pki("RSA-2048");
    auto sub = test::issue(test::make_key("P-256"), {.cn = "sub CA", .alt_names = "", .ca = true}, &pki.ca);
    auto gm = test::issue(pki.gm.key, {.cn = "gm1.test", .alt_names = "DNS:gm1.test"}, &sub);
    const auto mode = GENERATE(Phase1Mode::Main, Phase1Mode::Aggressive);
    Phase1Config config = sig_config(pki, SigAuthMethod::Rsa, mode);
    config.sig = credentials(gm, pki.ca, SigAuthMethod::Rsa);
    config.sig->intermediates = {std::make_shared<const crypto::Certificate>(cert_of(sub))};
    Phase1Initiator init(std::move(config));
    SigResponder resp(pki.ks, SigAuthMethod::Rsa, fqdn("gcks.test"));
    if (mode == Phase1Mode::Main) {
        CHECK(run_main(init, resp));
    } else {
        auto s1 = init.start(kT0);
        auto s2 = init.on_datagram(resp.on_am1(*s1.send), kT0 + 1ms);
        REQUIRE(s2.send.has_value());
        CHECK(resp.on_am3(*s2.send));
    }
    CHECK(init.established());
    CHECK(resp.certs_seen == 2);
    REQUIRE(resp.cert_ders.size() == 2);
    CHECK(resp.cert_ders[0] == gm.der);
    CHECK(resp.cert_ders[1] == sub.der);
}

TEST_CASE("signatures: AUTHENTICATION-FAILED gives the certificate hint only", "[phase1][sig]") {
    Pki pki("P-256");
    Phase1Initiator init(sig_config(pki, SigAuthMethod::EcdsaP256, Phase1Mode::Main));
    SigResponder resp(pki.ks, SigAuthMethod::EcdsaP256, fqdn("gcks.test"));
    auto s1 = init.start(kT0);
    auto m1 = parse(*s1.send);
    auto s2 = init.on_datagram(resp.on_mm1(*s1.send), kT0 + 1ms);
    auto s3 = init.on_datagram(resp.on_mm3(*s2.send), kT0 + 2ms);
    REQUIRE(s3.send.has_value());
    // An unprotected AUTHENTICATION-FAILED (24) instead of message 6 (RFC 2408 §3.14.1).
    isakmp::NotificationPayload n;
    n.type = 24;
    isakmp::MessageBuilder b;
    b.add(PayloadType::Notification, isakmp::encode_notification(n));
    auto h = reply_header(m1.header.initiator_cookie, ExchangeType::Informational);
    h.message_id = 0x01020304;
    init.on_datagram(b.finish(h), kT0 + 3ms);
    CHECK(init.failed());
    CHECK(init.failure() == Phase1Failure::AuthenticationFailed);
    INFO(init.failure_message());
    CHECK(init.failure_message().find("AUTHENTICATION-FAILED (" + std::string(kSigAuthHint) + ")") !=
          std::string::npos);
    CHECK(init.failure_message().find("pre-shared") == std::string::npos);
}
