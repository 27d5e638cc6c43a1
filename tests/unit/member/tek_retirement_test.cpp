// TekRetirement: TEKs a key server never deletes leave the group state when
// superseded (at the new TEK's activation delay) or when their lifetime ran out.
#include "session/tek_retirement.h"

#include <catch2/catch.hpp>

namespace {

using namespace std::chrono_literals;
const gdoi::Clock::time_point T0 = gdoi::Clock::time_point() + 1000h;

gdoi::Tek tek(uint32_t spi, uint8_t net, uint32_t lifetime) {
    gdoi::Tek t;
    t.spi = spi;
    t.selector.source.id_type = 4;
    t.selector.source.address = {10, net, 0, 0};
    t.selector.source.mask_or_end = {255, 255, 0, 0};
    t.selector.destination = t.selector.source;
    t.lifetime_seconds = lifetime;
    return t;
}

std::vector<uint32_t> spis(const gdoi::GroupState& st) {
    std::vector<uint32_t> out;
    for (const auto& t : st.teks) out.push_back(t.spi);
    return out;
}

}  // namespace

TEST_CASE("a superseded TEK leaves at the activation delay; another selector's TEK stays",
          "[tek_retirement]") {
    member::TekRetirement r;
    gdoi::GroupState st;
    st.gap = gdoi::Gap{10, 30};
    st.teks = {tek(1, 1, 3600), tek(2, 2, 3600)};
    r.on_registration(st, T0);
    CHECK(r.next_deadline() == T0 + 3600s);
    st.teks.push_back(tek(3, 1, 3600));  // replaces SPI 1 (same selector), no Delete
    r.on_push(st, {3}, T0 + 100s);
    CHECK(r.next_deadline() == T0 + 110s);
    CHECK(r.retire(st, T0 + 109s).empty());
    CHECK(r.retire(st, T0 + 110s) == std::vector<uint32_t>{1});
    CHECK(spis(st) == std::vector<uint32_t>{2, 3});
}

TEST_CASE("a TEK whose lifetime ran out leaves; a registration starts over", "[tek_retirement]") {
    member::TekRetirement r;
    gdoi::GroupState st;
    st.teks = {tek(1, 1, 100), tek(2, 2, 0)};  // 0: no lifetime in seconds (kilobytes only)
    r.on_registration(st, T0);
    CHECK(r.retire(st, T0 + 99s).empty());
    CHECK(r.retire(st, T0 + 100s) == std::vector<uint32_t>{1});
    CHECK(spis(st) == std::vector<uint32_t>{2});
    CHECK(r.next_deadline() == gdoi::Clock::time_point::max());
    // Several TEKs of one selector in one pull: none superseded (the key server lists them).
    st.teks = {tek(5, 1, 3600), tek(6, 1, 3600)};
    r.on_registration(st, T0 + 200s);
    CHECK(r.next_deadline() == T0 + 200s + 3600s);
}
