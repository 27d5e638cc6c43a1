// member::GroupSession against the test key server (phase-1 responder + pull responder)
// in memory, with a fake clock: registration, failover, re-registration before expiry,
// recovery-probe back-off, rekeys with RFC 8263 ACKs.
#include <catch2/catch.hpp>
#include <iostream>
#include <map>
#include <set>

#include "../../gdoi/test_pki.h"
#include "dataplane/dataplane.h"
#include "dataplane/dataplane_rekey.h"
#include "gcks.h"
#include "gdoi/groupkey_push_ack.h"
#include "phase1_responder.h"
#include "session/group_session.h"

namespace {

using gdoi::Bytes;
using gdoi::Clock;
using namespace std::chrono_literals;

const char* kPsk = "session-test-psk";

gdoi::SecureBytes psk() {
    return gdoi::SecureBytes(gdoi::ByteView(reinterpret_cast<const uint8_t*>(kPsk), 16));
}

gdoi::Endpoint ep(const char* a, uint16_t port = 848) { return *gdoi::Endpoint::parse(a, port); }

gdoi::Tek tek(uint32_t spi, uint32_t lifetime) { return gcks::example_tek(spi, lifetime); }

// One key server: phase-1 responder plus a pull responder per established phase-1 SA.
struct KeyServer {
    keyserver::Phase1Responder phase1;
    const gcks::Group& group;
    std::map<gdoi::isakmp::Cookie, std::unique_ptr<gcks::PullResponder>> pulls;
    std::vector<gdoi::Phase1Sa> registrations;
    bool up = true;

    static keyserver::ResponderConfig config() {
        keyserver::ResponderConfig c;
        c.proposals = {*gdoi::parse_ike_proposal("aes128-sha256-ecp256")};
        c.psks.set_any(psk());
        c.local_id.type = 1;
        c.local_id.data = {10, 0, 0, 2};
        return c;
    }
    explicit KeyServer(const gcks::Group& g, keyserver::ResponderConfig c = config())
        : phase1(std::move(c)), group(g) {}

    std::optional<Bytes> receive(const Bytes& datagram, const gdoi::Endpoint& from, Clock::time_point now) {
        if (!up) return std::nullopt;
        auto step = phase1.on_datagram(datagram, from, now);
        if (step.event == keyserver::ResponderStep::Event::Established) registrations.push_back(step.sa->sa);
        if (step.event == keyserver::ResponderStep::Event::Phase2) {
            auto& pull = pulls[step.sa->sa.initiator_cookie];
            if (!pull) pull = std::make_unique<gcks::PullResponder>(step.sa->sa, group);
            return pull->on_datagram(datagram);
        }
        return step.send;
    }
};

struct Harness {
    gcks::Group group = gcks::Group::make(42, {tek(0x1001, 100)}, gdoi::crypto::SigAlgorithm::Rsa);
    std::map<std::string, std::unique_ptr<KeyServer>> servers;
    gdoi::Endpoint member_ep = ep("10.0.0.1");
    Clock::time_point now = Clock::time_point{} + 1000h;
    std::vector<gdoi::GroupState> installed;
    std::vector<Clock::time_point> registration_starts;

    Harness() { group.state.kek->lifetime_seconds = 1000; }

    // When the registrations started, in seconds after t0.
    std::vector<long> start_offsets(Clock::time_point t0) const {
        std::vector<long> out;
        for (auto t : registration_starts)
            out.push_back(std::chrono::duration_cast<std::chrono::seconds>(t - t0).count());
        return out;
    }

    // One key server at 10.0.0.2 whose keys outlive the test (no re-registration timers).
    member::SessionConfig long_lived_session() {
        group.state.teks[0].lifetime_seconds = 100000;
        group.state.kek->lifetime_seconds = 100000;
        auto a = ep("10.0.0.2");
        servers[a.to_string()] = std::make_unique<KeyServer>(group);
        return config({a});
    }

