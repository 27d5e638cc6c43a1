// tek_sa_counters: the group's SA counters -> the inbound/outbound counters of one TEK
// (gdoictl show tek, the Prometheus SA metrics).
#include "daemon/tek_sa_counters.h"

#include <catch2/catch.hpp>
#include <vector>

using member::SaCounterStatus;
using member::SaTraffic;

TEST_CASE("a TEK's SA counters: inbound first, only the directions the kernel holds", "[tek_sa_counters]") {
    const std::vector<SaTraffic> sas{
        {0x200, true, 5, 500}, {0x100, true, 7, 700}, {0x100, false, 3, 300}, {0x300, false, 9, 900}};
    CHECK(member::tek_sa_counters(sas, 0x100) ==
          std::vector<SaCounterStatus>{{"inbound", 3, 300}, {"outbound", 7, 700}});
    CHECK(member::tek_sa_counters(sas, 0x200) == std::vector<SaCounterStatus>{{"outbound", 5, 500}});
    CHECK(member::tek_sa_counters(sas, 0x300) == std::vector<SaCounterStatus>{{"inbound", 9, 900}});
    CHECK(member::tek_sa_counters(sas, 0x400).empty());
    CHECK(member::tek_sa_counters({}, 0x100).empty());
}

TEST_CASE("a TEK's SAs of one direction twice (never expected) are summed, not dropped",
          "[tek_sa_counters]") {
    const std::vector<SaTraffic> sas{{0x100, false, 3, 300}, {0x100, false, 4, 400}};
    CHECK(member::tek_sa_counters(sas, 0x100) == std::vector<SaCounterStatus>{{"inbound", 7, 700}});
}
