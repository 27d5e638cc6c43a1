// Our Phase1Initiator with signatures (RFC 2409 §5.1) against the test key server's
// Phase1Responder with a certificate, in memory. The PKI (CA, the member's and the key
// server's certificates, CRLs) is made at run time by tests/unit/gdoi/test_pki.h.
#include <catch2/catch.hpp>
#include <deque>
#include <string>

#include "gdoi/cert.h"
#include "gdoi/phase1.h"
#include "phase1_responder.h"
#include "phase1_test_run.h"
#include "test_pki.h"

using namespace gdoi;
using crypto::SigAuthMethod;
using isakmp::PayloadType;
using keyserver::Phase1Responder;
using keyserver::ResponderConfig;
using keyserver::ResponderStep;

namespace {

const Clock::time_point T0 = Clock::time_point() + std::chrono::hours(1000);
constexpr uint16_t kAuthenticationFailed = 24;

Endpoint member_ep() {
    auto e = Endpoint::parse("192.0.2.1", 848);
    REQUIRE(e);
    return *e;
}

isakmp::IdPayload fqdn_id(const std::string& name) {
    return isakmp::IdPayload{static_cast<uint8_t>(isakmp::IdType::Fqdn), 0, 0,
                             Bytes(name.begin(), name.end())};
}

crypto::Certificate cert_of(const test::Issued& i) {
    auto c = crypto::Certificate::parse(i.der);
    REQUIRE(c.ok());
    return *c;
}

// Credentials with `cert`, signing with `signer`'s key (normally the certificate's own).
crypto::SigCredentials credentials(const test::Issued& cert, const test::TestKey& signer,
                                   const test::Issued& ca, SigAuthMethod method,
                                   std::vector<Bytes> crls = {}) {
    crypto::SigCredentials c;
    c.method = method;
    c.certificate = std::make_shared<const crypto::Certificate>(cert_of(cert));
    auto key = crypto::PrivateKey::parse(test::key_text(signer));
    REQUIRE(key.ok());
    c.private_key = std::make_shared<const crypto::PrivateKey>(std::move(*key));
    auto trust = crypto::TrustStore::from_memory({ca.der}, crls);
    REQUIRE(trust.ok());
    c.trust = std::make_shared<const crypto::TrustStore>(std::move(*trust));
    return c;
}

const char* key_type_of(SigAuthMethod m) {
    return m == SigAuthMethod::Rsa         ? "RSA-2048"
           : m == SigAuthMethod::EcdsaP256 ? "P-256"
           : m == SigAuthMethod::EcdsaP384 ? "P-384"
                                           : "P-521";
}

// One CA; the member's certificate (serial 2) and the key server's (serial 1).
struct Pki {
    explicit Pki(SigAuthMethod m) : ca(test::make_ca()) {
        gm = test::issue(test::make_key(key_type_of(m)),
                         {.cn = "gm1.test", .alt_names = "DNS:gm1.test, IP:192.0.2.1", .serial = 2}, &ca);
        ks = test::issue(test::make_key(key_type_of(m)), {}, &ca);
    }
    test::Issued ca, gm, ks;
};

struct Logged {
    std::vector<std::string> lines;
    bool has(const std::string& part) const {
        for (const auto& l : lines)
            if (l.find(part) != std::string::npos) return true;
        return false;
    }
};

ResponderConfig responder_config(const Pki& pki, SigAuthMethod m, Logged& logged,
                                 std::vector<Bytes> crls = {}) {
    ResponderConfig c;
    auto p = parse_ike_proposal("aes128-sha256-modp2048");
    REQUIRE(p);
    c.proposals = {*p};
    c.sig = credentials(pki.ks, pki.ks.key, pki.ca, m, std::move(crls));
    auto id = crypto::id_from_certificate(*c.sig->certificate, isakmp::IdType::DerAsn1Dn);
    REQUIRE(id.ok());
    c.local_id = *id;
    c.log = [&logged](LogLevel, const std::string& line) { logged.lines.push_back(line); };
    return c;
}

Phase1Config initiator_config(Phase1Mode mode, crypto::SigCredentials creds,
                              isakmp::IdPayload id = fqdn_id("gm1.test")) {
    Phase1Config c;
    c.mode = mode;
    auto p = parse_ike_proposal("aes128-sha256-modp2048");
    REQUIRE(p);
    c.proposals = {*p};
    c.sig = std::move(creds);
    c.local_id = std::move(id);
    c.peer_name = "test";
    return c;
}

using keyserver::test::Transcript;

Transcript run(Phase1Initiator& ini, Phase1Responder& resp) {
    return keyserver::test::run_exchange(ini, resp, member_ep(), T0);
}

// The notification type in the responder's protected informational (RFC 2409 §5.7), opened
// with the initiator's keys: the IV follows the last CBC block of phase 1, the tail of the
// member's last (encrypted) message.
uint16_t protected_notification_type(const Bytes& datagram, const Phase1Sa& sa, const Bytes& last_phase1) {
    auto m = isakmp::parse_message(datagram);
    REQUIRE(m);
    REQUIRE(m->header.exchange == isakmp::ExchangeType::Informational);
    REQUIRE(m->header.encrypted());
    const size_t block = sa.keys.cipher.block_size();
    REQUIRE(last_phase1.size() >= block);
    const Bytes last_block(last_phase1.end() - static_cast<std::ptrdiff_t>(block), last_phase1.end());
    auto opened = open_message(m->body, sa.keys, phase2_iv(sa.keys, last_block, m->header.message_id));
    REQUIRE(opened.ok());
    auto chain = isakmp::parse_payload_chain(m->header.next_payload, opened->plaintext,
                                             isakmp::Trailing::AllowPadding);
    REQUIRE(chain.ok());
    const auto* n = isakmp::find_payload(*chain, PayloadType::Notification);
    REQUIRE(n != nullptr);
    auto note = isakmp::parse_notification(n->body);
    REQUIRE(note.ok());
    return note->type;
}

// Is byte `pos` of an unencrypted datagram inside a CERTREQ payload (its generic header too)?
bool in_certreq(const Bytes& datagram, size_t pos) {
    auto m = isakmp::parse_message(datagram);
    if (!m || m->header.encrypted()) return false;
    for (const auto& p : m->payloads) {
        if (p.type != PayloadType::CertificateRequest) continue;
        const size_t body = static_cast<size_t>(p.body.data() - datagram.data());
        if (pos + 4 >= body && pos < body + p.body.size()) return true;
    }
    return false;
}

bool same(const SecureBytes& a, const SecureBytes& b) {
    return !a.empty() && a.size() == b.size() && a.equals(b.view());
}

}  // namespace