    member::SessionConfig config(std::vector<gdoi::Endpoint> addrs) {
        member::SessionConfig c;
        c.name = "G42";
        c.group_id = 42;
        c.servers = std::move(addrs);
        c.phase1.proposals = {*gdoi::parse_ike_proposal("aes128-sha256-ecp256")};
        c.phase1.psk = psk();
        c.phase1.local_id.type = 1;
        c.phase1.local_id.data = {10, 0, 0, 1};
        c.retransmit.total = 3s;
        return c;
    }

    // Delivers everything the session sends (and the answers) until it goes quiet.
    void deliver(member::GroupSession& s, member::SessionOutput out) {
        std::vector<member::Outgoing> queue = std::move(out.send);
        if (out.install) installed.push_back(std::move(*out.install));
        for (size_t i = 0; i < queue.size() && i < 1000; ++i) {
            auto key = queue[i].to.to_string();
            if (!servers.count(key)) continue;
            auto answer = servers[key]->receive(queue[i].datagram, member_ep, now);
            if (!answer) continue;
            auto more = s.on_datagram(*answer, queue[i].to, now);
            if (more.install) installed.push_back(std::move(*more.install));
            for (auto& m : more.send) queue.push_back(std::move(m));
        }
    }
    // Runs the session's timers until `until`, delivering traffic as it goes.
    void run_until(member::GroupSession& s, Clock::time_point until) {
        for (int guard = 0; guard < 10000; ++guard) {
            auto d = s.next_deadline();
            if (d > until) break;
            now = std::max(now, d);
            auto before = s.state();
            auto out = s.on_timer(now);
            if (before != member::SessionState::Phase1 && s.state() == member::SessionState::Phase1)
                registration_starts.push_back(now);
            deliver(s, std::move(out));
        }
        now = until;
    }
};

}  // namespace

TEST_CASE("session registers and fails over to the second key server when the first is down") {
    Harness h;
    auto a = ep("10.0.0.2"), b = ep("10.0.0.3");
    h.servers[a.to_string()] = std::make_unique<KeyServer>(h.group);
    h.servers[b.to_string()] = std::make_unique<KeyServer>(h.group);
    h.servers[a.to_string()]->up = false;
    member::GroupSession s(h.config({a, b}));
    h.deliver(s, s.start(h.now));
    CHECK(s.state() == member::SessionState::Phase1);
    h.run_until(s, h.now + 10s);
    REQUIRE(s.state() == member::SessionState::Registered);
    CHECK(s.server_index() == 1);
    CHECK(s.counters().registration_failures == 1);
    CHECK(s.counters().registrations == 1);
    CHECK_THAT(s.server_errors()[0], Catch::Contains("no answer"));
    CHECK(s.server_failures() == std::vector<uint64_t>{1, 0});
    REQUIRE(h.installed.size() == 1);
    REQUIRE(h.installed[0].teks.size() == 1);
    CHECK(h.installed[0].teks[0].spi == 0x1001);
    CHECK(h.installed[0].teks[0].encryption_key.equals(h.group.state.teks[0].encryption_key));
}

TEST_CASE("every key server down: the session waits, then retries with backoff") {
    Harness h;
    auto a = ep("10.0.0.2");
    h.servers[a.to_string()] = std::make_unique<KeyServer>(h.group);
    h.servers[a.to_string()]->up = false;
    member::GroupSession s(h.config({a}));
    h.deliver(s, s.start(h.now));
    h.run_until(s, h.now + 5s);
    CHECK(s.state() == member::SessionState::WaitingRetry);
    h.servers[a.to_string()]->up = true;
    h.run_until(s, h.now + 20s);
    CHECK(s.state() == member::SessionState::Registered);
}

