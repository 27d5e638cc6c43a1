// GROUPKEY-PULL and GROUPKEY-PUSH between the member's exchanges (gdoi/) and the test
// GCKS (tests/gcks), in memory, under a phase-1 SA both sides share.
#include <catch2/catch.hpp>

#include "freed_memory_watch.h"
#include "gcks.h"
#include "gdoi/groupkey_push.h"

namespace {

using gdoi::Bytes;

gdoi::Phase1Sa make_phase1() {
    gdoi::Phase1Sa sa;
    auto ci = gdoi::crypto::random_bytes(8), cr = gdoi::crypto::random_bytes(8);
    std::copy(ci.begin(), ci.end(), sa.initiator_cookie.begin());
    std::copy(cr.begin(), cr.end(), sa.responder_cookie.begin());
    sa.proposal = *gdoi::parse_ike_proposal("aes256-sha256-modp2048");
    auto psk = gdoi::crypto::random_bytes(16), ni = gdoi::crypto::random_bytes(32),
         nr = gdoi::crypto::random_bytes(32), gxy = gdoi::crypto::random_bytes(256);
    sa.keys = gdoi::derive_psk_keys(sa.proposal, psk, ni, nr, gxy, sa.initiator_cookie, sa.responder_cookie);
    sa.last_iv = gdoi::crypto::random_bytes(16);
    return sa;
}

gdoi::TrafficId subnet(std::vector<uint8_t> addr, std::vector<uint8_t> mask) {
    gdoi::TrafficId id;
    id.id_type = 4;
    id.address = std::move(addr);
    id.mask_or_end = std::move(mask);
    return id;
}

gdoi::Tek cbc_tek(uint32_t spi) {
    gdoi::Tek t;
    t.spi = spi;
    t.selector = {0, subnet({10, 1, 0, 0}, {255, 255, 0, 0}), subnet({10, 2, 0, 0}, {255, 255, 0, 0})};
    t.transform_id = 12;   // ESP_AES (CBC)
    t.auth_algorithm = 5;  // HMAC-SHA2-256
    t.key_bits = 256;
    t.lifetime_seconds = 3600;
    t.address_preservation = 4;
    t.sa_direction = 3;
    return t;
}

gdoi::Tek gcm_tek(uint32_t spi) {
    gdoi::Tek t = cbc_tek(spi);
    t.selector.protocol = 17;
    t.transform_id = 20;  // ESP_AES_GCM_16
    t.auth_algorithm = 0;
    t.key_bits = 128;
    return t;
}

gdoi::PullConfig pull_config(uint32_t group_id) {
    gdoi::PullConfig c;
    c.group_id = group_id;
    return c;
}

// Runs the pull exchange in memory; returns the member.
std::unique_ptr<gdoi::GroupkeyPullInitiator> register_member(const gdoi::Phase1Sa& p1,
                                                             const gcks::Group& group,
                                                             gdoi::PullConfig config,
                                                             int* messages = nullptr) {
    auto member = std::make_unique<gdoi::GroupkeyPullInitiator>(p1, std::move(config));
    gcks::PullResponder server(p1, group);
    auto now = gdoi::Clock::now();
    auto step = member->start(now);
    int count = 0;
    while (step.send && !member->finished() && count < 10) {
        ++count;
        auto answer = server.on_datagram(*step.send);
        REQUIRE(answer.has_value());
        ++count;
        step = member->on_datagram(*answer, now);
    }
    if (messages) *messages = count;
    return member;
}

void require_same_tek(const gdoi::Tek& got, const gdoi::Tek& want) {
    CHECK(got.spi == want.spi);
    CHECK(got.transform_id == want.transform_id);
    CHECK(got.auth_algorithm == want.auth_algorithm);
    CHECK(got.key_bits == want.key_bits);
    CHECK(got.lifetime_seconds == want.lifetime_seconds);
    CHECK(got.address_preservation == want.address_preservation);
    CHECK(got.sa_direction == want.sa_direction);
    CHECK(got.selector.to_string() == want.selector.to_string());
    CHECK(got.encryption_key.equals(want.encryption_key));
    CHECK(got.integrity_key.equals(want.integrity_key));
}

// n TEKs with distinct selectors, one per policy line of a large policy:
// TEK i protects 10.1.0.0/24 <-> 10.(2 + i / 256).(i % 256).0/24 under SPI 0x1000 + i.
std::vector<gdoi::Tek> many_teks(size_t n, gdoi::Tek (*make)(uint32_t)) {
    std::vector<gdoi::Tek> teks;
    for (size_t i = 0; i < n; ++i) {
        gdoi::Tek t = make(static_cast<uint32_t>(0x1000 + i));
        t.selector.source = subnet({10, 1, 0, 0}, {255, 255, 255, 0});
        t.selector.destination = subnet(
            {10, static_cast<uint8_t>(2 + i / 256), static_cast<uint8_t>(i % 256), 0}, {255, 255, 255, 0});
        teks.push_back(std::move(t));
    }
    return teks;
}

}  // namespace

