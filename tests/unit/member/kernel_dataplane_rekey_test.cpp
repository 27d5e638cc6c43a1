// The rekey scheduler's order with a fake clock (member/src/dataplane_rekey.h): inbound
// first, the new outbound after the activation delay replacing the old one, the old inbound
// after the deactivation delay once the TEK is gone; the first TEK without delay.
#include <algorithm>
#include <catch2/catch.hpp>

#include "dataplane/dataplane_rekey.h"

using namespace member;
using std::chrono::seconds;

namespace {

std::vector<std::string> text(const std::vector<RekeyStep>& steps) {
    std::vector<std::string> out;
    for (const auto& s : steps) out.push_back(s.to_string());
    return out;
}
using L = std::vector<std::string>;

}  // namespace

TEST_CASE("dataplane rekey: first registration, rekey, deletion", "[dataplane][rekey]") {
    RekeySchedule r;
    const SteadyTime t0{};  // fake clock
    CHECK(r.next_deadline() == SteadyTime::max());

    // First TEK: inbound, then outbound at once, then the rule set says keyed.
    CHECK(text(r.on_state({0x1000}, seconds(30), seconds(60), t0)) ==
          L{"install_inbound 0x00001000", "activate 0x00001000", "keyed"});
    CHECK(r.active() == 0x1000u);
    CHECK(r.next_deadline() == SteadyTime::max());
    // The same state again changes nothing.
    CHECK(r.on_state({0x1000}, seconds(30), seconds(60), t0 + seconds(1)).empty());

    // Rekey: the new inbound SA now, the outbound after the activation delay.
    CHECK(text(r.on_state({0x1000, 0x2000}, seconds(30), seconds(60), t0 + seconds(10))) ==
          L{"install_inbound 0x00002000"});
    CHECK(r.role(0x2000) == RekeySchedule::Role::activating);
    CHECK(r.next_deadline() == t0 + seconds(40));
    CHECK(r.on_timer(t0 + seconds(39)).empty());
    CHECK(text(r.on_timer(t0 + seconds(40))) == L{"activate 0x00002000 replacing 0x00001000"});
    CHECK(r.active() == 0x2000u);
    CHECK(r.role(0x1000) ==
          RekeySchedule::Role::inbound_only);  // still listed: other members may send with it

    // The old TEK is deleted: its inbound SA after the deactivation delay.
    CHECK(r.on_state({0x2000}, seconds(30), seconds(60), t0 + seconds(100)).empty());
    CHECK(r.role(0x1000) == RekeySchedule::Role::deactivating);
    CHECK(r.next_deadline() == t0 + seconds(160));
    CHECK(text(r.on_timer(t0 + seconds(170))) == L{"remove_inbound 0x00001000"});
    CHECK(!r.role(0x1000));
    CHECK(r.installed() == std::vector<uint32_t>{0x2000});
}

TEST_CASE("dataplane rekey: the first registration with several TEKs sends with the newest at once",
          "[dataplane][rekey]") {
    RekeySchedule r;
    const SteadyTime t0{};
    CHECK(text(r.on_state({0x1000, 0x2000}, seconds(30), seconds(60), t0)) ==
          L{"install_inbound 0x00001000", "install_inbound 0x00002000", "activate 0x00002000", "keyed"});
}