TEST_CASE("session re-registers before the keys expire when no rekey came") {
    Harness h;
    auto a = ep("10.0.0.2");
    h.servers[a.to_string()] = std::make_unique<KeyServer>(h.group);
    member::GroupSession s(h.config({a}));
    auto t0 = h.now;
    h.deliver(s, s.start(h.now));
    REQUIRE(s.state() == member::SessionState::Registered);
    REQUIRE(s.reregister_at());
    // TEK lifetime 100 s: re-registration at 85 % of it, before expiry.
    CHECK(*s.reregister_at() - t0 == std::chrono::duration_cast<Clock::duration>(85s));
    h.run_until(s, t0 + 84s);
    CHECK(s.counters().registrations == 1);
    h.run_until(s, t0 + 90s);
    CHECK(s.counters().registrations == 2);
    CHECK(h.installed.size() == 2);
}

TEST_CASE("keys running low without a rekey although a KEK was sent: the note says pushes may be blocked") {
    Harness h;
    auto a = ep("10.0.0.2");
    h.servers[a.to_string()] = std::make_unique<KeyServer>(h.group);
    member::GroupSession s(h.config({a}));
    auto t0 = h.now;
    h.deliver(s, s.start(h.now));
    REQUIRE(s.state() == member::SessionState::Registered);
    REQUIRE(h.group.state.kek);
    CHECK(s.rekey_note().empty());
    h.run_until(s, t0 + 90s);  // re-registered at 85 s: no push came
    CHECK(s.counters().registrations == 2);
    CHECK(s.rekey_note().find("may drop its pushes") != std::string::npos);
    // An accepted push clears it.
    gdoi::Tek next = tek(0x2002, 100);
    gcks::Group::key_tek(next);
    Bytes push = gcks::build_push(h.group, 2, {next}, {0x1001});
    REQUIRE(s.on_datagram(push, a, h.now).install);
    CHECK(s.rekey_note().empty());
}

TEST_CASE("recovery probe pulls again after 10, 20, 40, 80, 160, 320 s, then stops") {
    Harness h;
    member::GroupSession s(h.long_lived_session());
    h.deliver(s, s.start(h.now));
    REQUIRE(s.state() == member::SessionState::Registered);
    auto t0 = h.now;
    s.recovery_trigger(t0, "unknown SPI");
    h.run_until(s, t0 + 2000s);
    const auto offsets = h.start_offsets(t0);
    CHECK(offsets == std::vector<long>{10, 30, 70, 150, 310, 630});
    CHECK(s.counters().recovery_probes == 6);
}

TEST_CASE("a quiet dataplane ends the probe sequence only after the first probe ran") {
    Harness h;
    member::GroupSession s(h.long_lived_session());
    h.deliver(s, s.start(h.now));
    auto t0 = h.now;
    s.recovery_trigger(t0, "unknown SPI");
    s.recovery_quiet();  // before the first probe: the burst still gets probed
    CHECK(s.recovery_active());
    h.run_until(s, t0 + 15s);
    CHECK(s.counters().recovery_probes == 1);
    s.recovery_quiet();
    CHECK_FALSE(s.recovery_active());
    h.run_until(s, t0 + 2000s);
    CHECK(s.counters().recovery_probes == 1);
}

TEST_CASE("recovery probe is off when configured off") {
    Harness h;
    auto a = ep("10.0.0.2");
    h.servers[a.to_string()] = std::make_unique<KeyServer>(h.group);
    auto config = h.config({a});
    config.recovery_probe = false;
    member::GroupSession s(config);
    h.deliver(s, s.start(h.now));
    s.recovery_trigger(h.now, "outbound-only traffic");
    h.run_until(s, h.now + 60s);
    CHECK(s.counters().recovery_probes == 0);
}

