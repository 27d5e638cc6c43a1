// The health check of a keyed group on a router (dataplane_health.h), fed by hand as the
// daemon feeds it every 10 s: each router problem is named once, resolved when traffic flows,
// and packets lost between the carrier and the SA are a suspected leak.
#include "watch/dataplane_health.h"

#include <catch2/catch.hpp>
#include <vector>

using member::HealthCounters;
using member::HealthMonitor;
using member::SaTraffic;

namespace {

// One read: the group's TEK 0x1000 with its two SAs, everything else as given.
HealthCounters read(uint64_t wanted, uint64_t seen, uint64_t out, uint64_t in, uint64_t decrypted = 0,
                    uint64_t esp = 0, uint64_t guard = 0, uint32_t spi = 0x1000) {
    HealthCounters h;
    h.to_carrier_wanted = wanted;
    h.to_carrier_seen = seen;
    h.guard_drops = guard;
    h.esp_readdressed = esp;
    h.decrypted_seen = decrypted;
    h.sas = {{spi, true, out}, {spi, false, in}};
    h.carrier = "gdoi0";
    h.wan = "wan0";
    return h;
}

}  // namespace

TEST_CASE("healthy traffic says nothing", "[health]") {
    HealthMonitor m;
    CHECK_FALSE(m.observe(read(0, 0, 0, 0), true));
    CHECK_FALSE(m.observe(read(50, 50, 50, 40, 40, 40), true));
    CHECK_FALSE(m.observe(read(100, 100, 100, 80, 80, 80), true));
    CHECK(m.problem().empty());
}

TEST_CASE("group traffic that never reaches the carrier: a forward rule drops it", "[health]") {
    HealthMonitor m;
    m.observe(read(0, 0, 0, 0), true);
    auto c = m.observe(read(5, 0, 0, 0), true);
    REQUIRE(c);
    CHECK(c->problem);
    CHECK_FALSE(c->leak);
    CHECK(c->message.find("does not reach the carrier gdoi0: a forward rule") != std::string::npos);
    CHECK(m.problem() == c->message);
    // Said once: the same finding with new counts is no new change.
    CHECK_FALSE(m.observe(read(12, 0, 0, 0), true));
    CHECK(m.problem().find("(7 packets)") != std::string::npos);
    // Traffic flows again: resolved.
    auto r = m.observe(read(20, 8, 8, 0), true);
    REQUIRE(r);
    CHECK_FALSE(r->problem);
    CHECK(m.problem().empty());
}

TEST_CASE("decrypted packets that never get past the router's filters: an rp-filter", "[health]") {
    HealthMonitor m;
    m.observe(read(0, 0, 0, 0, 0, 0), true);
    auto c = m.observe(read(0, 0, 0, 6, 0, 6), true);
    REQUIRE(c);
    CHECK(c->message.find("decrypted packet(s) dropped by the router") != std::string::npos);
}

TEST_CASE("ESP arriving but never decrypted: the router's input drops it", "[health]") {
    HealthMonitor m;
    m.observe(read(0, 0, 0, 0), true);
    auto c = m.observe(read(0, 0, 0, 0, 0, 9), true);
    REQUIRE(c);
    CHECK(c->message.find("ESP from wan0 arrives (9 packets) but is dropped before decryption") !=
          std::string::npos);
}

TEST_CASE("packets stopped by the member's last guard: NAT or routing around the carrier", "[health]") {
    HealthMonitor m;
    m.observe(read(0, 0, 0, 0), true);
    auto c = m.observe(read(4, 4, 0, 0, 0, 0, 4), true);
    REQUIRE(c);
    CHECK_FALSE(c->leak);  // stopped: nothing left in clear
    CHECK(c->message.find("dropped by the member's last guard") != std::string::npos);
}

TEST_CASE("carrier packets neither encrypted nor stopped are a suspected leak", "[health]") {
    HealthMonitor m;
    m.observe(read(0, 0, 0, 0), true);
    auto c = m.observe(read(40, 40, 3, 0), true);
    REQUIRE(c);
    CHECK(c->leak);
    CHECK(c->message.rfind("leak suspected: 40 packet(s) entered the carrier gdoi0 but only 3 were encrypted",
                           0) == 0);
    // Encrypted or stopped packets account for the carrier's: no leak.
    HealthMonitor ok;
    ok.observe(read(0, 0, 0, 0), true);
    CHECK_FALSE(ok.observe(read(40, 40, 40, 0), true));
    HealthMonitor guarded;
    guarded.observe(read(0, 0, 0, 0), true);
    auto g = guarded.observe(read(40, 40, 0, 0, 0, 0, 40), true);
    REQUIRE(g);
    CHECK_FALSE(g->leak);
}

TEST_CASE("an interval in which the outbound SA changed (rekey) is not judged for leaks", "[health]") {
    HealthMonitor m;
    m.observe(read(0, 0, 500, 0), true);
    // The old SA's last packets are gone with it; the new one counted only the end.
    CHECK_FALSE(m.observe(read(40, 40, 2, 0, 0, 0, 0, 0x2000), true));
}

TEST_CASE("a group without keys is not judged, and a problem ends with its keys", "[health]") {
    HealthMonitor m;
    m.observe(read(0, 0, 0, 0), true);
    REQUIRE(m.observe(read(5, 0, 0, 0), true));
    auto c = m.observe(read(50, 0, 0, 0), false);
    REQUIRE(c);
    CHECK_FALSE(c->problem);
    CHECK(m.problem().empty());
    CHECK_FALSE(m.observe(read(99, 0, 0, 0), false));
}

TEST_CASE("an interval in which the table's rules were rewritten is not judged", "[health]") {
    // A rekey with new selectors rewrote the guard and classify rules in place: their counters
    // started over while the carrier's went on, so the sums went down. Judging the interval would
    // take the kept counters' whole history for new packets.
    HealthMonitor m;
    auto before = read(100, 100, 100, 0, 0, 0, 30);
    m.observe(before, true);
    auto after = read(10, 110, 110, 0, 0, 0, 25);
    after.rules_generation = 1;
    CHECK_FALSE(m.observe(after, true));
    // The next interval is judged from the new baseline.
    auto next = read(20, 120, 120, 0, 0, 0, 35);
    next.rules_generation = 1;
    auto c = m.observe(next, true);
    REQUIRE(c);
    CHECK(c->message.find("10 packet(s) of the group tried to leave in clear") == 0);
}
