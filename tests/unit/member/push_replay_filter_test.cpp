// The push replay filter: an already processed datagram is recognised by
// its digest before any decryption, per KEK and SEQ, within a bounded memory.
#include "session/push_replay_filter.h"

#include <array>
#include <catch2/catch.hpp>
#include <cstdint>
#include <vector>

using member::PushReplayFilter;

namespace {

std::vector<uint8_t> datagram(uint32_t n) {
    std::vector<uint8_t> d(200, 0xab);
    for (int i = 0; i < 4; ++i) d[100 + i] = static_cast<uint8_t>(n >> (8 * i));
    return d;
}

}  // namespace

TEST_CASE("push replay filter: a processed datagram is seen again, another one is not", "[replay]") {
    PushReplayFilter f;
    const std::array<uint8_t, 16> kek{1, 2, 3};
    const auto push = datagram(1);
    CHECK_FALSE(f.seen(kek, 5, push));
    f.remember(kek, 5, push);
    CHECK(f.seen(kek, 5, push));
    CHECK_FALSE(f.seen(kek, 5, datagram(2)));
}

TEST_CASE("push replay filter: a new KEK or SEQ forgets every digest", "[replay]") {
    PushReplayFilter f;
    const std::array<uint8_t, 16> kek{1, 2, 3}, other{9};
    const auto push = datagram(1);
    f.remember(kek, 5, push);
    CHECK_FALSE(f.seen(kek, 6, push));  // rekeyed: its answer may differ now, process it again
    f.remember(kek, 6, push);
    CHECK_FALSE(f.seen(other, 6, push));
}

TEST_CASE("push replay filter: holds the last kCapacity datagrams", "[replay]") {
    PushReplayFilter f;
    const std::array<uint8_t, 16> kek{7};
    for (uint32_t n = 0; n < PushReplayFilter::kCapacity + 10; ++n) f.remember(kek, 1, datagram(n));
    CHECK_FALSE(f.seen(kek, 1, datagram(0)));
    CHECK_FALSE(f.seen(kek, 1, datagram(9)));
    CHECK(f.seen(kek, 1, datagram(10)));
    CHECK(f.seen(kek, 1, datagram(PushReplayFilter::kCapacity + 9)));
}