TEST_CASE("registration delivers KEK, two TEKs, GAP and SEQ intact") {
    auto sig = GENERATE(gdoi::crypto::SigAlgorithm::Rsa, gdoi::crypto::SigAlgorithm::EcdsaP256);
    auto p1 = make_phase1();
    auto group = gcks::Group::make(4000000001u, {cbc_tek(0x11111111), gcm_tek(0x22222222)}, sig);
    group.state.sequence = 7;
    int messages = 0;
    auto member = register_member(p1, group, pull_config(4000000001u), &messages);
    REQUIRE(member->established());
    CHECK(messages == 4);
    const auto& got = member->group_state();
    CHECK(got.group_id == 4000000001u);
    CHECK(got.sequence == 7);
    CHECK(got.gap.activation_time_delay == 10);
    CHECK(got.gap.deactivation_time_delay == 30);
    REQUIRE(got.kek.has_value());
    const auto& want_kek = *group.state.kek;
    CHECK(got.kek->spi == want_kek.spi);
    CHECK(got.kek->algorithm == 3);
    CHECK(got.kek->key_bits == 256);
    CHECK(got.kek->lifetime_seconds == 86400);
    CHECK(got.kek->sig_hash_algorithm == 3);
    CHECK(got.kek->sig_algorithm == static_cast<uint16_t>(sig));
    CHECK(got.kek->key.equals(want_kek.key));
    CHECK(got.kek->iv == want_kek.iv);
    CHECK(got.kek->signature_public_key == want_kek.signature_public_key);
    CHECK(got.kek->selector.to_string() == want_kek.selector.to_string());
    REQUIRE(got.teks.size() == 2);
    require_same_tek(got.teks[0], group.state.teks[0]);
    require_same_tek(got.teks[1], group.state.teks[1]);
    CHECK(got.teks[1].encryption_key.size() == 16 + 4);  // GCM key | salt
    CHECK(got.teks[0].integrity_key.size() == 32);
}

// The datagram sizes below: an SA TEK payload with two ID_IPV4_ADDR_SUBNET identities, a life
// and Address Preservation and SA Direction attributes is 69 octets for AES-256-CBC +
// HMAC-SHA2-256 (65 for GCM); its KD key packet 81 (33 for a GCM-128 key | salt). Message 2
// carries the SA TEKs, message 4 the key packets, a push both and a SIG; at most 65,507 octets
// each (UDP over IPv4), and the SA and KD payloads at most 65,535 (RFC 2408 §3.2 length).
TEST_CASE("registration delivers as many TEKs with distinct selectors as one datagram holds") {
    struct Case {
        const char* name;
        gdoi::Tek (*make)(uint32_t);
        size_t teks;
    };
    // Message 4 limits CBC (803 key packets: 65,500 octets), message 2 GCM (1,004 SA TEKs: 65,468).
    const auto c = GENERATE(Case{"cbc", cbc_tek, 200}, Case{"cbc", cbc_tek, 803}, Case{"gcm", gcm_tek, 1004});
    INFO(c.name << " " << c.teks);
    auto p1 = make_phase1();
    auto group = gcks::Group::make(9, many_teks(c.teks, c.make), gdoi::crypto::SigAlgorithm::EcdsaP256);
    auto member = register_member(p1, group, pull_config(9));
    REQUIRE(member->established());
    const auto& got = member->group_state();
    REQUIRE(got.teks.size() == c.teks);
    for (size_t i = 0; i < c.teks; ++i) require_same_tek(got.teks[i], group.state.teks[i]);
    CHECK(got.teks.back().selector.to_string() == group.state.teks.back().selector.to_string());
}

