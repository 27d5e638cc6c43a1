// Phase1Initiator, sans-IO: what it sends, how it reacts to refusals, malformed
// or unexpected answers and to silence, driven with hand-made datagrams and a
// small scripted main-mode responder (no network, no real clock).
#include "gdoi/phase1.h"

#include <catch2/catch.hpp>
#include <chrono>

#include "test_util.h"

using namespace gdoi;
using namespace std::chrono_literals;
using gdoi::test::hex;
using gdoi::test::parse;
using gdoi::test::str;
using isakmp::ExchangeType;
using isakmp::PayloadType;

namespace {

const Clock::time_point kT0{std::chrono::seconds(100000)};
const isakmp::Cookie kCkyR{0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8};

IkeProposal proposal(const char* name) {
    auto p = parse_ike_proposal(name);
    REQUIRE(p.ok());
    return *p;
}

Phase1Config config(std::vector<const char*> names, Phase1Mode mode = Phase1Mode::Main) {
    Phase1Config c;
    c.mode = mode;
    for (const char* n : names) c.proposals.push_back(proposal(n));
    c.psk = SecureBytes(str("test-psk"));
    c.local_id = isakmp::IdPayload{static_cast<uint8_t>(isakmp::IdType::Ipv4Addr), 0, 0, hex("c0000201")};
    c.retransmit = RetransmitPolicy{500ms, 4000ms, 15000ms};
    c.peer_name = "192.0.2.10:848";
    return c;
}

isakmp::SaPayload sa_of(const isakmp::ParsedMessage& m) {
    const auto* p = isakmp::find_payload(m.payloads, PayloadType::Sa);
    REQUIRE(p != nullptr);
    auto sa = isakmp::parse_sa(p->body);
    REQUIRE(sa.ok());
    return *sa;
}

isakmp::Header reply_header(const isakmp::ParsedMessage& to, ExchangeType exchange) {
    isakmp::Header h;
    h.initiator_cookie = to.header.initiator_cookie;
    h.responder_cookie = kCkyR;
    h.exchange = exchange;
    return h;
}

// Main-mode message 2 choosing the given transform.
Bytes mm2_choosing(const isakmp::ParsedMessage& mm1, const isakmp::Transform& t, uint32_t doi = 2,
                   uint32_t situation = 1) {
    isakmp::Proposal p;
    p.protocol = ike_attr::kProtocolIsakmp;
    p.transforms = {t};
    isakmp::MessageBuilder b;
    b.add(PayloadType::Sa, isakmp::encode_sa(isakmp::SaPayload{doi, situation, {p}}));
    return b.finish(reply_header(mm1, ExchangeType::IdentityProtection));
}

Bytes informational(const isakmp::ParsedMessage& to, uint16_t notify_type) {
    isakmp::NotificationPayload n;
    n.type = notify_type;
    n.spi.assign(to.header.initiator_cookie.begin(), to.header.initiator_cookie.end());
    n.spi.insert(n.spi.end(), 8, 0);
    isakmp::MessageBuilder b;
    b.add(PayloadType::Notification, isakmp::encode_notification(n));
    isakmp::Header h = reply_header(to, ExchangeType::Informational);
    h.responder_cookie = {};
    h.message_id = 0x1234;
    return b.finish(h);
}

// A minimal main-mode PSK responder written from RFC 2409 §5.4 with the codec and
// crypto primitives (SKEYID and the HASHes via crypto::prf, not phase1_hash). It
// answers one initiator and records what it derived, so the test can compare.
class ScriptedResponder {
public:
    ScriptedResponder(Bytes psk, isakmp::IdPayload id) : psk_(std::move(psk)), id_(std::move(id)) {}

    // Message 1 -> 2: choose the offered transform at index `pick`.
    Bytes on_mm1(const Bytes& datagram, size_t pick = 0) {
        auto m = parse(datagram);
        cky_i_ = m.header.initiator_cookie;
        const auto* sa_payload = isakmp::find_payload(m.payloads, PayloadType::Sa);
        REQUIRE(sa_payload != nullptr);
        sai_b_.assign(sa_payload->body.begin(), sa_payload->body.end());
        auto sa = isakmp::parse_sa(sai_b_);
        REQUIRE(sa.ok());
        const auto& t = sa->proposals.at(0).transforms.at(pick);
        auto chosen = ike_proposal_from_transform(t);
        REQUIRE(chosen.ok());
        chosen_ = *chosen;
        return mm2_choosing(m, t, sa->doi);
    }