TEST_CASE("an accepted rekey installs new keys and answers with an ACK the key server verifies") {
    Harness h;
    auto a = ep("10.0.0.2");
    h.group.state.kek->ack_requested = true;
    h.servers[a.to_string()] = std::make_unique<KeyServer>(h.group);
    member::GroupSession s(h.config({a}));
    h.deliver(s, s.start(h.now));
    REQUIRE(s.state() == member::SessionState::Registered);
    gdoi::Tek next = tek(0x2002, 100);
    gcks::Group::key_tek(next);
    Bytes push = gcks::build_push(h.group, 2, {next}, {0x1001});
    auto hdr = gdoi::isakmp::parse_header(push);
    REQUIRE(s.owns(*hdr));
    auto out = s.on_datagram(push, a, h.now);
    REQUIRE(out.install);
    REQUIRE(out.install->teks.size() == 1);
    CHECK(out.install->teks[0].spi == 0x2002);
    CHECK(s.counters().rekeys_accepted == 1);
    REQUIRE(out.send.size() == 1);
    CHECK(s.counters().acks_sent == 1);
    const auto& reg = h.servers[a.to_string()]->registrations.back();
    auto acked = gdoi::verify_push_ack(out.send[0].datagram, reg, *h.group.state.kek);
    REQUIRE(acked);
    CHECK(*acked == 2);
    // The same push again is a replay: rejected and counted, no ACK, no install.
    auto again = s.on_datagram(push, a, h.now);
    CHECK_FALSE(again.install);
    CHECK(again.send.empty());
    CHECK(s.counters().rekeys_rejected[static_cast<size_t>(gdoi::PushReject::Replay)] == 1);
}

TEST_CASE("keys the kernel refused: registration again after 10, 20, 40 s until an install succeeds") {
    Harness h;
    member::GroupSession s(h.long_lived_session());
    h.deliver(s, s.start(h.now));
    REQUIRE(s.state() == member::SessionState::Registered);
    auto t0 = h.now;
    s.install_failed(t0, "kernel has no ESP support");
    CHECK_THAT(s.detail(), Catch::Contains("keys not installed (kernel has no ESP support)") &&
                               Catch::Contains("registering again in 10 s"));
    // Each new registration's keys fail again (as the daemon would report them).
    for (int i = 0; i < 3; ++i) {
        const auto before = h.installed.size();
        h.run_until(s, s.next_deadline());
        REQUIRE(h.installed.size() == before + 1);
        s.install_failed(h.now, "kernel has no ESP support");
    }
    const auto offsets = h.start_offsets(t0);
    CHECK(offsets == std::vector<long>{10, 30, 70});
    // Installed at last: the backoff starts over, no more registrations than re-registration needs.
    s.install_succeeded();
    h.run_until(s, h.now + 1000s);
    CHECK(h.registration_starts.size() == 4);  // the retry already scheduled (80 s) still runs once
    s.install_failed(h.now, "again");
    CHECK(s.next_deadline() - h.now == std::chrono::duration_cast<Clock::duration>(10s));
}