TEST_CASE("a push rekeys hundreds of TEKs at once and deletes the old ones") {
    auto p1 = make_phase1();
    // A push holds the Delete (4 octets per old SPI), SA TEKs, key packets and the SIG: 423 CBC
    // TEKs replaced at once with an RSA-2048 signature (65,484 octets).
    auto group = gcks::Group::make(10, many_teks(423, cbc_tek), gdoi::crypto::SigAlgorithm::Rsa);
    auto member = register_member(p1, group, pull_config(10));
    REQUIRE(member->established());
    gdoi::GroupState state = member->take_group_state();
    REQUIRE(state.teks.size() == 423);
    std::vector<gdoi::Tek> next = many_teks(423, cbc_tek);
    std::vector<uint32_t> old_spis;
    for (auto& t : next) {
        old_spis.push_back(t.spi);
        t.spi += 0x10000;
        gcks::Group::key_tek(t);
    }
    Bytes push = gcks::build_push(group, 2, next, old_spis);
    CHECK(push.size() <= 65507);
    auto outcome = gdoi::process_push(push, state);
    INFO(outcome.message);
    REQUIRE(outcome.accepted());
    REQUIRE(outcome.state.teks.size() == 423);
    for (size_t i = 0; i < next.size(); ++i) require_same_tek(outcome.state.teks[i], next[i]);
    CHECK(outcome.state.deleted_tek_spis == old_spis);
}

TEST_CASE("registration refuses a policy the member does not accept, before HASH(3)") {
    auto p1 = make_phase1();
    auto group = gcks::Group::make(1, {cbc_tek(0x1), gcm_tek(0x2)}, gdoi::crypto::SigAlgorithm::Rsa);
    gdoi::PullConfig config = pull_config(1);
    config.accept_tek = [](const gdoi::Tek& t) -> std::string {
        return t.transform_id == 20 ? "AES-GCM not allowed" : "";
    };
    auto member = register_member(p1, group, config);
    REQUIRE(member->failed());
    CHECK_THAT(member->failure_message(), Catch::Contains("AES-GCM not allowed"));
}

TEST_CASE("registration times out with a reason when the key server is silent") {
    auto p1 = make_phase1();
    gdoi::PullConfig config = pull_config(5);
    config.retransmit.total = std::chrono::milliseconds(1000);
    gdoi::GroupkeyPullInitiator member(p1, config);
    auto t0 = gdoi::Clock::now();
    auto first = member.start(t0);
    REQUIRE(first.send);
    auto again = member.on_timer(t0 + std::chrono::milliseconds(600));
    REQUIRE(again.send);
    CHECK(*again.send == *first.send);
    member.on_timer(t0 + std::chrono::milliseconds(1100));
    REQUIRE(member.failed());
    CHECK_THAT(member.failure_message(), Catch::Contains("no answer"));
}

TEST_CASE("a tampered message 2 is dropped (HASH(2) fails), not accepted") {
    auto p1 = make_phase1();
    auto group = gcks::Group::make(9, {cbc_tek(0x9)}, gdoi::crypto::SigAlgorithm::Rsa);
    gdoi::GroupkeyPullInitiator member(p1, pull_config(9));
    gcks::PullResponder server(p1, group);
    auto now = gdoi::Clock::now();
    auto step = member.start(now);
    auto answer = server.on_datagram(*step.send);
    REQUIRE(answer);
    Bytes tampered = *answer;
    tampered[tampered.size() - 20] ^= 1;
    auto after = member.on_datagram(tampered, now);
    CHECK_FALSE(after.send.has_value());
    CHECK_FALSE(member.finished());
}

