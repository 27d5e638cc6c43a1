// the member keeps tolerating the wire habits of deployed key servers (each habit
// alone and all together), and follows a KEK rekey whose KD names the current KEK's SPI.
#include <catch2/catch.hpp>

#include "gcks.h"
#include "gdoi/groupkey_push.h"

namespace {

using gdoi::Bytes;
namespace wire = gdoi::wire;

gdoi::Tek tek(uint32_t spi) {
    gdoi::Tek t = gcks::example_tek(spi, 3600);
    gcks::Group::key_tek(t);
    return t;
}

// The member's view after registration: what a pull would deliver (parsed from the SA the
// key server encodes with its habits, keyed by its KD).
gdoi::GroupState registered(const gcks::Group& g) {
    wire::GdoiSa sa;
    sa.kek = g.state.kek;
    sa.gap = g.state.gap;
    sa.teks = g.state.teks;
    auto parsed = wire::parse_gdoi_sa(gcks::encode_sa(sa, g.habits));
    REQUIRE(parsed.ok());
    gdoi::GroupState st;
    st.group_id = g.state.group_id;
    st.kek = parsed->kek;
    st.teks = parsed->teks;
    st.sequence = g.state.sequence;
    REQUIRE(gdoi::apply_key_download(gcks::key_download(g.state.teks, &*g.state.kek), st).ok());
    return st;
}

gcks::FieldHabits all_habits() { return gcks::FieldHabits{true, true, true, true, true, true}; }

}  // namespace

TEST_CASE("field habits change the wire as intended", "[field]") {
    auto g = gcks::Group::make(7, {tek(0x1000)}, gdoi::crypto::SigAlgorithm::Rsa);
    g.state.kek->lifetime_seconds = 40000;
    g.state.teks[0].address_preservation = 4;
    g.state.teks[0].sa_direction = 3;
    wire::GdoiSa sa;
    sa.kek = g.state.kek;
    sa.teks = g.state.teks;
    const Bytes rfc = gcks::encode_sa(sa, {});
    CHECK(rfc == wire::encode_gdoi_sa(sa));
    gcks::FieldHabits six;
    six.sak_six_octets = true;
    CHECK(gcks::encode_sa(sa, six).size() == rfc.size() + 2);
    gcks::FieldHabits one;
    one.sat_one_octet_id = true;
    CHECK(gcks::encode_sa(sa, one).size() == rfc.size() - 2);
    gcks::FieldHabits basic;
    basic.kek_lifetime_basic = true;
    CHECK(gcks::encode_sa(sa, basic).size() == rfc.size() - 4);
    gcks::FieldHabits zero;
    zero.tek_attrs_zero = true;
    const Bytes z = gcks::encode_sa(sa, zero);
    CHECK(z.size() == rfc.size());  // the same two attributes, with value 0
    CHECK(z != rfc);
}

TEST_CASE("the member parses every SA layout habit to the same policy", "[field]") {
    auto which = GENERATE(0, 1, 2, 3, 4);  // each layout habit alone, then all of them
    gcks::FieldHabits h;
    if (which == 0 || which == 4) h.sak_six_octets = true;
    if (which == 1 || which == 4) h.sat_one_octet_id = true;
    if (which == 2 || which == 4) h.kek_lifetime_basic = true;
    if (which == 3 || which == 4) h.tek_attrs_zero = true;
    INFO("habit set " << which);
    auto g = gcks::Group::make(7, {tek(0x1000), tek(0x2000)}, gdoi::crypto::SigAlgorithm::Rsa);
    g.state.kek->lifetime_seconds = 40000;
    g.habits = h;
    auto st = registered(g);
    REQUIRE(st.kek);
    CHECK(st.kek->spi == g.state.kek->spi);
    CHECK(st.kek->lifetime_seconds == 40000);  // fits a 16-bit basic attribute
    CHECK(st.kek->algorithm == 3);
    CHECK(st.kek->key_bits == 256);
    REQUIRE(st.teks.size() == 2);
    for (const auto& t : st.teks) {
        CHECK(t.selector.to_string() == g.state.teks[0].selector.to_string());
        CHECK(t.lifetime_seconds == 3600);
        // Omitted or sent as 0: the RFC 6407 §5.4.1 defaults (0 is read as "not sent").
        CHECK(t.address_preservation == 4);
        CHECK(t.sa_direction == 3);
    }
}