    // Message 3 -> 4: KE and nonce; derives the keys.
    Bytes on_mm3(const Bytes& datagram) {
        auto m = parse(datagram);
        const auto* ke = isakmp::find_payload(m.payloads, PayloadType::KeyExchange);
        const auto* ni = isakmp::find_payload(m.payloads, PayloadType::Nonce);
        REQUIRE(ke != nullptr);
        REQUIRE(ni != nullptr);
        gxi_.assign(ke->body.begin(), ke->body.end());
        auto dh = crypto::DhExchange::generate(chosen_.group);
        REQUIRE(dh.ok());
        gxr_ = dh->public_value();
        auto gxy = dh->shared_secret(gxi_);
        REQUIRE(gxy.ok());
        Bytes nr = crypto::random_bytes(24);
        keys_ = derive_psk_keys(chosen_, psk_, ni->body, nr, *gxy, cky_i_, kCkyR);
        iv_ = phase1_iv(keys_, gxi_, gxr_);
        isakmp::MessageBuilder b;
        b.add(PayloadType::KeyExchange, gxr_).add(PayloadType::Nonce, nr);
        return b.finish(reply_header(m, ExchangeType::IdentityProtection));
    }

    // Message 5 -> 6: checks HASH_I, answers IDir and HASH_R under the phase-1 keys.
    Bytes on_mm5(const Bytes& datagram, bool* hash_i_ok = nullptr) {
        auto m = parse(datagram);
        REQUIRE(m.header.encrypted());
        auto opened = open_message(m.body, keys_, iv_);
        REQUIRE(opened.ok());
        iv_ = opened->next_iv;
        mm5_last_block_ = iv_;
        auto chain = isakmp::parse_payload_chain(m.header.next_payload, opened->plaintext,
                                                 isakmp::Trailing::AllowPadding);
        bool ok = false;
        if (chain) {
            const auto* id = isakmp::find_payload(*chain, PayloadType::Identification);
            const auto* hash = isakmp::find_payload(*chain, PayloadType::Hash);
            if (id != nullptr && hash != nullptr) {
                // HASH_I = prf(SKEYID, g^xi | g^xr | CKY-I | CKY-R | SAi_b | IDii_b)
                SecureBytes expected =
                    crypto::prf(keys_.hash, keys_.skeyid, {gxi_, gxr_, cky_i_, kCkyR, sai_b_, id->body});
                ok = expected.equals(hash->body);
                initial_contact_ = isakmp::find_payload(*chain, PayloadType::Notification) != nullptr;
            }
        }
        if (hash_i_ok) *hash_i_ok = ok;
        Bytes idir_b = isakmp::encode_id(id_);
        // HASH_R = prf(SKEYID, g^xr | g^xi | CKY-R | CKY-I | SAi_b | IDir_b)
        SecureBytes hash_r =
            crypto::prf(keys_.hash, keys_.skeyid, {gxr_, gxi_, kCkyR, cky_i_, sai_b_, idir_b});
        isakmp::MessageBuilder b;
        b.add(PayloadType::Identification, idir_b).add(PayloadType::Hash, hash_r);
        isakmp::Header h;
        h.initiator_cookie = cky_i_;
        h.responder_cookie = kCkyR;
        h.exchange = ExchangeType::IdentityProtection;
        auto sealed = seal_message(h, b.first_type(), b.chain(), keys_, iv_);
        REQUIRE(sealed.ok());
        return *sealed;
    }

    // An informational exchange under the phase-1 SA (RFC 2409 §5.7), e.g. an error
    // notification in place of message 6: its IV derives from the last block of message 5,
    // the last one the initiator has seen.
    Bytes protected_notification(uint16_t type, uint32_t message_id) {
        isakmp::NotificationPayload n;
        n.type = type;
        isakmp::MessageBuilder b;
        b.add(PayloadType::Hash,
              Bytes(crypto::hash_size(keys_.hash), 0));  // HASH(1) not checked by the initiator
        b.add(PayloadType::Notification, isakmp::encode_notification(n));
        isakmp::Header h;
        h.initiator_cookie = cky_i_;
        h.responder_cookie = kCkyR;
        h.exchange = ExchangeType::Informational;
        h.message_id = message_id;
        Bytes iv = phase2_iv(keys_, mm5_last_block_, message_id);
        auto sealed = seal_message(h, b.first_type(), b.chain(), keys_, iv);
        REQUIRE(sealed.ok());
        return *sealed;
    }

    const IkeProposal& chosen() const { return chosen_; }
    const IkeSaKeys& keys() const { return keys_; }
    const Bytes& iv() const { return iv_; }
    bool initial_contact() const { return initial_contact_; }

private:
    Bytes psk_;
    isakmp::IdPayload id_;
    isakmp::Cookie cky_i_{};
    Bytes sai_b_, gxi_, gxr_, iv_, mm5_last_block_;
    IkeProposal chosen_;
    IkeSaKeys keys_;
    bool initial_contact_ = false;
};

const isakmp::IdPayload kServerId{static_cast<uint8_t>(isakmp::IdType::Ipv4Addr), 17, 848, hex("c000020a")};

}  // namespace