TEST_CASE(
    "three pushes in a row are accepted; replayed, forged, unknown-KEK and truncated pushes are rejected") {
    auto sig = GENERATE(gdoi::crypto::SigAlgorithm::Rsa, gdoi::crypto::SigAlgorithm::EcdsaP256);
    auto p1 = make_phase1();
    auto group = gcks::Group::make(77, {cbc_tek(0x100)}, sig);
    auto member = register_member(p1, group, pull_config(77));
    REQUIRE(member->established());
    gdoi::GroupState state = member->take_group_state();
    REQUIRE(state.sequence == 1);

    uint32_t old_spi = 0x100;
    std::vector<Bytes> accepted_pushes;
    for (uint32_t seq = 2; seq <= 4; ++seq) {
        gdoi::Tek next = seq == 3 ? gcm_tek(0x100 + seq) : cbc_tek(0x100 + seq);
        gcks::Group::key_tek(next);
        Bytes push = gcks::build_push(group, seq, {next}, {old_spi});
        auto outcome = gdoi::process_push(push, state);
        INFO(outcome.message);
        REQUIRE(outcome.accepted());
        CHECK(outcome.state.sequence == seq);
        REQUIRE(outcome.state.teks.size() == 1);
        require_same_tek(outcome.state.teks[0], next);
        CHECK(outcome.state.deleted_tek_spis == std::vector<uint32_t>{old_spi});
        state = std::move(outcome.state);
        old_spi = next.spi;
        accepted_pushes.push_back(push);
    }
    const uint32_t seq_before = state.sequence;
    const uint32_t spi_before = state.teks[0].spi;

    auto replay_last = gdoi::process_push(accepted_pushes.back(), state);  // SEQ equal to the last accepted
    CHECK(replay_last.reject == gdoi::PushReject::Replay);
    auto replay_older = gdoi::process_push(accepted_pushes[1], state);
    CHECK(replay_older.reject == gdoi::PushReject::Replay);

    gdoi::Tek t = cbc_tek(0x999);
    gcks::Group::key_tek(t);
    auto forged =
        gdoi::process_push(gcks::build_push(group, 10, {t}, {}, gcks::PushFlaw::BadSignature), state);
    CHECK(forged.reject == gdoi::PushReject::BadSignature);

    auto other = gcks::Group::make(78, {cbc_tek(0x5)}, sig);
    auto unknown = gdoi::process_push(gcks::build_push(other, 10, {t}, {}), state);
    CHECK(unknown.reject == gdoi::PushReject::UnknownKek);

    auto truncated =
        gdoi::process_push(gcks::build_push(group, 11, {t}, {}, gcks::PushFlaw::Truncated), state);
    CHECK(truncated.reject == gdoi::PushReject::Malformed);

    // A push signed by another key with the right KEK: signature check, not the KEK, must stop it.
    auto impostor = gcks::Group::make(77, {cbc_tek(0x5)}, sig);
    impostor.state.kek->spi = group.state.kek->spi;
    impostor.state.kek->key = group.state.kek->key;
    impostor.state.kek->iv = group.state.kek->iv;
    auto spoofed = gdoi::process_push(gcks::build_push(impostor, 12, {t}, {}), state);
    CHECK(spoofed.reject == gdoi::PushReject::BadSignature);

    CHECK(state.sequence == seq_before);
    CHECK(state.teks[0].spi == spi_before);
}

TEST_CASE("the freed-memory watch sees a key left in a freed buffer") {
    const Bytes key = gdoi::crypto::random_bytes(32);
    gcks_test::FreedMemoryWatch watch;
    watch.add(key);
    {
        auto* copy = new Bytes(key.begin(), key.end());
        asm volatile("" : : "r"(copy->data()) : "memory");  // the copy must really exist
        delete copy;
    }
    CHECK(watch.hits() >= 1);
}

// the member's side of a registration, a rekey, a replayed push and a forged
// one frees no memory holding a key of the key server (decrypted GDOI plaintext, the signed
// data and the HASH input live in SecureBytes).
TEST_CASE("no key of the key server is left in memory the member frees") {
    auto p1 = make_phase1();
    auto group = gcks::Group::make(88, {cbc_tek(0x200)}, gdoi::crypto::SigAlgorithm::Rsa);
    gdoi::Tek next = cbc_tek(0x201), forged_tek = cbc_tek(0x202);
    gcks::Group::key_tek(next);
    gcks::Group::key_tek(forged_tek);
    gcks_test::FreedMemoryWatch watch;
    watch.pause();
    for (const auto* t : {&group.state.teks[0], &next, &forged_tek}) {
        watch.add(t->encryption_key.view());
        watch.add(t->integrity_key.view());
    }
    watch.add(group.state.kek->key.view());

    gdoi::GroupkeyPullInitiator member(p1, pull_config(88));
    gcks::PullResponder server(p1, group);
    const auto now = gdoi::Clock::now();
    auto step = member.start(now);
    for (int i = 0; step.send && !member.finished() && i < 5; ++i) {
        auto answer = server.on_datagram(*step.send);
        REQUIRE(answer);
        watch.resume();
        step = member.on_datagram(*answer, now);
        watch.pause();
    }
    REQUIRE(member.established());
    CHECK(watch.hits() == 0);  // registration (message 4's KD)
    gdoi::GroupState state = member.take_group_state();

    const Bytes push = gcks::build_push(group, 2, {next}, {0x200});
    const Bytes forged = gcks::build_push(group, 3, {forged_tek}, {}, gcks::PushFlaw::BadSignature);
    watch.resume();
    auto rekey = gdoi::process_push(push, state);
    watch.pause();
    REQUIRE(rekey.accepted());
    CHECK(watch.hits() == 0);  // rekey

    watch.resume();
    const auto replay = gdoi::process_push(push, rekey.state).reject;
    watch.pause();
    CHECK(replay == gdoi::PushReject::Replay);
    CHECK(watch.hits() == 0);  // replayed push

    watch.resume();
    const auto bad_signature = gdoi::process_push(forged, rekey.state).reject;
    watch.pause();
    CHECK(bad_signature == gdoi::PushReject::BadSignature);
    CHECK(watch.hits() == 0);  // forged push
}
