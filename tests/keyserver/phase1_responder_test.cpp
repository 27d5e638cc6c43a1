// Our Phase1Initiator against the test key server's Phase1Responder, in memory: the
// datagrams are passed between the two by hand, time is a fixed clock.
#include "phase1_responder.h"

#include <catch2/catch.hpp>
#include <deque>
#include <string>

#include "gdoi/phase1.h"
#include "phase1_test_run.h"

using namespace gdoi;
using keyserver::Phase1Responder;
using keyserver::ResponderConfig;
using keyserver::ResponderStep;

namespace {

SecureBytes secret(const std::string& s) {
    return SecureBytes(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
}

IkeProposal prop(const std::string& name) {
    auto p = parse_ike_proposal(name);
    REQUIRE(p);
    return *p;
}

Endpoint ep(const std::string& addr, uint16_t port = 848) {
    auto e = Endpoint::parse(addr, port);
    REQUIRE(e);
    return *e;
}

isakmp::IdPayload ipv4_id(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
    isakmp::IdPayload id;
    id.type = static_cast<uint8_t>(isakmp::IdType::Ipv4Addr);
    id.data = {a, b, c, d};
    return id;
}

isakmp::IdPayload fqdn_id(const std::string& name) {
    isakmp::IdPayload id;
    id.type = static_cast<uint8_t>(isakmp::IdType::Fqdn);
    id.data.assign(name.begin(), name.end());
    return id;
}

const Clock::time_point T0 = Clock::time_point() + std::chrono::hours(1000);

ResponderConfig responder_config(std::vector<std::string> proposals, const std::string& psk = "the-psk") {
    ResponderConfig c;
    for (const auto& n : proposals) c.proposals.push_back(prop(n));
    c.psks.add("192.0.2.1", secret(psk));
    c.local_id = ipv4_id(192, 0, 2, 100);
    return c;
}

Phase1Config initiator_config(Phase1Mode mode, std::vector<std::string> proposals,
                              const std::string& psk = "the-psk") {
    Phase1Config c;
    c.mode = mode;
    for (const auto& n : proposals) c.proposals.push_back(prop(n));
    c.psk = secret(psk);
    c.local_id = ipv4_id(192, 0, 2, 1);
    c.peer_name = "test";
    return c;
}

using keyserver::test::Transcript;

// Runs one exchange to its end: every datagram one side sends is handed to the other.
Transcript run(Phase1Initiator& ini, Phase1Responder& resp, const Endpoint& from = ep("192.0.2.1"),
               Clock::time_point now = T0) {
    return keyserver::test::run_exchange(ini, resp, from, now);
}

bool same(const SecureBytes& a, const SecureBytes& b) {
    return !a.empty() && a.size() == b.size() && a.equals(b.view());
}

void require_same_sa(const Phase1Sa& i, const Phase1Sa& r) {
    CHECK(i.initiator_cookie == r.initiator_cookie);
    CHECK(i.responder_cookie == r.responder_cookie);
    CHECK(i.proposal == r.proposal);
    CHECK(same(i.keys.skeyid, r.keys.skeyid));
    CHECK(same(i.keys.skeyid_d, r.keys.skeyid_d));
    CHECK(same(i.keys.skeyid_a, r.keys.skeyid_a));
    CHECK(same(i.keys.skeyid_e, r.keys.skeyid_e));
    CHECK(same(i.keys.enc_key, r.keys.enc_key));
    CHECK(i.keys.enc_key.size() == i.proposal.cipher.key_size);
    CHECK(!i.last_iv.empty());
    CHECK(i.last_iv == r.last_iv);
    CHECK(i.lifetime_seconds == r.lifetime_seconds);
}

isakmp::SaPayload answered_sa(const Bytes& datagram) {
    auto m = isakmp::parse_message(datagram);
    REQUIRE(m);
    const auto* sa = isakmp::find_payload(m->payloads, isakmp::PayloadType::Sa);
    REQUIRE(sa != nullptr);
    auto parsed = isakmp::parse_sa(sa->body);
    REQUIRE(parsed);
    return *parsed;
}

}  // namespace

TEST_CASE("main and aggressive mode establish identical SAs on both sides", "[keyserver][phase1]") {
    const auto mode = GENERATE(Phase1Mode::Main, Phase1Mode::Aggressive);
    const std::string name =
        GENERATE(as<std::string>{}, "aes128-sha1-modp2048", "aes256-sha256-ecp256", "3des-sha384-modp1536",
                 "aes192-sha512-ecp384", "aes256-sha256-modp1024");
    CAPTURE(phase1_mode_name(mode), name);
    Phase1Responder resp(responder_config({"aes256-sha512-modp4096", name}));
    Phase1Initiator ini(initiator_config(mode, {name}));
    auto t = run(ini, resp);
    REQUIRE(ini.established());
    CHECK(t.to_responder.size() == (mode == Phase1Mode::Main ? 3u : 2u));
    CHECK(t.events.back() == ResponderStep::Event::Established);
    const auto* r = resp.find(ini.initiator_cookie());
    REQUIRE(r != nullptr);
    require_same_sa(ini.sa(), r->sa);
    CHECK(r->mode == mode);
    CHECK(r->peer == ep("192.0.2.1"));
    CHECK(r->doi == 2);
    CHECK(r->sa.peer_id.data == Bytes{192, 0, 2, 1});
    CHECK(ini.sa().peer_id.data == Bytes{192, 0, 2, 100});
    CHECK(resp.counters().established == 1);
    CHECK(resp.half_open() == 0);
    CHECK(resp.established().size() == 1);
    // The answer carries exactly one transform, the offered one with its attributes.
    auto sa = answered_sa(t.to_initiator.front());
    REQUIRE(sa.proposals.size() == 1);
    REQUIRE(sa.proposals[0].transforms.size() == 1);
    const auto offered = ini.sa().proposal.to_transform(1, 86400);
    CHECK(sa.proposals[0].transforms[0].attributes.size() == offered.attributes.size());
    CHECK(keyserver::responder_read_transform(sa.proposals[0].transforms[0]) == prop(name));
}

TEST_CASE("the responder picks the first acceptable transform in the initiator's order",
          "[keyserver][phase1]") {
    const auto mode = GENERATE(Phase1Mode::Main, Phase1Mode::Aggressive);
    // Aggressive mode needs one DH group in every offer.
    Phase1Responder resp(responder_config({"aes256-sha256-modp2048", "aes128-sha256-modp2048"}));
    Phase1Initiator ini(initiator_config(mode, {"3des-sha1-modp2048", "aes128-sha256-modp2048",
                                                "aes256-sha256-modp2048", "aes128-sha1-modp2048"}));
    auto t = run(ini, resp);
    REQUIRE(ini.established());
    CHECK(ini.sa().proposal == prop("aes128-sha256-modp2048"));
    auto sa = answered_sa(t.to_initiator.front());
    CHECK(sa.proposals[0].transforms[0].number == 2);  // transform number as offered
    require_same_sa(ini.sa(), resp.find(ini.initiator_cookie())->sa);
}

TEST_CASE("the responder echoes the initiator's SA DOI", "[keyserver][phase1]") {
    const uint32_t doi = GENERATE(1u, 2u);
    Phase1Responder resp(responder_config({"aes128-sha256-modp2048"}));
    auto cfg = initiator_config(Phase1Mode::Main, {"aes128-sha256-modp2048"});
    cfg.sa_doi = doi;
    Phase1Initiator ini(std::move(cfg));
    auto t = run(ini, resp);
    REQUIRE(ini.established());
    CHECK(answered_sa(t.to_initiator.front()).doi == doi);
    CHECK(resp.find(ini.initiator_cookie())->doi == doi);
}

TEST_CASE("drop_gdoi_situation: the member's offers pass, DOI 2 with Situation 1 is dropped silently",
          "[keyserver][phase1][issue10]") {
    const uint32_t doi = GENERATE(1u, 2u);
    const auto mode = GENERATE(Phase1Mode::Main, Phase1Mode::Aggressive);
    auto rc = responder_config({"aes128-sha256-modp2048"});
    rc.drop_gdoi_situation = true;
    Phase1Responder resp(std::move(rc));
    auto cfg = initiator_config(mode, {"aes128-sha256-modp2048"});
    cfg.sa_doi = doi;
    Phase1Initiator ini(std::move(cfg));
    run(ini, resp);
    CHECK(ini.established());  // our Situation: 0 with DOI 2, SIT_IDENTITY_ONLY with DOI 1

    // What the member sent before DOI 2 with SIT_IDENTITY_ONLY. No answer at all.
    Phase1Initiator other(initiator_config(mode, {"aes128-sha256-modp2048"}));
    const Bytes first = *other.start(T0).send;
    auto m1 = isakmp::parse_message(first);
    REQUIRE(m1);
    auto sa = answered_sa(first);
    CHECK(sa.situation == 0);
    sa.doi = 2;
    sa.situation = 1;
    isakmp::MessageBuilder b;
    b.add(isakmp::PayloadType::Sa, isakmp::encode_sa(sa));
    for (size_t i = 1; i < m1->payloads.size(); ++i) b.add(m1->payloads[i].type, m1->payloads[i].body);
    isakmp::Header h = m1->header;
    const auto before = resp.counters().dropped;
    auto step = resp.on_datagram(b.finish(h), ep("192.0.2.1"), T0);
    CHECK_FALSE(step.send.has_value());
    CHECK(resp.counters().dropped == before + 1);
}

TEST_CASE("a wrong pre-shared key fails on both sides", "[keyserver][phase1]") {
    SECTION("main mode: HASH_I fails at the responder, which says AUTHENTICATION-FAILED") {
        Phase1Responder resp(responder_config({"aes128-sha1-modp2048"}, "right"));
        Phase1Initiator ini(initiator_config(Phase1Mode::Main, {"aes128-sha1-modp2048"}, "wrong"));
        auto t = run(ini, resp);
        CHECK(ini.failed());
        CHECK(ini.failure() == Phase1Failure::AuthenticationFailed);
        CHECK(t.events.back() == ResponderStep::Event::Failed);
        CHECK(resp.counters().authentication_failed == 1);
        CHECK(resp.find(ini.initiator_cookie()) == nullptr);
        // The notification is protected (we have keys by then) and an informational exchange.
        auto last = isakmp::parse_message(t.to_initiator.back());
        REQUIRE(last);
        CHECK(last->header.exchange == isakmp::ExchangeType::Informational);
        CHECK(last->header.encrypted());
        // A retransmitted message 5 gets the same notification again.
        auto again = resp.on_datagram(t.to_responder.back(), ep("192.0.2.1"), T0);
        REQUIRE(again.send);
        CHECK(*again.send == t.to_initiator.back());
    }
    SECTION("aggressive mode: the initiator detects it from HASH_R") {
        Phase1Responder resp(responder_config({"aes128-sha1-modp2048"}, "right"));
        Phase1Initiator ini(initiator_config(Phase1Mode::Aggressive, {"aes128-sha1-modp2048"}, "wrong"));
        auto t = run(ini, resp);
        CHECK(ini.failed());
        CHECK(ini.failure() == Phase1Failure::AuthenticationFailed);
        CHECK(t.to_responder.size() == 1);  // no third message
        CHECK(resp.counters().established == 0);
        CHECK(resp.find(ini.initiator_cookie()) == nullptr);
        CHECK(resp.half_open() == 1);  // until it expires
    }
}

TEST_CASE("NO-PROPOSAL-CHOSEN reaches the initiator", "[keyserver][phase1]") {
    const auto mode = GENERATE(Phase1Mode::Main, Phase1Mode::Aggressive);
    Phase1Responder resp(responder_config({"aes256-sha512-ecp384", "aes128-sha256-modp2048"}));
    Phase1Initiator ini(initiator_config(mode, {"aes128-sha1-modp2048", "3des-sha1-modp2048"}));
    auto t = run(ini, resp);
    CHECK(ini.failed());
    CHECK(ini.failure() == Phase1Failure::NoProposalChosen);
    CHECK(resp.counters().no_proposal_chosen == 1);
    auto m = isakmp::parse_message(t.to_initiator.back());
    REQUIRE(m);
    CHECK(m->header.exchange == isakmp::ExchangeType::Informational);
    CHECK(!m->header.encrypted());
    CHECK(resp.half_open() == 0);  // nothing kept for a refused initiator
}

TEST_CASE("duplicates of the previous request get the previous answer again", "[keyserver][phase1]") {
    const auto mode = GENERATE(Phase1Mode::Main, Phase1Mode::Aggressive);
    Phase1Responder resp(responder_config({"aes128-sha256-modp2048"}));
    Phase1Initiator ini(initiator_config(mode, {"aes128-sha256-modp2048"}));
    auto t = run(ini, resp);
    REQUIRE(ini.established());
    if (mode == Phase1Mode::Main) {
        // Message 5 again (message 6 was lost): message 6 again, byte for byte.
        auto again = resp.on_datagram(t.to_responder.back(), ep("192.0.2.1"), T0);
        REQUIRE(again.send);
        CHECK(*again.send == t.to_initiator.back());
        CHECK(again.event == ResponderStep::Event::None);
    } else {
        // A duplicate of message 3 has no answer; the exchange stays established.
        auto again = resp.on_datagram(t.to_responder.back(), ep("192.0.2.1"), T0);
        CHECK(!again.send);
    }
    CHECK(resp.counters().established == 1);
    // An older request than the previous one is not answered.
    auto old = resp.on_datagram(t.to_responder.front(), ep("192.0.2.1"), T0);
    CHECK(!old.send);

    SECTION("the first message repeated before the second arrives") {
        Phase1Responder r2(responder_config({"aes128-sha256-modp2048"}));
        Phase1Initiator i2(initiator_config(mode, {"aes128-sha256-modp2048"}));
        auto s = i2.start(T0);
        REQUIRE(s.send);
        auto a1 = r2.on_datagram(*s.send, ep("192.0.2.1"), T0);
        auto a2 = r2.on_datagram(*s.send, ep("192.0.2.1"), T0);
        REQUIRE(a1.send);
        REQUIRE(a2.send);
        CHECK(*a1.send == *a2.send);
        CHECK(r2.counters().retransmitted == 1);
        CHECK(r2.half_open() == 1);
    }
}

TEST_CASE("several initiators at once, each with its own PSK by address", "[keyserver][phase1]") {
    ResponderConfig rc = responder_config({"aes128-sha256-modp2048", "aes256-sha1-ecp256"});
    rc.psks.add("192.0.2.2", secret("psk-two"));
    Phase1Responder resp(std::move(rc));
    Phase1Initiator a(initiator_config(Phase1Mode::Main, {"aes128-sha256-modp2048"}, "the-psk"));
    auto cb = initiator_config(Phase1Mode::Main, {"aes256-sha1-ecp256"}, "psk-two");
    cb.local_id = ipv4_id(192, 0, 2, 2);
    Phase1Initiator b(std::move(cb));
    const Endpoint ea = ep("192.0.2.1"), eb = ep("192.0.2.2");
    // Interleave the two exchanges message by message.
    auto sa1 = a.start(T0), sb1 = b.start(T0);
    std::optional<Bytes> da = sa1.send, db = sb1.send;
    for (int i = 0; i < 3; ++i) {
        REQUIRE(da);
        REQUIRE(db);
        CHECK(resp.half_open() + resp.established().size() == (i == 0 ? 0u : 2u));
        auto ra = resp.on_datagram(*da, ea, T0);
        auto rb = resp.on_datagram(*db, eb, T0);
        REQUIRE(ra.send);
        REQUIRE(rb.send);
        da = a.on_datagram(*ra.send, T0).send;
        db = b.on_datagram(*rb.send, T0).send;
    }
    REQUIRE(a.established());
    REQUIRE(b.established());
    CHECK(resp.established().size() == 2);
    require_same_sa(a.sa(), resp.find(a.initiator_cookie())->sa);
    require_same_sa(b.sa(), resp.find(b.initiator_cookie())->sa);
    CHECK(resp.find(b.initiator_cookie())->sa.proposal == prop("aes256-sha1-ecp256"));

    SECTION("a datagram for one exchange from another address is dropped") {
        Phase1Initiator c(initiator_config(Phase1Mode::Main, {"aes128-sha256-modp2048"}));
        auto s = c.start(T0);
        auto r = resp.on_datagram(*s.send, ea, T0);
        auto next = c.on_datagram(*r.send, T0);
        REQUIRE(next.send);
        auto wrong = resp.on_datagram(*next.send, ep("192.0.2.9"), T0);
        CHECK(!wrong.send);
    }
}

TEST_CASE("PSK lookup: by source address in main mode, by identity in aggressive mode",
          "[keyserver][phase1]") {
    SECTION("main mode from an address without a PSK") {
        Phase1Responder resp(responder_config({"aes128-sha256-modp2048"}));
        Phase1Initiator ini(initiator_config(Phase1Mode::Main, {"aes128-sha256-modp2048"}));
        run(ini, resp, ep("198.51.100.7"));
        CHECK(ini.failed());
        CHECK(resp.counters().no_psk == 1);
        CHECK(resp.half_open() == 0);
    }
    SECTION("aggressive mode by FQDN identity, from any address") {
        ResponderConfig rc = responder_config({"aes128-sha256-modp2048"});
        rc.psks.add("fqdn:member.example", secret("fqdn-psk"));
        Phase1Responder resp(std::move(rc));
        auto ic = initiator_config(Phase1Mode::Aggressive, {"aes128-sha256-modp2048"}, "fqdn-psk");
        ic.local_id = fqdn_id("member.example");
        Phase1Initiator ini(std::move(ic));
        run(ini, resp, ep("198.51.100.7"));
        REQUIRE(ini.established());
        const auto* r = resp.find(ini.initiator_cookie());
        REQUIRE(r);
        CHECK(keyserver::PskTable::id_key(r->sa.peer_id) == "fqdn:member.example");
        require_same_sa(ini.sa(), r->sa);
    }
    SECTION("aggressive mode: an unknown identity gets INVALID-ID-INFORMATION") {
        Phase1Responder resp(responder_config({"aes128-sha256-modp2048"}));
        auto ic = initiator_config(Phase1Mode::Aggressive, {"aes128-sha256-modp2048"});
        ic.local_id = fqdn_id("stranger.example");
        Phase1Initiator ini(std::move(ic));
        run(ini, resp);
        CHECK(ini.failed());
        CHECK(ini.failure() == Phase1Failure::PeerNotification);
        CHECK(resp.counters().no_psk == 1);
    }
    SECTION("the key for anyone") {
        ResponderConfig rc = responder_config({"aes128-sha256-modp2048"});
        rc.psks.set_any(secret("any-psk"));
        Phase1Responder resp(std::move(rc));
        Phase1Initiator ini(initiator_config(Phase1Mode::Main, {"aes128-sha256-modp2048"}, "any-psk"));
        run(ini, resp, ep("198.51.100.7"));
        CHECK(ini.established());
    }
}

TEST_CASE("half-open exchanges expire, established SAs live for their lifetime", "[keyserver][phase1]") {
    ResponderConfig rc = responder_config({"aes128-sha256-modp2048"});
    rc.exchange_timeout = std::chrono::seconds(30);
    Phase1Responder resp(std::move(rc));
    CHECK(resp.next_deadline() == Clock::time_point::max());
    auto cfg = initiator_config(Phase1Mode::Main, {"aes128-sha256-modp2048"});
    cfg.lifetime_seconds = 3600;
    Phase1Initiator done(std::move(cfg));
    run(done, resp);
    REQUIRE(done.established());
    Phase1Initiator half(initiator_config(Phase1Mode::Main, {"aes128-sha256-modp2048"}));
    auto s = half.start(T0);
    REQUIRE(resp.on_datagram(*s.send, ep("192.0.2.1"), T0).send);
    CHECK(resp.half_open() == 1);
    CHECK(resp.next_deadline() == T0 + std::chrono::seconds(30));
    CHECK(resp.on_timer(T0 + std::chrono::seconds(29)) == 0);
    CHECK(resp.on_timer(T0 + std::chrono::seconds(30)) == 1);
    CHECK(resp.half_open() == 0);
    CHECK(resp.find(done.initiator_cookie()) != nullptr);
    CHECK(resp.next_deadline() == T0 + std::chrono::seconds(3600));
    CHECK(resp.on_timer(T0 + std::chrono::seconds(3600)) == 1);
    CHECK(resp.find(done.initiator_cookie()) == nullptr);
    CHECK(resp.counters().expired == 2);
}

TEST_CASE("a lifetime of 0 (strongSwan without rekeying) means the default, capped", "[keyserver][phase1]") {
    ResponderConfig rc = responder_config({"aes128-sha256-modp2048"});
    rc.max_lifetime_seconds = 7200;
    Phase1Responder resp(std::move(rc));
    auto cfg = initiator_config(Phase1Mode::Main, {"aes128-sha256-modp2048"});
    cfg.lifetime_seconds = 0;
    Phase1Initiator ini(std::move(cfg));
    run(ini, resp);
    REQUIRE(ini.established());
    const auto* r = resp.find(ini.initiator_cookie());
    REQUIRE(r);
    CHECK(r->sa.lifetime_seconds == 7200);
    CHECK(resp.on_timer(T0 + std::chrono::seconds(1)) == 0);
    CHECK(resp.next_deadline() == T0 + std::chrono::seconds(7200));
}

TEST_CASE("aggressive mode with the third message in the clear (RFC 2409 §5.4 as written)",
          "[keyserver][phase1]") {
    // A hand-made initiator, independent of Phase1Initiator.
    const IkeProposal p = prop("aes256-sha256-modp2048");
    Phase1Responder resp(responder_config({"aes256-sha256-modp2048"}));
    auto dh = crypto::DhExchange::generate(p.group);
    REQUIRE(dh);
    const isakmp::Cookie ci{1, 2, 3, 4, 5, 6, 7, 8};
    const Bytes ni = crypto::random_bytes(16);
    isakmp::Proposal pr;
    pr.protocol = 1;
    pr.transforms = {p.to_transform(1, 28800)};
    const Bytes sai_b = isakmp::encode_sa(isakmp::SaPayload{1, 1, {pr}});
    const Bytes idii_b = isakmp::encode_id(ipv4_id(192, 0, 2, 1));
    isakmp::Header h;
    h.initiator_cookie = ci;
    h.exchange = isakmp::ExchangeType::Aggressive;
    isakmp::MessageBuilder b1;
    b1.add(isakmp::PayloadType::Sa, sai_b)
        .add(isakmp::PayloadType::KeyExchange, dh->public_value())
        .add(isakmp::PayloadType::Nonce, ni)
        .add(isakmp::PayloadType::Identification, idii_b);
    auto a2 = resp.on_datagram(b1.finish(h), ep("192.0.2.1"), T0);
    REQUIRE(a2.send);
    auto m2 = isakmp::parse_message(*a2.send);
    REQUIRE(m2);
    const auto* ke = isakmp::find_payload(m2->payloads, isakmp::PayloadType::KeyExchange);
    const auto* nr = isakmp::find_payload(m2->payloads, isakmp::PayloadType::Nonce);
    const auto* idr = isakmp::find_payload(m2->payloads, isakmp::PayloadType::Identification);
    const auto* hr = isakmp::find_payload(m2->payloads, isakmp::PayloadType::Hash);
    REQUIRE((ke && nr && idr && hr));
    const isakmp::Cookie cr = m2->header.responder_cookie;
    auto gxy = dh->shared_secret(ke->body);
    REQUIRE(gxy);
    auto keys = derive_psk_keys(p, secret("the-psk"), ni, nr->body, *gxy, ci, cr);
    CHECK(phase1_hash(keys, ke->body, dh->public_value(), cr, ci, sai_b, idr->body).equals(hr->body));
    const SecureBytes hash_i = phase1_hash(keys, dh->public_value(), ke->body, ci, cr, sai_b, idii_b);
    h.responder_cookie = cr;
    isakmp::MessageBuilder b3;
    b3.add(isakmp::PayloadType::Hash, hash_i);
    auto done = resp.on_datagram(b3.finish(h), ep("192.0.2.1"), T0);
    CHECK(done.event == ResponderStep::Event::Established);
    const auto* r = resp.find(ci);
    REQUIRE(r);
    CHECK(same(r->sa.keys.skeyid_d, keys.skeyid_d));
    // Nothing was encrypted in phase 1: the phase-2 IV chains from the phase-1 IV.
    CHECK(r->sa.last_iv == phase1_iv(keys, dh->public_value(), ke->body));
    CHECK(r->doi == 1);

    SECTION("a bad HASH_I in the clear is refused") {
        Phase1Responder r2(responder_config({"aes256-sha256-modp2048"}));
        isakmp::Header h2 = h;
        h2.responder_cookie = {};
        h2.initiator_cookie = {9, 9, 9, 9, 9, 9, 9, 9};
        auto ans = r2.on_datagram(b1.finish(h2), ep("192.0.2.1"), T0);
        REQUIRE(ans.send);
        h2.responder_cookie = isakmp::parse_message(*ans.send)->header.responder_cookie;
        auto bad = r2.on_datagram(b3.finish(h2), ep("192.0.2.1"), T0);
        CHECK(bad.event == ResponderStep::Event::Failed);
        CHECK(r2.counters().authentication_failed == 1);
    }
}

TEST_CASE("datagrams for an established SA are handed on, an authenticated Delete removes it",
          "[keyserver][phase1]") {
    Phase1Responder resp(responder_config({"aes128-sha256-modp2048"}));
    Phase1Initiator ini(initiator_config(Phase1Mode::Main, {"aes128-sha256-modp2048"}));
    run(ini, resp);
    REQUIRE(ini.established());
    const Phase1Sa& sa = ini.sa();
    isakmp::Header h;
    h.initiator_cookie = sa.initiator_cookie;
    h.responder_cookie = sa.responder_cookie;
    // A GROUPKEY-PULL message (exchange 32, message id != 0): not phase 1's business.
    h.exchange = isakmp::ExchangeType::GroupkeyPull;
    h.message_id = 0x01020304;
    isakmp::MessageBuilder b;
    b.add(isakmp::PayloadType::Hash, Bytes(32, 0));
    Bytes iv = phase2_iv(sa.keys, sa.last_iv, h.message_id);
    auto pull = seal_message(h, isakmp::PayloadType::Hash, b.chain(), sa.keys, iv);
    REQUIRE(pull);
    auto step = resp.on_datagram(*pull, ep("192.0.2.1"), T0);
    CHECK(step.event == ResponderStep::Event::Phase2);
    REQUIRE(step.sa != nullptr);
    CHECK(step.sa->sa.initiator_cookie == sa.initiator_cookie);

    // RFC 2409 §5.7: HDR*, HASH(1), D with HASH(1) = prf(SKEYID_a, M-ID | D).
    isakmp::DeletePayload d;
    d.protocol = 1;
    d.spi_size = 16;
    Bytes spi(sa.initiator_cookie.begin(), sa.initiator_cookie.end());
    spi.insert(spi.end(), sa.responder_cookie.begin(), sa.responder_cookie.end());
    d.spis = {spi};
    isakmp::MessageBuilder rest;
    rest.add(isakmp::PayloadType::Delete, isakmp::encode_delete(d));
    h.exchange = isakmp::ExchangeType::Informational;
    h.message_id = 0x0a0b0c0d;
    ByteWriter mid;
    mid.u32(h.message_id);
    SecureBytes hash1 = crypto::prf(sa.keys.hash, sa.keys.skeyid_a, {mid.data(), rest.chain()});
    isakmp::MessageBuilder info;
    info.add(isakmp::PayloadType::Hash, hash1).add(isakmp::PayloadType::Delete, isakmp::encode_delete(d));
    iv = phase2_iv(sa.keys, sa.last_iv, h.message_id);
    auto del = seal_message(h, isakmp::PayloadType::Hash, info.chain(), sa.keys, iv);
    REQUIRE(del);
    SECTION("with a wrong HASH(1) nothing happens") {
        Bytes forged = *del;
        forged.back() ^= 1;
        CHECK(resp.on_datagram(forged, ep("192.0.2.1"), T0).event == ResponderStep::Event::None);
        CHECK(resp.find(sa.initiator_cookie) != nullptr);
    }
    CHECK(resp.on_datagram(*del, ep("192.0.2.1"), T0).event == ResponderStep::Event::Deleted);
    CHECK(resp.find(sa.initiator_cookie) == nullptr);
}

TEST_CASE("transform reading is strict about what it does not know", "[keyserver][phase1]") {
    auto t = prop("aes128-sha256-modp2048").to_transform(1, 3600);
    CHECK(keyserver::responder_read_transform(t) == prop("aes128-sha256-modp2048"));
    SECTION("AES without a key length") {
        std::erase_if(t.attributes, [](const isakmp::Attribute& a) { return a.type == 14; });
        CHECK(!keyserver::responder_read_transform(t));
    }
    SECTION("an unknown attribute (PRF)") {
        t.attributes.push_back(isakmp::Attribute::basic_attr(13, 1));
        CHECK(!keyserver::responder_read_transform(t));
    }
    SECTION("a duplicate attribute") {
        t.attributes.push_back(isakmp::Attribute::basic_attr(2, 2));
        CHECK(!keyserver::responder_read_transform(t));
    }
    SECTION("RSA signatures instead of PSK") {
        for (auto& a : t.attributes)
            if (a.type == 3) a = isakmp::Attribute::basic_attr(3, 3);
        CHECK(!keyserver::responder_read_transform(t));
    }
}

// Runs one exchange like run(), but the initiator's datagram number `which` is changed in
// flight: one byte flipped at `pos`, or (truncate) cut to `pos` bytes.
void run_tampered(Phase1Initiator& ini, Phase1Responder& resp, size_t which, size_t pos, bool truncate) {
    keyserver::test::run_exchange(ini, resp, ep("192.0.2.1"), T0,
                                  keyserver::test::flip_or_cut(which, pos, truncate));
}

TEST_CASE("a message changed in flight never leaves the responder with an SA the initiator lacks",
          "[keyserver][phase1]") {
    const auto mode = GENERATE(Phase1Mode::Main, Phase1Mode::Aggressive);
    const bool truncate = GENERATE(false, true);
    CAPTURE(phase1_mode_name(mode), truncate);
    // Message sizes from a clean run (DH values and nonces have fixed lengths).
    Phase1Responder clean(responder_config({"aes128-sha256-ecp256"}));
    Phase1Initiator clean_ini(initiator_config(mode, {"aes128-sha256-ecp256"}));
    auto t = run(clean_ini, clean);
    REQUIRE(clean_ini.established());
    size_t established = 0, runs = 0;
    keyserver::test::for_each_position(t, 5, [&](size_t which, size_t pos) {
        CAPTURE(which, pos);
        Phase1Responder resp(responder_config({"aes128-sha256-ecp256"}));
        Phase1Initiator ini(initiator_config(mode, {"aes128-sha256-ecp256"}));
        run_tampered(ini, resp, which, pos, truncate);
        ++runs;
        const auto* r = resp.find(ini.initiator_cookie());
        if (r == nullptr) return;
        ++established;
        // Accepted anyway. IKEv1 authenticates only SAi_b and IDii_b with HASH_I: the
        // other payloads of the last message (INITIAL-CONTACT) and its padding are not
        // integrity-protected. A flipped byte in the LAST cipher block garbles only
        // those, so the responder accepts it, and its CBC chain (last_iv, hence every
        // phase-2 IV) then ends in the tampered block. Nothing else may get through.
        const size_t last = t.to_responder.size() - 1;
        const size_t block = r->sa.proposal.cipher.block_size();
        const bool in_last_block = which == last && pos >= t.to_responder[which].size() - block;
        REQUIRE(in_last_block);
        CHECK(same(ini.sa().keys.skeyid_d, r->sa.keys.skeyid_d));
        CHECK(same(ini.sa().keys.skeyid_a, r->sa.keys.skeyid_a));
        CHECK(same(ini.sa().keys.enc_key, r->sa.keys.enc_key));
        CHECK(ini.sa().proposal == r->sa.proposal);
        // Main mode: message 6 is encrypted from the tampered block, so the initiator
        // cannot read it and fails; aggressive mode: the initiator was done already.
        CHECK(ini.established() == (mode == Phase1Mode::Aggressive));
        CHECK(ini.sa().last_iv != r->sa.last_iv);
    });
    UNSCOPED_INFO(runs << " tampered runs, " << established << " established anyway");
    CHECK(runs > 50);
    if (truncate) CHECK(established == 0);
}
