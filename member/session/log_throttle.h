// Log lines about what the network sends us (rejected rekeys, unknown KEKs) are throttled:
// anyone who can reach UDP 848 or the rekey multicast group could otherwise flood the
// journal. The counters still count every event; the log says how many lines it held back.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>

namespace member {

class LogThrottle {
public:
    using Clock = std::chrono::steady_clock;
    explicit LogThrottle(Clock::duration interval = std::chrono::seconds(10)) : interval_(interval) {}

    // Whether a line of kind `key` may be logged at `now` (at most one per interval and key).
    // When it may: the suffix to append, "" or " (N similar suppressed)"; else nullopt.
    std::optional<std::string> admit(const std::string& key, Clock::time_point now);

private:
    struct Kind {
        Clock::time_point last{};
        unsigned long suppressed = 0;
        bool seen = false;
    };
    Clock::duration interval_;
    std::map<std::string, Kind> kinds_;
};

}  // namespace member