TEST_CASE("a push under a KEK we do not hold (missed KEK rekey): registration again at once, then backoff") {
    Harness h;
    auto a = ep("10.0.0.2");
    member::GroupSession s(h.long_lived_session());
    h.deliver(s, s.start(h.now));
    REQUIRE(s.state() == member::SessionState::Registered);
    REQUIRE(s.counters().registrations == 1);

    // The key server rekeys its KEK; the push carrying it (SEQ 2) is lost on the way.
    gdoi::Kek next = gcks::next_kek(h.group);
    gdoi::Tek t2 = tek(0x2002, 100000);
    gcks::Group::key_tek(t2);
    h.group.state.kek = next;
    h.group.state.teks = {t2};
    h.group.state.sequence = 2;
    // The next push comes under the new KEK: the session does not own it (the daemon counts it
    // as unknown-kek on the port's keyed groups).
    gdoi::Tek t3 = tek(0x3003, 100000);
    gcks::Group::key_tek(t3);
    Bytes under_new = gcks::build_push(h.group, 3, {t3}, {0x2002});
    REQUIRE_FALSE(s.owns(*gdoi::isakmp::parse_header(under_new)));
    auto t0 = h.now;
    s.record_push_reject(gdoi::PushReject::UnknownKek, "cookies name no KEK we hold", t0);
    REQUIRE(s.kek_resync_at());
    CHECK(*s.kek_resync_at() == t0);  // promptly, not at 85 % of the lifetime (days away)
    s.record_push_reject(gdoi::PushReject::UnknownKek, "again", t0);  // a burst: one registration
    h.run_until(s, t0 + 1s);
    CHECK(h.start_offsets(t0) == std::vector<long>{0});
    REQUIRE(s.counters().registrations == 2);
    REQUIRE(s.group_state() != nullptr);
    CHECK(s.group_state()->kek->spi == next.spi);
    // Now the new KEK's pushes are ours and accepted.
    REQUIRE(s.owns(*gdoi::isakmp::parse_header(under_new)));
    auto out = s.on_datagram(under_new, a, h.now);
    REQUIRE(out.install);
    CHECK(s.counters().rekeys_accepted == 1);

    // Unknown-KEK pushes that keep coming without an accepted push: 0 s, then 10 s, 20 s.
    Harness h2;
    member::GroupSession s2(h2.long_lived_session());
    h2.deliver(s2, s2.start(h2.now));
    auto u0 = h2.now;
    for (int i = 0; i < 3; ++i) {
        s2.record_push_reject(gdoi::PushReject::UnknownKek, "stray", h2.now);
        h2.run_until(s2, s2.next_deadline());
        h2.run_until(s2, h2.now + 1s);
    }
    CHECK(h2.start_offsets(u0) == std::vector<long>{0, 11, 32});
    CHECK(s2.counters().registrations == 4);
}

namespace {

// A Dataplane that keeps only the kernel's SA count: the rekey schedule KernelDataplane uses
// (dataplane_rekey.h), its steps applied to a set of inbound SAs and one outbound SA.
class CountingDataplane : public member::Dataplane {
public:
    std::set<uint32_t> inbound;
    std::optional<uint32_t> outbound;
    size_t max_inbound = 0;

    common::Status start(const member::MemberConfig&) override { return {}; }
    common::Status apply(const member::GroupConfig&, const gdoi::GroupState& state,
                         Clock::time_point now) override {
        std::vector<uint32_t> spis;
        for (const auto& t : state.teks) spis.push_back(t.spi);
        run(schedule_.on_state(spis, std::chrono::seconds(state.gap.activation_time_delay),
                               std::chrono::seconds(state.gap.deactivation_time_delay), now));
        return {};
    }
    common::Status remove_group(const member::GroupConfig&) override { return {}; }
    Clock::time_point next_deadline() const override { return schedule_.next_deadline(); }
    void on_timer(Clock::time_point now) override { run(schedule_.on_timer(now)); }
    common::Status flush() override { return {}; }
    void shutdown() override {}
    std::optional<member::GroupRules> rules(const member::GroupConfig&) const override {
        return std::nullopt;
    }
    member::TekRole tek_role(const member::GroupConfig&, uint32_t) const override { return {}; }

private:
    void run(const std::vector<member::RekeyStep>& steps) {
        for (const auto& s : steps) {
            switch (s.kind) {
                case member::RekeyStep::Kind::install_inbound:
                    inbound.insert(s.spi);
                    break;
                case member::RekeyStep::Kind::remove_inbound:
                    inbound.erase(s.spi);
                    break;
                case member::RekeyStep::Kind::activate:
                    outbound = s.spi;
                    break;
                case member::RekeyStep::Kind::remove_outbound:
                    outbound.reset();
                    break;
                case member::RekeyStep::Kind::keyed:
                    break;
            }
        }
        max_inbound = std::max(max_inbound, inbound.size());
    }
    member::RekeySchedule schedule_;
};

}  // namespace