TEST_CASE("signatures: main and aggressive mode, RSA and ECDSA, establish on both sides",
          "[keyserver][phase1][sig]") {
    const auto mode = GENERATE(Phase1Mode::Main, Phase1Mode::Aggressive);
    const auto method = GENERATE(SigAuthMethod::Rsa, SigAuthMethod::EcdsaP256, SigAuthMethod::EcdsaP384,
                                 SigAuthMethod::EcdsaP521);
    CAPTURE(phase1_mode_name(mode), crypto::sig_auth_method_name(method));
    Pki pki(method);
    Logged logged;
    Phase1Responder resp(responder_config(pki, method, logged));
    Phase1Initiator ini(initiator_config(mode, credentials(pki.gm, pki.gm.key, pki.ca, method)));
    auto t = run(ini, resp);
    INFO(ini.failure_message());
    REQUIRE(ini.established());
    CHECK(t.events.back() == ResponderStep::Event::Established);
    const auto* r = resp.find(ini.initiator_cookie());
    REQUIRE(r != nullptr);
    CHECK(r->sa.proposal == ini.sa().proposal);
    CHECK(r->sa.proposal.auth_method == static_cast<uint16_t>(method));
    CHECK(same(r->sa.keys.skeyid_a, ini.sa().keys.skeyid_a));
    CHECK(same(r->sa.keys.enc_key, ini.sa().keys.enc_key));
    CHECK(r->sa.last_iv == ini.sa().last_iv);
    CHECK(r->sa.peer_id.data == Bytes{'g', 'm', '1', '.', 't', 'e', 's', 't'});
    CHECK(resp.counters().established == 1);
    CHECK(resp.counters().authentication_failed == 0);
    CHECK(logged.has("member 192.0.2.1 authenticated as ID_FQDN gm1.test (" +
                     std::string(crypto::sig_auth_method_name(method))));
    // The key server's answer with its own signature carries a CERTREQ for the members' CA.
    bool certreq = false;
    for (const auto& d : t.to_initiator) {
        auto m = isakmp::parse_message(d);
        REQUIRE(m);
        if (!m->header.encrypted())
            certreq = certreq || isakmp::find_payload(m->payloads, PayloadType::CertificateRequest);
    }
    CHECK(certreq);
}

