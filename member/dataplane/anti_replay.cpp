#include "dataplane/anti_replay.h"

#include <chrono>

namespace member::anti_replay {
namespace {

std::int64_t second_of_period(std::int64_t unix_seconds) {
    const std::int64_t s = unix_seconds % kPeriodSeconds;
    return s < 0 ? s + kPeriodSeconds : s;
}

}  // namespace

std::int64_t unix_seconds_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::uint32_t pseudotime(std::int64_t unix_seconds) {
    return static_cast<std::uint32_t>(second_of_period(unix_seconds)) << kSequenceBitsPerSecond;
}

std::vector<policy::SequenceRange> accepted(std::int64_t unix_seconds, std::uint32_t window) {
    const std::uint32_t first = pseudotime(unix_seconds - window);
    const std::uint32_t last = pseudotime(unix_seconds + window) + (kSequencesPerSecond - 1);
    if (first <= last) return {{first, last}};
    return {{0, last}, {first, UINT32_MAX}};  // across the wrap
}

std::optional<std::uint32_t> correction(std::uint32_t counter, std::int64_t unix_seconds,
                                        std::uint32_t window) {
    const std::uint32_t now = pseudotime(unix_seconds);
    // Modulo 2^32: positive = the counter is behind the pseudotime, negative = ahead.
    const auto behind = static_cast<std::int32_t>(now - counter);
    if (behind >= static_cast<std::int32_t>(kSequencesPerSecond / 2)) return now;
    const std::int64_t ahead_limit = std::int64_t{window} * kSequencesPerSecond / 2;
    if (-std::int64_t{behind} > ahead_limit) return now;
    return std::nullopt;
}

std::int64_t age_seconds(std::uint32_t sequence, std::int64_t unix_seconds) {
    const auto stamped = static_cast<std::int64_t>(sequence >> kSequenceBitsPerSecond);
    std::int64_t d = stamped - second_of_period(unix_seconds);
    if (d >= kPeriodSeconds / 2) d -= kPeriodSeconds;
    if (d < -kPeriodSeconds / 2) d += kPeriodSeconds;
    return d;
}

}  // namespace member::anti_replay