TEST_CASE("100 rekeys without Delete: superseded TEKs retire, the kernel's SA count stays bounded") {
    const auto period = GENERATE(std::chrono::seconds(60), std::chrono::seconds(15));
    Harness h;
    h.group.state.gap = gdoi::Gap{10, 30};  // ATD 10 s, DTD 30 s
    member::GroupSession s(h.long_lived_session());
    h.group.state.teks[0].lifetime_seconds = 3600;
    CountingDataplane dp;
    member::GroupConfig gc;
    h.deliver(s, s.start(h.now));
    REQUIRE(h.installed.size() == 1);
    REQUIRE(dp.apply(gc, h.installed[0], h.now));
    size_t max_state = 0;
    auto advance = [&](Clock::time_point until) {
        for (int guard = 0; guard < 1000; ++guard) {
            auto d = std::min(s.next_deadline(), dp.next_deadline());
            if (d > until) break;
            h.now = std::max(h.now, d);
            if (dp.next_deadline() <= h.now) dp.on_timer(h.now);
            if (s.next_deadline() <= h.now) {
                auto out = s.on_timer(h.now);
                if (out.install) REQUIRE(dp.apply(gc, *out.install, h.now));
            }
        }
        h.now = until;
    };
    uint32_t old_spi = 0x1001;
    for (uint32_t seq = 2; seq <= 101; ++seq) {
        gdoi::Tek next = tek(0x10000 + seq, 3600);
        gcks::Group::key_tek(next);
        auto out =
            s.on_datagram(gcks::build_push(h.group, seq, {next}, {}), ep("10.0.0.2"), h.now);  // no Delete
        REQUIRE(out.install);
        max_state = std::max(max_state, out.install->teks.size());
        REQUIRE(dp.apply(gc, *out.install, h.now));
        old_spi = next.spi;
        advance(h.now + period);
    }
    advance(h.now + 120s);
    REQUIRE(s.group_state() != nullptr);
    // Bound: ATD + DTD = 40 s; at most 1 + ceil(40 / R) inbound SAs (R = the rekey period).
    const size_t bound = 1 + static_cast<size_t>((40 + period.count() - 1) / period.count());
    std::cout << "100 rekeys without Delete every " << period.count() << " s: at most " << max_state
              << " TEK(s) in the group state, at most " << dp.max_inbound
              << " inbound SA(s) + 1 outbound in the kernel"
              << " (bound " << bound << "); at the end " << s.group_state()->teks.size() << " TEK(s), "
              << dp.inbound.size() << " inbound SA(s)" << std::endl;
    CHECK(dp.max_inbound <= bound);
    CHECK(max_state <= bound);
    CHECK(s.group_state()->teks.size() == 1);
    CHECK(s.group_state()->teks[0].spi == old_spi);
    CHECK(dp.inbound == std::set<uint32_t>{old_spi});
    CHECK(dp.outbound == old_spi);
    CHECK(s.counters().rekeys_accepted == 100);
    CHECK(s.counters().registrations == 1);
}

namespace {

// A CA, a key server certificate (serial 2, IP 10.0.0.2) and a member certificate (serial 3,
// IP 10.0.0.1), RSA: the credentials of both sides, trusting the CA without CRLs.
struct SigPki {
    gdoi::test::Issued ca = gdoi::test::make_ca();
    gdoi::test::Issued ks = issue_leaf("gcks.test", "DNS:gcks.test, IP:10.0.0.2", 2);
    gdoi::test::Issued gm = issue_leaf("gm1.test", "IP:10.0.0.1", 3);