TEST_CASE("signatures: the member may also identify by address or DN of its certificate",
          "[keyserver][phase1][sig]") {
    const auto mode = GENERATE(Phase1Mode::Main, Phase1Mode::Aggressive);
    Pki pki(SigAuthMethod::EcdsaP256);
    auto dn = crypto::id_from_certificate(cert_of(pki.gm), isakmp::IdType::DerAsn1Dn);
    REQUIRE(dn.ok());
    const isakmp::IdPayload address{static_cast<uint8_t>(isakmp::IdType::Ipv4Addr), 0, 0,
                                    Bytes{192, 0, 2, 1}};
    for (const auto& id : {*dn, address}) {
        CAPTURE(phase1_mode_name(mode), crypto::describe_id(id));
        Logged logged;
        Phase1Responder resp(responder_config(pki, SigAuthMethod::EcdsaP256, logged));
        Phase1Initiator ini(
            initiator_config(mode, credentials(pki.gm, pki.gm.key, pki.ca, SigAuthMethod::EcdsaP256), id));
        run(ini, resp);
        INFO(ini.failure_message());
        CHECK(ini.established());
        CHECK(resp.counters().established == 1);
        CHECK(logged.has("authenticated as " + crypto::describe_id(id)));
    }
}

TEST_CASE(
    "signatures: a member that does not authenticate gets AUTHENTICATION-FAILED and the reason is logged",
    "[keyserver][phase1][sig]") {
    const auto mode = GENERATE(Phase1Mode::Main, Phase1Mode::Aggressive);
    const auto method = GENERATE(SigAuthMethod::Rsa, SigAuthMethod::EcdsaP256);
    CAPTURE(phase1_mode_name(mode), crypto::sig_auth_method_name(method));
    Pki pki(method);
    Logged logged;
    std::vector<Bytes> crls;
    std::optional<crypto::SigCredentials> member;
    isakmp::IdPayload member_id = fqdn_id("gm1.test");
    std::vector<std::string> expected_log;  // parts of the failure line
    SECTION("certificate from an unknown CA") {
        auto other_ca = test::make_ca("other CA");
        auto gm = test::issue(test::make_key(key_type_of(method)),
                              {.cn = "gm1.test", .alt_names = "DNS:gm1.test", .serial = 2}, &other_ca);
        // The member trusts our CA (it checks our certificate), but its own is from elsewhere.
        member = credentials(gm, gm.key, pki.ca, method);
        expected_log = {
            "untrusted member certificate: member 192.0.2.1 (ID_FQDN gm1.test): the member's certificate",
            "is not issued by a CA of our CA file"};
    }
    SECTION("revoked certificate") {
        crls = {test::make_crl(pki.ca, {2})};
        member = credentials(pki.gm, pki.gm.key, pki.ca, method);
        expected_log = {
            "untrusted member certificate: member 192.0.2.1 (ID_FQDN gm1.test): the member's certificate",
            "is revoked by its CA's CRL"};
    }
    SECTION("identity not in its certificate") {
        member = credentials(pki.gm, pki.gm.key, pki.ca, method);
        member_id = fqdn_id("gm2.test");
        expected_log = {"member identity mismatch: member 192.0.2.1 (ID_FQDN gm2.test)"};
    }
    SECTION("signing with a key that is not its certificate's") {
        member = credentials(pki.gm, test::make_key(key_type_of(method)), pki.ca, method);
        expected_log = {"bad member signature: member 192.0.2.1 (ID_FQDN gm1.test): SIG_I",
                        "does not verify with the key of its certificate"};
    }
    Phase1Responder resp(responder_config(pki, method, logged, crls));
    Phase1Initiator ini(initiator_config(mode, *member, member_id));
    auto t = run(ini, resp);
    CHECK(t.events.back() == ResponderStep::Event::Failed);
    CHECK(resp.counters().established == 0);
    CHECK(resp.counters().authentication_failed == 1);
    CHECK(resp.find(ini.initiator_cookie()) == nullptr);
    // The last answer is AUTHENTICATION-FAILED, protected with the phase-1 keys.
    REQUIRE(t.to_initiator.size() == (mode == Phase1Mode::Main ? 3u : 2u));
    CHECK(protected_notification_type(t.to_initiator.back(), ini.sa(), t.to_responder.back()) ==
          kAuthenticationFailed);
    if (mode == Phase1Mode::Main) CHECK(ini.failure() == Phase1Failure::AuthenticationFailed);
    const std::string last_line = logged.lines.empty() ? std::string() : logged.lines.back();
    INFO(last_line);
    CHECK(logged.has("phase1 with 192.0.2.1:848 failed: "));
    for (const auto& part : expected_log) CHECK(logged.has(part));
    CHECK(!logged.has("authenticated as"));
}