// ---------------------------------------------------------------- message 1

TEST_CASE("start() sends a main-mode SA offer with one transform per proposal", "[phase1]") {
    Phase1Initiator init(config({"aes256-sha256-modp2048", "aes128-sha1-ecp256", "3des-sha384-modp1536"}));
    ExchangeStep step = init.start(kT0);
    REQUIRE(step.send.has_value());
    REQUIRE(step.deadline.has_value());
    CHECK(*step.deadline == kT0 + 500ms);
    CHECK_FALSE(init.finished());

    auto m = parse(*step.send);
    CHECK(m.header.exchange == ExchangeType::IdentityProtection);
    CHECK(m.header.initiator_cookie == init.initiator_cookie());
    CHECK(m.header.initiator_cookie != isakmp::Cookie{});
    CHECK(m.header.responder_cookie == isakmp::Cookie{});
    CHECK(m.header.message_id == 0);
    CHECK_FALSE(m.header.encrypted());
    REQUIRE(m.payloads.size() == 1);
    CHECK(m.payloads[0].type == PayloadType::Sa);

    auto sa = sa_of(m);
    CHECK(sa.doi == 2);        // RFC 6407 §2.1: GDOI DOI
    CHECK(sa.situation == 0);  // the GDOI DOI has no SIT_IDENTITY_ONLY (RFC 6407 §5.2)
    REQUIRE(sa.proposals.size() == 1);
    CHECK(sa.proposals[0].protocol == ike_attr::kProtocolIsakmp);
    CHECK(sa.proposals[0].spi.empty());
    REQUIRE(sa.proposals[0].transforms.size() == 3);
    const char* names[] = {"aes256-sha256-modp2048", "aes128-sha1-ecp256", "3des-sha384-modp1536"};
    for (size_t i = 0; i < 3; ++i) {
        const auto& t = sa.proposals[0].transforms[i];
        CHECK(t.number == i + 1);
        auto p = ike_proposal_from_transform(t);
        REQUIRE(p.ok());
        CHECK(p->name() == names[i]);
        CHECK(ike_lifetime_seconds(t) == 86400u);
    }
}

TEST_CASE("start() uses the configured DOI and lifetime", "[phase1]") {
    Phase1Config c = config({"aes128-sha1-modp2048"});
    c.sa_doi = 1;
    c.lifetime_seconds = 3600;
    Phase1Initiator init(std::move(c));
    auto step = init.start(kT0);
    REQUIRE(step.send.has_value());
    auto sa = sa_of(parse(*step.send));
    CHECK(sa.doi == 1);
    CHECK(sa.situation == 1);  // SIT_IDENTITY_ONLY, RFC 2407 §4.2.1
    REQUIRE(sa.proposals.at(0).transforms.size() == 1);
    CHECK(ike_lifetime_seconds(sa.proposals[0].transforms[0]) == 3600u);
}

TEST_CASE("message 1 bytes: DOI 2 with Situation 0, DOI 1 with SIT_IDENTITY_ONLY", "[phase1][issue10]") {
    // Decoded from the raw octets (RFC 2408 §3.4: DOI at SA body offset 0, Situation at 4), not
    // through parse_sa, as a bare listener on 848 would see them.
    auto doi = GENERATE(1u, 2u);
    auto mode = GENERATE(Phase1Mode::Main, Phase1Mode::Aggressive);
    Phase1Config c = config({"aes128-sha1-modp2048"}, mode);
    c.sa_doi = doi;
    Phase1Initiator init(std::move(c));
    auto step = init.start(kT0);
    REQUIRE(step.send.has_value());
    const Bytes& d = *step.send;
    REQUIRE(d.size() > isakmp::kHeaderSize + isakmp::kGenericHeaderSize + 8);
    CHECK(d[16] == static_cast<uint8_t>(PayloadType::Sa));  // first payload
    const size_t body = isakmp::kHeaderSize + isakmp::kGenericHeaderSize;
    auto u32 = [&](size_t at) {
        return (uint32_t{d[at]} << 24) | (uint32_t{d[at + 1]} << 16) | (uint32_t{d[at + 2]} << 8) | d[at + 3];
    };
    CHECK(u32(body) == doi);
    CHECK(u32(body + 4) == (doi == 2 ? 0u : 1u));
    CHECK(phase1_situation(doi) == (doi == 2 ? 0u : 1u));
}

