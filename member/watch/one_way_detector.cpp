#include "watch/one_way_detector.h"

namespace member {

bool OneWayDetector::observe(std::span<const SaTraffic> sas) {
    bool inbound_grew = false;
    bool outbound_grew = false;
    std::map<std::pair<uint32_t, bool>, uint64_t> now;
    for (const auto& sa : sas) {
        const auto key = std::make_pair(sa.spi, sa.outbound);
        now[key] = sa.packets;
        const auto before = last_.find(key);
        const uint64_t previous = before != last_.end() ? before->second : 0;
        if (sa.packets > previous) (sa.outbound ? outbound_grew : inbound_grew) = true;
    }
    last_ = std::move(now);
    if (!primed_) {
        primed_ = true;
        return false;
    }
    if (inbound_grew)
        one_way_ = 0;
    else if (outbound_grew)
        ++one_way_;
    return outbound_grew && one_way_ >= quiet_needed_;
}

void OneWayDetector::reset() {
    primed_ = false;
    one_way_ = 0;
    last_.clear();
}

}  // namespace member
