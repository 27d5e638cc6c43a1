// The one-way traffic check of the recovery probe (one_way_detector.h), fed by hand as the
// daemon feeds it every 10 s.
#include "watch/one_way_detector.h"

#include <catch2/catch.hpp>
#include <vector>

using member::OneWayDetector;
using member::SaTraffic;

namespace {

// The counters of one TEK's two SAs.
std::vector<SaTraffic> tek(uint32_t spi, uint64_t out_packets, uint64_t in_packets) {
    return {{spi, true, out_packets}, {spi, false, in_packets}};
}

}  // namespace

TEST_CASE("outbound packets with inbound silence for 3 checks trigger, not before", "[one_way]") {
    OneWayDetector d;
    CHECK_FALSE(d.observe(tek(0x100, 10, 10)));  // first check: counters recorded only
    CHECK_FALSE(d.observe(tek(0x100, 20, 10)));  // 1 quiet check
    CHECK_FALSE(d.observe(tek(0x100, 30, 10)));  // 2
    CHECK(d.observe(tek(0x100, 40, 10)));        // 3: outbound-only traffic for 30 s
    CHECK(d.one_way_checks() == 3);
    CHECK(d.observe(tek(0x100, 41, 10)));  // still one-way
}

TEST_CASE("any inbound packet restarts the quiet count", "[one_way]") {
    OneWayDetector d;
    d.observe(tek(0x100, 0, 0));
    CHECK_FALSE(d.observe(tek(0x100, 5, 0)));
    CHECK_FALSE(d.observe(tek(0x100, 9, 0)));
    CHECK_FALSE(d.observe(tek(0x100, 12, 1)));  // a reply came
    CHECK(d.one_way_checks() == 0);
    CHECK_FALSE(d.observe(tek(0x100, 15, 1)));
    CHECK_FALSE(d.observe(tek(0x100, 18, 1)));
    CHECK(d.observe(tek(0x100, 20, 1)));
}

TEST_CASE("idle checks neither count nor reset: one packet after a pause is not one-way", "[one_way]") {
    OneWayDetector d;
    d.observe(tek(0x100, 7, 3));
    for (int i = 0; i < 5; ++i) CHECK_FALSE(d.observe(tek(0x100, 7, 3)));  // nothing at all for 50 s
    CHECK(d.one_way_checks() == 0);
    CHECK_FALSE(d.observe(tek(0x100, 8, 3)));  // a packet out after the pause: 1
    CHECK_FALSE(d.observe(tek(0x100, 8, 3)));  // idle again: still 1
    CHECK_FALSE(d.observe(tek(0x100, 9, 3)));  // 2
    CHECK(d.observe(tek(0x100, 10, 3)));       // 3 checks sending into silence: sparse one-way traffic
}

TEST_CASE("inbound traffic on any of the group's inbound SAs counts", "[one_way]") {
    OneWayDetector d;
    // Rekey overlap: the old TEK's inbound SA still receives from members that did not switch yet.
    auto sas = [](uint64_t out, uint64_t old_in) {
        std::vector<SaTraffic> v{{0x200, true, out}, {0x200, false, 0}, {0x100, false, old_in}};
        return v;
    };
    d.observe(sas(1, 100));
    for (uint64_t i = 2; i < 8; ++i) CHECK_FALSE(d.observe(sas(i, 100 + i)));
}

TEST_CASE("an SA that appears between checks counts from 0", "[one_way]") {
    OneWayDetector d;
    d.observe(tek(0x100, 50, 50));
    d.observe(tek(0x100, 60, 50));
    d.observe(tek(0x100, 70, 50));
    // Rekey: the new outbound SA already sent 5 packets; the old SAs are gone.
    CHECK(d.observe(std::vector<SaTraffic>{{0x200, true, 5}, {0x200, false, 0}}));
    OneWayDetector e;
    e.observe(tek(0x100, 50, 50));
    e.observe(tek(0x100, 60, 50));
    e.observe(tek(0x100, 70, 50));
    // A new inbound SA that already received packets: not silent.
    CHECK_FALSE(e.observe(std::vector<SaTraffic>{{0x100, true, 80}, {0x100, false, 50}, {0x200, false, 4}}));
}

TEST_CASE("reset starts over: the next check only records", "[one_way]") {
    OneWayDetector d(1);
    d.observe(tek(0x100, 1, 0));
    CHECK(d.observe(tek(0x100, 2, 0)));
    d.reset();
    CHECK(d.one_way_checks() == 0);
    CHECK_FALSE(d.observe(tek(0x100, 1000, 0)));  // would be growth against the old counters
    CHECK(d.observe(tek(0x100, 1001, 0)));
}

TEST_CASE("a group without SAs never triggers", "[one_way]") {
    OneWayDetector d;
    for (int i = 0; i < 6; ++i) CHECK_FALSE(d.observe(std::vector<SaTraffic>{}));
}