TEST_CASE("message 2 with Situation 0 or SIT_IDENTITY_ONLY is accepted", "[phase1][issue10]") {
    auto situation = GENERATE(0u, 1u);
    Phase1Initiator init(config({"aes128-sha1-modp2048"}));
    auto s1 = init.start(kT0);
    auto m1 = parse(*s1.send);
    auto sa = sa_of(m1);
    auto s2 =
        init.on_datagram(mm2_choosing(m1, sa.proposals.at(0).transforms.at(0), 2, situation), kT0 + 1ms);
    CHECK(s2.send.has_value());
    CHECK_FALSE(init.finished());
}

TEST_CASE("the cookie is drawn with the exchange, before message 1", "[phase1]") {
    const auto mode = GENERATE(Phase1Mode::Main, Phase1Mode::Aggressive);
    // Main mode: a key pair per offered group; aggressive mode: one group in every proposal.
    const char* second = mode == Phase1Mode::Main ? "aes128-sha1-modp2048" : "aes256-sha256-ecp256";
    Phase1Initiator init(config({"aes128-sha1-ecp256", second}, mode));
    const isakmp::Cookie drawn = init.initiator_cookie();
    CHECK(drawn != isakmp::Cookie{});
    auto step = init.start(kT0);
    REQUIRE(step.send.has_value());
    CHECK(parse(*step.send).header.initiator_cookie == drawn);
    CHECK(init.initiator_cookie() == drawn);
}

TEST_CASE("each initiator uses a fresh cookie", "[phase1]") {
    Phase1Initiator a(config({"aes128-sha1-modp2048"})), b(config({"aes128-sha1-modp2048"}));
    (void)a.start(kT0);
    (void)b.start(kT0);
    CHECK(a.initiator_cookie() != b.initiator_cookie());
}

TEST_CASE("start() refuses an unusable configuration", "[phase1]") {
    SECTION("no proposal") {
        Phase1Initiator init(config({}));
        auto step = init.start(kT0);
        CHECK_FALSE(step.send.has_value());
        CHECK(init.failed());
        CHECK(init.failure() == Phase1Failure::LocalError);
        CHECK(init.failure_message().find("proposal") != std::string::npos);
    }
    SECTION("no pre-shared key") {
        Phase1Config c = config({"aes128-sha1-modp2048"});
        c.psk = SecureBytes();
        Phase1Initiator init(std::move(c));
        auto step = init.start(kT0);
        CHECK_FALSE(step.send.has_value());
        CHECK(init.failure() == Phase1Failure::LocalError);
        CHECK(init.failure_message().find("pre-shared key") != std::string::npos);
    }
    SECTION("aggressive mode with different groups") {
        Phase1Initiator init(config({"aes128-sha1-modp2048", "aes128-sha1-ecp256"}, Phase1Mode::Aggressive));
        auto step = init.start(kT0);
        CHECK_FALSE(step.send.has_value());
        CHECK(init.failure() == Phase1Failure::LocalError);
        CHECK(init.failure_message().find("same DH group") != std::string::npos);
    }
}

TEST_CASE("aggressive mode message 1 carries SA, KE, nonce and ID", "[phase1]") {
    Phase1Initiator init(config({"aes128-sha256-ecp256", "aes256-sha256-ecp256"}, Phase1Mode::Aggressive));
    auto step = init.start(kT0);
    REQUIRE(step.send.has_value());
    auto m = parse(*step.send);
    CHECK(m.header.exchange == ExchangeType::Aggressive);
    REQUIRE(m.payloads.size() == 4);
    CHECK(m.payloads[0].type == PayloadType::Sa);
    CHECK(m.payloads[1].type == PayloadType::KeyExchange);
    CHECK(m.payloads[1].body.size() == 64);
    CHECK(m.payloads[2].type == PayloadType::Nonce);
    CHECK(isakmp::parse_nonce(m.payloads[2].body).ok());
    CHECK(m.payloads[3].type == PayloadType::Identification);
    auto id = isakmp::parse_id(m.payloads[3].body);
    REQUIRE(id.ok());
    CHECK(id->data == hex("c0000201"));
    CHECK(sa_of(m).proposals.at(0).transforms.size() == 2);
}

// ---------------------------------------------------------------- refusals and bad answers

TEST_CASE("unencrypted NO-PROPOSAL-CHOSEN fails with NoProposalChosen", "[phase1]") {
    Phase1Initiator init(config({"aes128-sha1-modp2048"}));
    const Bytes d1 = *init.start(kT0).send;
    auto m1 = parse(d1);
    auto step = init.on_datagram(informational(m1, 14), kT0 + 10ms);
    CHECK_FALSE(step.send.has_value());
    CHECK_FALSE(step.deadline.has_value());
    CHECK(init.failed());
    CHECK(init.failure() == Phase1Failure::NoProposalChosen);
    CHECK(init.failure_message().find("NO-PROPOSAL-CHOSEN") != std::string::npos);
    // Finished: later events do nothing.
    CHECK_FALSE(init.on_timer(kT0 + 1s).send.has_value());
    CHECK(init.failure() == Phase1Failure::NoProposalChosen);
}