    gdoi::test::Issued issue_leaf(const std::string& cn, const std::string& alt, long serial) {
        gdoi::test::CertSpec spec;
        spec.cn = cn;
        spec.alt_names = alt;
        spec.serial = serial;
        return gdoi::test::issue(gdoi::test::make_key("RSA-2048"), spec, &ca);
    }
    std::shared_ptr<const gdoi::crypto::TrustStore> trust(const std::vector<long>& revoked = {}) const {
        std::vector<Bytes> crls;
        if (!revoked.empty()) crls.push_back(gdoi::test::make_crl(ca, revoked));
        auto t = gdoi::crypto::TrustStore::from_memory({ca.der}, crls);
        REQUIRE(t.ok());
        return std::make_shared<const gdoi::crypto::TrustStore>(std::move(*t));
    }
    gdoi::crypto::SigCredentials credentials(const gdoi::test::Issued& leaf) const {
        auto cert = gdoi::crypto::Certificate::parse(leaf.der);
        auto key = gdoi::crypto::PrivateKey::parse(gdoi::test::key_text(leaf.key));
        REQUIRE(cert.ok());
        REQUIRE(key.ok());
        gdoi::crypto::SigCredentials c;
        c.method = gdoi::crypto::SigAuthMethod::Rsa;
        c.certificate = std::make_shared<const gdoi::crypto::Certificate>(std::move(*cert));
        c.private_key = std::make_shared<const gdoi::crypto::PrivateKey>(std::move(*key));
        c.trust = trust();
        return c;
    }
};

// The harness's key server at 10.0.0.2 with signatures; the session's config with ours.
member::SessionConfig signature_session(Harness& h, const SigPki& pki) {
    auto c = h.long_lived_session();
    auto ks = KeyServer::config();
    ks.sig = pki.credentials(pki.ks);
    h.servers[c.servers[0].to_string()] = std::make_unique<KeyServer>(h.group, std::move(ks));
    c.phase1.sig = pki.credentials(pki.gm);
    return c;
}

}  // namespace

// A reload's credentials: the member's certificate (`leaf`) and the CA with a CRL of `revoked`.
member::SessionOutput reload(member::GroupSession& s, const SigPki& pki, const std::vector<long>& revoked,
                             Clock::time_point now, const gdoi::test::Issued* leaf = nullptr) {
    auto c = pki.credentials(leaf ? *leaf : pki.gm);
    c.trust = pki.trust(revoked);
    return s.replace_credentials(c, s.config().phase1.local_id, now);
}

// A session registered with a key server that authenticates with signatures.
struct SignatureRegistration {
    Harness h;
    SigPki pki;
    member::GroupSession s{signature_session(h, pki)};
    SignatureRegistration() {
        h.deliver(s, s.start(h.now));
        REQUIRE(s.state() == member::SessionState::Registered);
    }
};

TEST_CASE_METHOD(
    SignatureRegistration,
    "a CRL reload revoking the key server in use: its identity goes, its pushes are refused, the "
    "keys stay") {
    REQUIRE(s.authenticated_servers()[0].has_value());
    REQUIRE(s.authenticated_servers()[0]->certificate != nullptr);
    CHECK(s.authenticated_servers()[0]->certificate->certificate.subject() == "CN=gcks.test,O=gdoi-test");
    CHECK(gdoi::crypto::describe_id(s.authenticated_servers()[0]->id) == "ID_IPV4_ADDR 10.0.0.2");

    // The same files again: nothing to do. New CRL contents revoking another certificate (the
    // member's own serial): nothing to do either.
    CHECK(reload(s, pki, {}, h.now).send.empty());
    auto out = reload(s, pki, {3}, h.now);
    CHECK(out.send.empty());
    CHECK(s.state() == member::SessionState::Registered);
    CHECK(s.authenticated_servers()[0].has_value());

    // Revoking the key server's: refused at once, a new registration (which it fails), keys kept.
    out = reload(s, pki, {2}, h.now);
    CHECK_FALSE(s.authenticated_servers()[0].has_value());
    CHECK_THAT(s.server_errors()[0], Catch::Contains("is revoked"));
    CHECK(s.state() == member::SessionState::Phase1);
    REQUIRE(out.send.size() == 1);
    h.deliver(s, std::move(out));
    CHECK_THAT(s.server_errors()[0], Catch::Contains("is revoked"));
    CHECK(s.group_state() != nullptr);  // the keys stay until they expire
    CHECK(s.counters().registrations == 1);
    CHECK(h.servers.begin()->second->registrations.size() == 2);  // its phase 1 ran, our check refused it
    CHECK_FALSE(s.authenticated_servers()[0].has_value());

    // A push under the revoked key server's KEK: refused (untrusted-server), nothing installed.
    gdoi::Tek next = tek(0x2002, 100);
    gcks::Group::key_tek(next);
    const auto push = gcks::build_push(h.group, 2, {next}, {0x1001});
    auto pushed = s.on_datagram(push, s.config().servers[0], h.now);
    CHECK_FALSE(pushed.install);
    CHECK(pushed.send.empty());
    CHECK(s.counters().rekeys_accepted == 0);
    CHECK(s.counters().rekeys_rejected[static_cast<size_t>(gdoi::PushReject::UntrustedServer)] == 1);
}