TEST_CASE("signatures: transforms of another method or PSK without a key are refused, PSK still works",
          "[keyserver][phase1][sig]") {
    Pki pki(SigAuthMethod::EcdsaP256);
    Logged logged;
    SECTION("an RSA member against an ECDSA key server: NO-PROPOSAL-CHOSEN") {
        Pki rsa(SigAuthMethod::Rsa);
        Phase1Responder resp(responder_config(pki, SigAuthMethod::EcdsaP256, logged));
        Phase1Initiator ini(
            initiator_config(Phase1Mode::Main, credentials(rsa.gm, rsa.gm.key, pki.ca, SigAuthMethod::Rsa)));
        run(ini, resp);
        CHECK(ini.failure() == Phase1Failure::NoProposalChosen);
        CHECK(resp.counters().no_proposal_chosen == 1);
    }
    SECTION("a PSK member is served as before with its key") {
        auto rc = responder_config(pki, SigAuthMethod::EcdsaP256, logged);
        rc.psks.add("192.0.2.1",
                    SecureBytes(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>("k"), 1)));
        Phase1Responder resp(std::move(rc));
        Phase1Config c;
        c.mode = Phase1Mode::Main;
        auto p = parse_ike_proposal("aes128-sha256-modp2048");
        REQUIRE(p);
        c.proposals = {*p};
        c.psk = SecureBytes(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>("k"), 1));
        c.local_id =
            isakmp::IdPayload{static_cast<uint8_t>(isakmp::IdType::Ipv4Addr), 0, 0, Bytes{192, 0, 2, 1}};
        c.peer_name = "test";
        Phase1Initiator ini(std::move(c));
        run(ini, resp);
        CHECK(ini.established());
        CHECK(!logged.has("authenticated as"));
    }
}

TEST_CASE("responder_read_transform accepts the signature method it is given, only that one",
          "[keyserver][phase1][sig]") {
    auto p = parse_ike_proposal("aes128-sha256-modp2048");
    REQUIRE(p);
    auto t = p->to_transform(1, 3600);
    for (auto& a : t.attributes)
        if (a.type == 3) a = isakmp::Attribute::basic_attr(3, 9);
    CHECK(!keyserver::responder_read_transform(t));
    CHECK(!keyserver::responder_read_transform(t, SigAuthMethod::Rsa));
    auto read = keyserver::responder_read_transform(t, SigAuthMethod::EcdsaP256);
    REQUIRE(read);
    CHECK(read->auth_method == 9);
}

TEST_CASE("signatures: a member message changed in flight never gives the responder an SA it should not have",
          "[keyserver][phase1][sig]") {
    // Every payload the member sends (SA, KE, nonce, ID, CERTREQ, CERT, SIG; encrypted or not)
    // passes through the responder's parsers with bytes flipped or cut (ASan checks the reads).
    const auto mode = GENERATE(Phase1Mode::Main, Phase1Mode::Aggressive);
    const bool truncate = GENERATE(false, true);
    CAPTURE(phase1_mode_name(mode), truncate);
    Pki pki(SigAuthMethod::EcdsaP256);
    Logged logged;
    const auto creds = credentials(pki.gm, pki.gm.key, pki.ca, SigAuthMethod::EcdsaP256);
    Phase1Responder clean(responder_config(pki, SigAuthMethod::EcdsaP256, logged));
    Phase1Initiator clean_ini(initiator_config(mode, creds));
    auto t = run(clean_ini, clean);
    REQUIRE(clean_ini.established());
    size_t runs = 0, certreq_or_last = 0;
    keyserver::test::for_each_position(t, 9, [&](size_t which, size_t pos) {
        CAPTURE(which, pos);
        Phase1Responder resp(responder_config(pki, SigAuthMethod::EcdsaP256, logged));
        Phase1Initiator ini(initiator_config(mode, creds));
        keyserver::test::run_exchange(ini, resp, member_ep(), T0,
                                      keyserver::test::flip_or_cut(which, pos, truncate));
        ++runs;
        const auto* r = resp.find(ini.initiator_cookie());
        if (r == nullptr) return;
        // As with PSK: only the last cipher block of the member's last message is not
        // covered by what SIG_I signs (padding, INITIAL-CONTACT), and neither is a CERTREQ
        // (RFC 2408 §3.10: a hint, which the responder answers with its one certificate
        // anyway); nothing else gets through.
        const size_t last = t.to_responder.size() - 1;
        const size_t block = r->sa.proposal.cipher.block_size();
        REQUIRE(!truncate);
        REQUIRE(((which == last && pos >= t.to_responder[which].size() - block) ||
                 in_certreq(t.to_responder[which], pos)));
        ++certreq_or_last;
        CHECK(same(ini.sa().keys.skeyid_d, r->sa.keys.skeyid_d));
    });
    UNSCOPED_INFO(runs << " tampered runs, " << certreq_or_last << " established anyway");
    CHECK(runs > 100);
}