TEST_CASE("other error notifications fail with PeerNotification, status ones are ignored", "[phase1]") {
    Phase1Initiator init(config({"aes128-sha1-modp2048"}));
    const Bytes d1 = *init.start(kT0).send;
    auto m1 = parse(d1);
    auto status = init.on_datagram(informational(m1, 24576), kT0 + 10ms);  // RESPONDER-LIFETIME
    CHECK_FALSE(init.finished());
    CHECK(status.deadline.has_value());
    init.on_datagram(informational(m1, 18), kT0 + 20ms);  // INVALID-ID-INFORMATION
    CHECK(init.failure() == Phase1Failure::PeerNotification);
    CHECK(init.failure_message().find("INVALID-ID-INFORMATION") != std::string::npos);
}

TEST_CASE("private-use error notifications (8192..16383) fail the exchange", "[phase1]") {
    // RFC 2408 §3.14.1: 8192 - 16383 are private-use *errors*, not status.
    Phase1Initiator init(config({"aes128-sha1-modp2048"}));
    const Bytes d1 = *init.start(kT0).send;
    auto m1 = parse(d1);
    init.on_datagram(informational(m1, 9000), kT0 + 10ms);
    CHECK(init.failure() == Phase1Failure::PeerNotification);
    CHECK(init.failure_message().find("private-use error notification 9000") != std::string::npos);
}

TEST_CASE("responder choosing a transform we did not offer fails with ProtocolError", "[phase1]") {
    Phase1Initiator init(config({"aes128-sha1-modp2048", "aes256-sha256-ecp256"}));
    const Bytes d1 = *init.start(kT0).send;
    auto m1 = parse(d1);
    auto other = proposal("aes256-sha384-modp2048").to_transform(1, 86400);
    auto step = init.on_datagram(mm2_choosing(m1, other), kT0 + 10ms);
    CHECK_FALSE(step.send.has_value());
    CHECK(init.failed());
    CHECK(init.failure() == Phase1Failure::ProtocolError);
    CHECK(init.failure_message().find("aes256-sha384-modp2048") != std::string::npos);
    CHECK(init.failure_message().find("did not offer") != std::string::npos);
}

TEST_CASE("bad message 2 variants fail with ProtocolError", "[phase1]") {
    Phase1Initiator init(config({"aes128-sha1-modp2048"}));
    const Bytes d1 = *init.start(kT0).send;
    auto m1 = parse(d1);
    const auto offered = sa_of(m1).proposals[0].transforms[0];
    Bytes reply;
    SECTION("two transforms") {
        isakmp::Proposal p;
        p.protocol = 1;
        p.transforms = {offered, offered};
        reply = isakmp::MessageBuilder()
                    .add(PayloadType::Sa, isakmp::encode_sa(isakmp::SaPayload{2, 1, {p}}))
                    .finish(reply_header(m1, ExchangeType::IdentityProtection));
    }
    SECTION("no SA payload") {
        reply = isakmp::MessageBuilder()
                    .add(PayloadType::VendorId, hex("0102"))
                    .finish(reply_header(m1, ExchangeType::IdentityProtection));
    }
    SECTION("SA payload that does not parse") {
        reply = isakmp::MessageBuilder()
                    .add(PayloadType::Sa, hex("00000002 00000001 00 00 0010 01 01 00 01"))
                    .finish(reply_header(m1, ExchangeType::IdentityProtection));
    }
    SECTION("transform that is not PSK") {
        auto t = offered;
        for (auto& a : t.attributes)
            if (a.type == ike_attr::kAuthenticationMethod) a = isakmp::Attribute::basic_attr(a.type, 3);
        reply = mm2_choosing(m1, t);
    }
    init.on_datagram(reply, kT0 + 10ms);
    CHECK(init.failed());
    CHECK(init.failure() == Phase1Failure::ProtocolError);
    CHECK_FALSE(init.failure_message().empty());
}

TEST_CASE("datagrams that are not ours or do not parse are ignored", "[phase1]") {
    Phase1Initiator init(config({"aes128-sha1-modp2048"}));
    auto first = init.start(kT0);
    auto m1 = parse(*first.send);
    SECTION("garbage") {
        auto step = init.on_datagram(hex("00010203"), kT0 + 1ms);
        CHECK_FALSE(step.send.has_value());
        CHECK(step.deadline == first.deadline);
    }
    SECTION("another initiator cookie") {
        auto other = m1;
        other.header.initiator_cookie[0] ^= 0xff;
        init.on_datagram(mm2_choosing(other, sa_of(m1).proposals[0].transforms[0]), kT0 + 1ms);
        init.on_datagram(informational(other, 14), kT0 + 2ms);
    }
    SECTION("wrong exchange type for message 2") {
        auto reply = mm2_choosing(m1, sa_of(m1).proposals[0].transforms[0]);
        reply[18] = static_cast<uint8_t>(ExchangeType::Aggressive);
        init.on_datagram(reply, kT0 + 1ms);
    }
    CHECK_FALSE(init.finished());
    CHECK(init.failure() == Phase1Failure::None);
}