TEST_CASE("raw-hash RSA push signatures (no DigestInfo) verify", "[field]") {
    auto g = gcks::Group::make(7, {tek(0x1000)}, gdoi::crypto::SigAlgorithm::Rsa);
    auto st = registered(g);
    g.habits.raw_hash_rsa = true;
    const Bytes data = {1, 2, 3};
    auto with_info = g.signer.sign(gdoi::crypto::HashAlg::Sha256, data);
    auto raw = g.signer.sign(gdoi::crypto::HashAlg::Sha256, data, false);
    REQUIRE(with_info.ok());
    REQUIRE(raw.ok());
    CHECK(*with_info != *raw);  // PKCS#1 v1.5 is deterministic: the encodings differ
    CHECK(gdoi::crypto::verify_signature(gdoi::crypto::SigAlgorithm::Rsa, g.state.kek->signature_public_key,
                                         gdoi::crypto::HashAlg::Sha256, data, *raw));
    auto out = gdoi::process_push(gcks::build_push(g, 2, {tek(0x3000)}, {0x1000}), st);
    INFO(out.message);
    CHECK(out.accepted());
}

TEST_CASE("KEK rekey: the KD's KEK packet may name the current KEK or the new one", "[field][kek]") {
    const bool names_current = GENERATE(true, false);
    INFO("KD names the current KEK: " << names_current);
    auto g = gcks::Group::make(7, {tek(0x1000)}, gdoi::crypto::SigAlgorithm::Rsa);
    g.habits = all_habits();
    g.habits.kd_names_current_kek = names_current;
    auto st = registered(g);
    const auto old_spi = g.state.kek->spi;

    gdoi::Kek next = gcks::next_kek(g);
    gdoi::Tek t2 = tek(0x2000);
    auto out = gdoi::process_push(gcks::build_push(g, 2, {t2}, {}, gcks::PushFlaw::None, &next), st);
    INFO(out.message);
    REQUIRE(out.accepted());
    REQUIRE(out.state.kek);
    CHECK(out.state.kek->spi == next.spi);
    CHECK(out.state.kek->key.equals(next.key));
    CHECK(out.state.kek->iv == next.iv);
    CHECK_THAT(out.note,
               Catch::Contains("KEK rekey to SPI " + gdoi::to_hex(next.spi)) &&
                   Catch::Contains(names_current ? "the current KEK's SPI (accepted)" : "the new SPI"));
    // Without Delete (the field habit) the old TEK stays until its lifetime/the GAP retire it.
    CHECK(out.state.teks.size() == 2);

    // The next push comes under the new KEK and is accepted; one under the old KEK is not.
    gcks::Group after = gcks::Group::make(7, {}, gdoi::crypto::SigAlgorithm::Rsa);
    after.state.kek = next;
    after.signer = std::move(g.signer);
    after.habits = g.habits;
    auto st2 = out.state;
    auto good = gdoi::process_push(gcks::build_push(after, 3, {tek(0x3000)}, {}), st2);
    INFO(good.message);
    CHECK(good.accepted());
    CHECK(good.note.empty());
    after.state.kek->spi = old_spi;
    CHECK(gdoi::process_push(gcks::build_push(after, 4, {tek(0x4000)}, {}), st2).reject ==
          gdoi::PushReject::UnknownKek);
}

TEST_CASE("a KD KEK packet naming neither the SA KEK nor the protecting KEK is refused", "[field][kek]") {
    auto g = gcks::Group::make(7, {tek(0x1000)}, gdoi::crypto::SigAlgorithm::Rsa);
    gdoi::Kek next = gcks::next_kek(g);
    gdoi::Kek stranger = gcks::next_kek(g);
    auto check = [&](const std::array<uint8_t, 16>& named, const std::array<uint8_t, 16>* protecting, bool ok,
                     gdoi::KdKekSpi want) {
        gdoi::GroupState incoming;
        incoming.kek = next;
        incoming.kek->key = gdoi::SecureBytes();
        gdoi::KdKekSpi matched = gdoi::KdKekSpi::None;
        auto applied =
            gdoi::apply_key_download(gcks::key_download({}, &next, &named), incoming, protecting, &matched);
        CHECK(applied.ok() == ok);
        CHECK(matched == want);
        if (ok) CHECK(incoming.kek->key.equals(next.key));
        if (!ok) CHECK_THAT(applied.error().message, Catch::Contains("names neither the SA KEK"));
    };
    check(next.spi, nullptr, true, gdoi::KdKekSpi::SaKek);
    check(g.state.kek->spi, &g.state.kek->spi, true, gdoi::KdKekSpi::Protecting);
    check(stranger.spi, &g.state.kek->spi, false, gdoi::KdKekSpi::None);
    check(g.state.kek->spi, nullptr, false, gdoi::KdKekSpi::None);  // a pull has no protecting KEK
}
