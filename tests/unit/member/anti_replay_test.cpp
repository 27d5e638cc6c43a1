// The pseudotime of time-based anti-replay (member/dataplane/anti_replay.h): what a sender's
// counter is set to, which numbers a receiver accepts, and the wrap after 4096 s.
#include "dataplane/anti_replay.h"

#include <catch2/catch.hpp>

using namespace member::anti_replay;
using policy::SequenceRange;

TEST_CASE("pseudotime: 2^20 sequence numbers per second, wrapping every 4096 s", "[anti-replay]") {
    CHECK(pseudotime(0) == 0);
    CHECK(pseudotime(1) == 0x00100000u);
    CHECK(pseudotime(4095) == 0xfff00000u);
    CHECK(pseudotime(4096) == 0);
    const std::int64_t t = 1'796'000'123;  // 2026-12-01
    CHECK(pseudotime(t) == static_cast<std::uint32_t>((t % 4096) << 20));
    CHECK(pseudotime(t + 1) - pseudotime(t) == kSequencesPerSecond);
}

TEST_CASE("accepted: the seconds now-window .. now+window, two ranges across the wrap", "[anti-replay]") {
    const std::int64_t t = 4096 * 1000 + 2000;  // second 2000 of the period
    const auto one = accepted(t, 100);
    REQUIRE(one.size() == 1);
    CHECK(one[0] == SequenceRange{1900u << 20, (2101u << 20) - 1});

    // Second 30 of the period, window 60: seconds 4066..4095 and 0..90.
    const auto two = accepted(4096 * 7 + 30, 60);
    REQUIRE(two.size() == 2);
    CHECK(two[0] == SequenceRange{0, (91u << 20) - 1});
    CHECK(two[1] == SequenceRange{4066u << 20, 0xffffffffu});

    // Second 4090, window 360: 3730..4095 and 0..354.
    const auto end = accepted(4096 * 3 + 4090, 360);
    REQUIRE(end.size() == 2);
    CHECK(end[0] == SequenceRange{0, (355u << 20) - 1});
    CHECK(end[1].first == 3730u << 20);
}

TEST_CASE("correction: raise a counter behind the pseudotime, lower one far ahead", "[anti-replay]") {
    const std::int64_t t = 4096 * 500 + 1234;
    const std::uint32_t now = pseudotime(t);
    // A new SA starts at the pseudotime: nothing to do within the second.
    CHECK_FALSE(correction(now, t, 100));
    CHECK_FALSE(correction(now + 1000, t, 100));
    // A quiet sender: a second later the counter is a second behind -> raised.
    CHECK(correction(now + 10, t + 1, 100) == pseudotime(t + 1));
    // Less than half a second behind: left alone (no fight with a busy sender).
    CHECK_FALSE(correction(now - kSequencesPerSecond / 2 + 1, t, 100));
    CHECK(correction(now - kSequencesPerSecond / 2, t, 100) == now);
    // Ahead (above 2^20 packets/s, or the clock stepped back): up to half the window is kept.
    CHECK_FALSE(correction(now + 50 * kSequencesPerSecond, t, 100));
    CHECK(correction(now + 51 * kSequencesPerSecond, t, 100) == now);
    // Across the wrap: second 4095's counter at second 0 of the next period is behind.
    CHECK(correction(0xfff00010u, 4096 * 9, 100) == 0u);
    // Long idle (hours): raised whatever the distance.
    CHECK(correction(pseudotime(t - 1800), t, 100) == now);
}

TEST_CASE("age_seconds: how old a sequence number's stamp is", "[anti-replay]") {
    const std::int64_t t = 4096 * 20 + 10;
    CHECK(age_seconds(pseudotime(t), t) == 0);
    CHECK(age_seconds(pseudotime(t - 90) + 5, t) == -90);
    CHECK(age_seconds(pseudotime(t + 30), t) == 30);
}