// ---------------------------------------------------------------- time

TEST_CASE("retransmission: same bytes at growing intervals, then Timeout", "[phase1][retransmit]") {
    Phase1Initiator init(config({"aes128-sha1-modp2048"}));
    auto first = init.start(kT0);
    REQUIRE(first.send.has_value());
    const Bytes m1 = *first.send;

    // Early timer: nothing to send.
    auto early = init.on_timer(kT0 + 100ms);
    CHECK_FALSE(early.send.has_value());
    CHECK(early.deadline == kT0 + 500ms);

    std::vector<std::chrono::milliseconds> gaps;
    Clock::time_point deadline = *first.deadline, last_send = kT0;
    int resent = 0;
    while (!init.finished()) {
        auto step = init.on_timer(deadline);
        if (step.send) {
            CHECK(*step.send == m1);
            gaps.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - last_send));
            last_send = deadline;
            ++resent;
        }
        if (!step.deadline) break;
        REQUIRE(*step.deadline > deadline);
        deadline = *step.deadline;
    }
    REQUIRE(gaps.size() >= 4);
    CHECK(gaps[0] == 500ms);
    CHECK(gaps[1] == 1000ms);
    CHECK(gaps[2] == 2000ms);
    CHECK(gaps[3] == 4000ms);
    for (size_t i = 1; i < gaps.size(); ++i) CHECK(gaps[i] >= gaps[i - 1]);
    CHECK(resent == 5);
    CHECK(deadline == kT0 + 15s);
    CHECK(init.failed());
    CHECK(init.failure() == Phase1Failure::Timeout);
    CHECK(init.failure_message().find("no answer from the key server") != std::string::npos);
    // silence is either unreachability or a silent refusal; both are named.
    CHECK(init.failure_message().find("not reachable") != std::string::npos);
    CHECK(init.failure_message().find("silently refuses our proposal, DOI (ike.doi 2) or identity") !=
          std::string::npos);
    CHECK(init.failure_message().find("check its log") != std::string::npos);
    CHECK(init.failure_message().find("6 transmissions") != std::string::npos);
}

TEST_CASE("on_timer long past the total time fails at once with Timeout", "[phase1][retransmit]") {
    Phase1Initiator init(config({"aes128-sha1-modp2048"}));
    (void)init.start(kT0);
    auto step = init.on_timer(kT0 + 1h);
    CHECK_FALSE(step.send.has_value());
    CHECK_FALSE(step.deadline.has_value());
    CHECK(init.failure() == Phase1Failure::Timeout);
    CHECK_FALSE(init.failure_message().empty());
}

// ---------------------------------------------------------------- full exchange

TEST_CASE("main mode against the scripted responder", "[phase1][exchange]") {
    auto names = GENERATE(as<std::string>{}, "aes128-sha1-modp2048", "aes256-sha1-ecp256",
                          "3des-sha1-modp1024", "aes192-sha384-ecp384", "aes256-sha512-ecp521");
    INFO(names);
    Phase1Config c = config({"aes128-sha256-modp3072", names.c_str()});
    Phase1Initiator init(std::move(c));
    ScriptedResponder resp(str("test-psk"), kServerId);

    auto s1 = init.start(kT0);
    auto s2 = init.on_datagram(resp.on_mm1(*s1.send, 1), kT0 + 1ms);
    REQUIRE(s2.send.has_value());
    CHECK(resp.chosen().name() == names);
    auto m3 = parse(*s2.send);
    REQUIRE(m3.payloads.size() == 2);
    CHECK(m3.payloads[0].type == PayloadType::KeyExchange);
    CHECK(m3.payloads[0].body.size() == crypto::dh_public_size(resp.chosen().group));
    CHECK(m3.payloads[1].type == PayloadType::Nonce);

    auto s3 = init.on_datagram(resp.on_mm3(*s2.send), kT0 + 2ms);
    REQUIRE(s3.send.has_value());
    auto m5 = parse(*s3.send);
    CHECK(m5.header.encrypted());
    CHECK(m5.header.next_payload == PayloadType::Identification);
    CHECK(m5.body.size() % resp.chosen().cipher.block_size() == 0);

    bool hash_i_ok = false;
    Bytes m6 = resp.on_mm5(*s3.send, &hash_i_ok);
    CHECK(hash_i_ok);
    CHECK(resp.initial_contact());
    auto s4 = init.on_datagram(m6, kT0 + 3ms);
    CHECK_FALSE(s4.send.has_value());
    REQUIRE(init.established());
    CHECK(init.failure() == Phase1Failure::None);

    const Phase1Sa& sa = init.sa();
    CHECK(sa.proposal.name() == names);
    CHECK(sa.responder_cookie == kCkyR);
    CHECK(sa.lifetime_seconds == 86400);
    CHECK(test::to_bytes(sa.keys.skeyid_d) == test::to_bytes(resp.keys().skeyid_d));
    CHECK(test::to_bytes(sa.keys.skeyid_a) == test::to_bytes(resp.keys().skeyid_a));
    CHECK(test::to_bytes(sa.keys.enc_key) == test::to_bytes(resp.keys().enc_key));
    CHECK(sa.last_iv == resp.iv());  // last CBC block of message 6
    CHECK(sa.last_iv == Bytes(m6.end() - static_cast<std::ptrdiff_t>(sa.keys.cipher.block_size()), m6.end()));
    CHECK(sa.peer_id.data == kServerId.data);
    CHECK(sa.peer_id.port == 848);
}