TEST_CASE_METHOD(SignatureRegistration,
                 "a renewed certificate of ours at the same path: registered again with it, the keys kept "
                 "meanwhile") {
    const auto renewed = pki.issue_leaf("gm1.test", "IP:10.0.0.1", 4);
    auto out = reload(s, pki, {}, h.now, &renewed);
    REQUIRE(out.send.size() == 1);
    CHECK(s.group_state() != nullptr);
    h.deliver(s, std::move(out));
    CHECK(s.state() == member::SessionState::Registered);
    CHECK(s.counters().registrations == 2);
    CHECK(s.config().phase1.sig->certificate->der() == renewed.der);
}

TEST_CASE("a retry waiting for its back-off: the CA the operator just added is tried at once") {
    Harness h;
    SigPki pki;
    auto c = signature_session(h, pki);
    SigPki other;  // the member trusts another CA: the key server's certificate is refused
    c.phase1.sig->trust = other.trust();
    member::GroupSession s(std::move(c));
    h.deliver(s, s.start(h.now));
    REQUIRE(s.state() == member::SessionState::WaitingRetry);
    CHECK_THAT(s.server_errors()[0], Catch::Contains("is not issued by a CA of our CA file"));
    auto out = reload(s, pki, {}, h.now);  // now with the right CA
    REQUIRE(out.send.size() == 1);
    h.deliver(s, std::move(out));
    CHECK(s.state() == member::SessionState::Registered);
}

TEST_CASE("a CRL reload during phase 1: the exchange starts over under the new CA/CRL files") {
    Harness h;
    SigPki pki;
    member::GroupSession s(signature_session(h, pki));
    auto first = s.start(h.now);  // in flight, not delivered
    REQUIRE(first.send.size() == 1);
    REQUIRE(s.state() == member::SessionState::Phase1);
    auto out = reload(s, pki, {2}, h.now);
    REQUIRE(out.send.size() == 1);
    // A new exchange: another initiator cookie (the first 8 bytes of the header).
    CHECK(!std::equal(first.send[0].datagram.begin(), first.send[0].datagram.begin() + 8,
                      out.send[0].datagram.begin()));
    h.deliver(s, std::move(out));
    CHECK(s.group_state() == nullptr);
    CHECK_THAT(s.server_errors()[0], Catch::Contains("is revoked"));
}

TEST_CASE("a session with a pre-shared key ignores a trust reload and shows the key server's ID payload") {
    Harness h;
    member::GroupSession s(h.long_lived_session());
    h.deliver(s, s.start(h.now));
    REQUIRE(s.state() == member::SessionState::Registered);
    REQUIRE(s.authenticated_servers()[0].has_value());
    CHECK(s.authenticated_servers()[0]->certificate == nullptr);
    CHECK(gdoi::crypto::describe_id(s.authenticated_servers()[0]->id) == "ID_IPV4_ADDR 10.0.0.2");
    SigPki pki;
    CHECK(s.replace_credentials(pki.credentials(pki.gm), s.config().phase1.local_id, h.now).send.empty());
    CHECK(s.state() == member::SessionState::Registered);
}
