#include "session/log_throttle.h"

namespace member {

std::optional<std::string> LogThrottle::admit(const std::string& key, Clock::time_point now) {
    Kind& k = kinds_[key];
    if (k.seen && now - k.last < interval_) {
        ++k.suppressed;
        return std::nullopt;
    }
    std::string suffix = k.suppressed ? " (" + std::to_string(k.suppressed) + " similar suppressed)" : "";
    k = Kind{now, 0, true};
    return suffix;
}

}  // namespace member