TEST_CASE("retransmitted message 2 is ignored, a retransmit is answered with message 3 again",
          "[phase1][exchange]") {
    Phase1Initiator init(config({"aes128-sha1-modp2048"}));
    ScriptedResponder resp(str("test-psk"), kServerId);
    auto s1 = init.start(kT0);
    Bytes mm2 = resp.on_mm1(*s1.send);
    auto s2 = init.on_datagram(mm2, kT0 + 1ms);
    REQUIRE(s2.send.has_value());
    auto dup = init.on_datagram(mm2, kT0 + 2ms);  // duplicate
    CHECK_FALSE(dup.send.has_value());
    CHECK_FALSE(init.finished());
    auto again = init.on_timer(*s2.deadline);
    REQUIRE(again.send.has_value());
    CHECK(*again.send == *s2.send);
}

TEST_CASE("wrong pre-shared key: message 6 does not verify -> AuthenticationFailed", "[phase1][exchange]") {
    Phase1Initiator init(config({"aes128-sha256-ecp256"}));
    ScriptedResponder resp(str("other-psk"), kServerId);
    auto s1 = init.start(kT0);
    auto s2 = init.on_datagram(resp.on_mm1(*s1.send), kT0 + 1ms);
    auto s3 = init.on_datagram(resp.on_mm3(*s2.send), kT0 + 2ms);
    REQUIRE(s3.send.has_value());
    bool hash_i_ok = true;
    Bytes m6 = resp.on_mm5(*s3.send, &hash_i_ok);
    CHECK_FALSE(hash_i_ok);
    init.on_datagram(m6, kT0 + 3ms);
    CHECK(init.failed());
    CHECK(init.failure() == Phase1Failure::AuthenticationFailed);
    CHECK(init.failure_message().find("pre-shared key") != std::string::npos);
}

TEST_CASE("protected AUTHENTICATION-FAILED instead of message 6 -> AuthenticationFailed",
          "[phase1][exchange]") {
    Phase1Initiator init(config({"aes256-sha256-modp2048"}));
    ScriptedResponder resp(str("test-psk"), kServerId);
    auto s1 = init.start(kT0);
    auto s2 = init.on_datagram(resp.on_mm1(*s1.send), kT0 + 1ms);
    auto s3 = init.on_datagram(resp.on_mm3(*s2.send), kT0 + 2ms);
    REQUIRE(s3.send.has_value());
    (void)resp.on_mm5(*s3.send);
    init.on_datagram(resp.protected_notification(24, 0x0badcafe), kT0 + 3ms);
    CHECK(init.failed());
    CHECK(init.failure() == Phase1Failure::AuthenticationFailed);
    CHECK(init.failure_message().find("AUTHENTICATION-FAILED") != std::string::npos);
}