TEST_CASE("dataplane rekey: the active TEK disappears", "[dataplane][rekey]") {
    const SteadyTime t0{};
    SECTION("with a successor waiting: its activation stands, the old key sends until then") {
        RekeySchedule r;
        (void)r.on_state({0x1000}, seconds(30), seconds(60), t0);
        (void)r.on_state({0x1000, 0x2000}, seconds(30), seconds(60), t0 + seconds(1));
        CHECK(r.on_state({0x2000}, seconds(30), seconds(60), t0 + seconds(2)).empty());
        CHECK(r.active() == 0x1000u);
        CHECK(r.role(0x1000) == RekeySchedule::Role::deactivating);
        CHECK(text(r.on_timer(t0 + seconds(31))) == L{"activate 0x00002000 replacing 0x00001000"});
        CHECK(r.role(0x1000) == RekeySchedule::Role::deactivating);
        CHECK(text(r.on_timer(t0 + seconds(62))) == L{"remove_inbound 0x00001000"});
    }
    SECTION("one push brings the successor and deletes the sender: switch after the activation delay") {
        // GAP (RFC 6407): members getting the same push a moment later must already hold the
        // new inbound SA when the first one sends under it.
        RekeySchedule r;
        (void)r.on_state({0x1000}, seconds(3), seconds(6), t0);
        CHECK(text(r.on_state({0x2000}, seconds(3), seconds(6), t0 + seconds(10))) ==
              L{"install_inbound 0x00002000"});
        CHECK(r.active() == 0x1000u);
        CHECK(r.on_timer(t0 + seconds(12)).empty());
        CHECK(text(r.on_timer(t0 + seconds(13))) == L{"activate 0x00002000 replacing 0x00001000"});
        CHECK(text(r.on_timer(t0 + seconds(16))) == L{"remove_inbound 0x00001000"});
    }
    SECTION("a deactivation delay shorter than the activation delay switches at the deactivation") {
        RekeySchedule r;
        (void)r.on_state({0x1000}, seconds(30), seconds(5), t0);
        (void)r.on_state({0x2000}, seconds(30), seconds(5), t0 + seconds(10));
        const auto steps = text(r.on_timer(t0 + seconds(15)));
        CHECK(std::find(steps.begin(), steps.end(), "activate 0x00002000 replacing 0x00001000") !=
              steps.end());
        CHECK(r.active() == 0x2000u);
    }
    SECTION("with nothing left: fail-closed first, then the SAs go") {
        RekeySchedule r;
        (void)r.on_state({0x1000}, seconds(30), seconds(5), t0);
        CHECK(text(r.on_state({}, seconds(30), seconds(5), t0 + seconds(1))) ==
              L{"unkeyed", "remove_outbound 0x00001000"});
        CHECK(!r.active());
        CHECK(text(r.on_timer(t0 + seconds(6))) == L{"remove_inbound 0x00001000"});
        // A new registration: no activation delay again.
        CHECK(text(r.on_state({0x3000}, seconds(30), seconds(5), t0 + seconds(7))) ==
              L{"install_inbound 0x00003000", "activate 0x00003000", "keyed"});
    }
}

TEST_CASE("dataplane rekey: a newer TEK supersedes one still activating", "[dataplane][rekey]") {
    RekeySchedule r;
    const SteadyTime t0{};
    (void)r.on_state({0x1000}, seconds(30), seconds(60), t0);
    (void)r.on_state({0x1000, 0x2000}, seconds(30), seconds(60), t0 + seconds(1));
    CHECK(text(r.on_state({0x1000, 0x2000, 0x3000}, seconds(30), seconds(60), t0 + seconds(2))) ==
          L{"install_inbound 0x00003000"});
    CHECK(r.role(0x2000) == RekeySchedule::Role::inbound_only);
    CHECK(text(r.on_timer(t0 + seconds(31))).empty());
    CHECK(text(r.on_timer(t0 + seconds(32))) == L{"activate 0x00003000 replacing 0x00001000"});
}

TEST_CASE("dataplane rekey: zero delays still keep the order", "[dataplane][rekey]") {
    RekeySchedule r;
    const SteadyTime t0{};
    (void)r.on_state({0x1000}, seconds(0), seconds(0), t0);
    CHECK(text(r.on_state({0x1000, 0x2000}, seconds(0), seconds(0), t0)) == L{"install_inbound 0x00002000"});
    CHECK(text(r.on_timer(t0)) == L{"activate 0x00002000 replacing 0x00001000"});
}

TEST_CASE("dataplane rekey: SAs adopted after a restart continue without reinstalling",
          "[dataplane][rekey]") {
    RekeySchedule r;
    const SteadyTime t0{};
    r.adopt({0x1000, 0x2000}, 0x2000);
    CHECK(r.active() == 0x2000u);
    CHECK(r.role(0x1000) == RekeySchedule::Role::inbound_only);
    // The registration lists the same TEKs: nothing to install, nothing to switch.
    CHECK(r.on_state({0x1000, 0x2000}, seconds(2), seconds(10), t0).empty());
    // The key server rekeyed while the daemon was down: make-before-break from the adopted SA,
    // and the TEK no longer listed goes after the deactivation delay.
    CHECK(text(r.on_state({0x2000, 0x3000}, seconds(2), seconds(10), t0 + seconds(1))) ==
          L{"install_inbound 0x00003000"});
    CHECK(text(r.on_timer(t0 + seconds(3))) == L{"activate 0x00003000 replacing 0x00002000"});
    CHECK(text(r.on_timer(t0 + seconds(11))) == L{"remove_inbound 0x00001000"});
}

TEST_CASE("dataplane rekey: adopting an active SPI without its inbound SA adopts no sender",
          "[dataplane][rekey]") {
    RekeySchedule r;
    r.adopt({0x1000}, 0x2000);
    CHECK_FALSE(r.active());
    CHECK(r.installed() == std::vector<uint32_t>{0x1000});
}
