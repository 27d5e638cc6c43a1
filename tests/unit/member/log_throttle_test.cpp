// Throttled logging of what the network sends (log_throttle.h), with a fake clock.
#include "session/log_throttle.h"

#include <catch2/catch.hpp>

using member::LogThrottle;
using namespace std::chrono_literals;

TEST_CASE("log throttle: one line per 10 s and kind, then the count of what was held back", "[log]") {
    LogThrottle t;
    const LogThrottle::Clock::time_point t0{};
    CHECK(t.admit("replay", t0) == std::optional<std::string>(""));
    CHECK_FALSE(t.admit("replay", t0 + 1s));
    CHECK_FALSE(t.admit("replay", t0 + 9s));
    CHECK(t.admit("bad-signature", t0 + 9s) == std::optional<std::string>(""));  // kinds are separate
    CHECK(t.admit("replay", t0 + 10s) == std::optional<std::string>(" (2 similar suppressed)"));
    CHECK_FALSE(t.admit("replay", t0 + 11s));
    CHECK(t.admit("replay", t0 + 25s) == std::optional<std::string>(" (1 similar suppressed)"));
    CHECK(t.admit("replay", t0 + 40s) == std::optional<std::string>(""));
}