TEST_CASE("message 4 with a bad KE or nonce -> ProtocolError", "[phase1][exchange]") {
    Phase1Initiator init(config({"aes128-sha1-modp2048"}));
    ScriptedResponder resp(str("test-psk"), kServerId);
    auto s1 = init.start(kT0);
    auto s2 = init.on_datagram(resp.on_mm1(*s1.send), kT0 + 1ms);
    REQUIRE(s2.send.has_value());
    auto m3 = parse(*s2.send);
    isakmp::MessageBuilder b;
    SECTION("KE of the wrong length") {
        b.add(PayloadType::KeyExchange, Bytes(255, 0x02)).add(PayloadType::Nonce, Bytes(16, 1));
    }
    SECTION("KE = 1") {
        Bytes one(256, 0);
        one.back() = 1;
        b.add(PayloadType::KeyExchange, one).add(PayloadType::Nonce, Bytes(16, 1));
    }
    SECTION("nonce too short") {
        Bytes two(256, 0);
        two.back() = 2;
        b.add(PayloadType::KeyExchange, two).add(PayloadType::Nonce, Bytes(7, 1));
    }
    SECTION("no nonce") { b.add(PayloadType::KeyExchange, Bytes(256, 0x02)); }
    init.on_datagram(b.finish(reply_header(m3, ExchangeType::IdentityProtection)), kT0 + 2ms);
    CHECK(init.failed());
    CHECK(init.failure() == Phase1Failure::ProtocolError);
}

TEST_CASE("timeout while waiting for message 6 points at the pre-shared key", "[phase1][retransmit]") {
    Phase1Initiator init(config({"aes128-sha1-modp2048"}));
    ScriptedResponder resp(str("test-psk"), kServerId);
    auto s1 = init.start(kT0);
    auto s2 = init.on_datagram(resp.on_mm1(*s1.send), kT0 + 1ms);
    auto s3 = init.on_datagram(resp.on_mm3(*s2.send), kT0 + 2ms);
    REQUIRE(s3.send.has_value());
    init.on_timer(kT0 + 16s);
    CHECK(init.failure() == Phase1Failure::Timeout);
    CHECK(init.failure_message().find("pre-shared key") != std::string::npos);
}

TEST_CASE("describe_notification names types and hints", "[phase1]") {
    CHECK(describe_notification(14).find("NO-PROPOSAL-CHOSEN") == 0);
    CHECK(describe_notification(24).find("AUTHENTICATION-FAILED") == 0);
    CHECK(describe_notification(8000) == "error notification 8000");
    CHECK(describe_notification(40000) == "status notification 40000");
    CHECK(std::string(phase1_mode_name(Phase1Mode::Aggressive)) == "aggressive");
}

TEST_CASE("protected status notification before message 6 is not a failure", "[phase1][exchange][bug]") {
    // Status notifications (type >= 16384, RFC 2408 §3.14.1) are not errors: the
    // cleartext path of handle_informational ignores them, but the encrypted path
    // (gdoi/src/exchanges/phase1.cpp, handle_informational, the WaitMm6 branch) fails the
    // exchange with PeerNotification for any notification, e.g. RESPONDER-LIFETIME
    // or INITIAL-CONTACT sent in their own informational exchange.
    Phase1Initiator init(config({"aes128-sha256-modp2048"}));
    ScriptedResponder resp(str("test-psk"), kServerId);
    auto s1 = init.start(kT0);
    auto s2 = init.on_datagram(resp.on_mm1(*s1.send), kT0 + 1ms);
    auto s3 = init.on_datagram(resp.on_mm3(*s2.send), kT0 + 2ms);
    REQUIRE(s3.send.has_value());
    Bytes m6 = resp.on_mm5(*s3.send);
    init.on_datagram(resp.protected_notification(24576, 0x01020304), kT0 + 3ms);  // RESPONDER-LIFETIME
    CHECK_FALSE(init.failed());
    init.on_datagram(m6, kT0 + 4ms);
    CHECK(init.established());
}

TEST_CASE("answers carrying another responder cookie are not processed", "[phase1][exchange][bug]") {
    // RFC 2408 §3.1: the cookie pair identifies the ISAKMP SA. Once message 2 fixed the
    // responder cookie, a message 4 with a different responder cookie belongs to some
    // other SA and must be ignored; on_datagram (gdoi/src/exchanges/phase1.cpp) compares only the
    // initiator cookie, so the initiator derives keys from it and sends message 5.
    Phase1Initiator init(config({"aes128-sha256-ecp256"}));
    ScriptedResponder resp(str("test-psk"), kServerId);
    auto s1 = init.start(kT0);
    auto s2 = init.on_datagram(resp.on_mm1(*s1.send), kT0 + 1ms);
    REQUIRE(s2.send.has_value());
    Bytes mm4 = resp.on_mm3(*s2.send);
    Bytes foreign = mm4;
    for (size_t i = 8; i < 16; ++i) foreign[i] ^= 0x5a;
    auto s3 = init.on_datagram(foreign, kT0 + 2ms);
    CHECK_FALSE(s3.send.has_value());
    CHECK_FALSE(init.finished());
    // The genuine message 4 still completes the exchange.
    auto s4 = init.on_datagram(mm4, kT0 + 3ms);
    REQUIRE(s4.send.has_value());
    init.on_datagram(resp.on_mm5(*s4.send), kT0 + 4ms);
    CHECK(init.established());
}
