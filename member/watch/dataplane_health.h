// The group's health on a real router: the router's own rules (a forward or input
// policy drop, an nft reverse-path filter, NAT) can stop group traffic while the member is
// registered and its keys are fine. Every kStatsInterval the daemon reads the counters of the
// member's nft rules and SAs; this compares two reads and names the likely cause, once, so
// that `gdoictl show groups` and the log say what is wrong instead of "registered".
// Pure: the counters come from KernelDataplane::health_counters().
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dataplane/health_counters.h"
#include "dataplane/sa_traffic.h"

namespace member {

struct HealthChange {
    bool problem = false;  // true: a new problem (warning); false: resolved (info)
    // Packets entered the carrier that were neither encrypted by the group's SA nor stopped by
    // the member's guards: possibly cleartext on the WAN. The group must fail closed.
    bool leak = false;
    std::string message;
};

class HealthMonitor {
public:
    // Feeds one read; returns what changed (for the log), if anything. Unkeyed groups are not
    // judged (fail-closed legitimately drops their traffic).
    std::optional<HealthChange> observe(const HealthCounters& now, bool keyed);
    // The current problem, empty when none is known.
    const std::string& problem() const { return problem_; }
    void reset();

private:
    std::optional<HealthCounters> last_;
    std::string problem_;
    int kind_ = 0;  // which finding problem_ is (dataplane_health.cpp), 0: none
};

// Packets the SAs present in both reads (same SPI and direction) handled between them, plus
// those of SAs new in `now`.
uint64_t sa_packets_between(const std::vector<SaTraffic>& before, const std::vector<SaTraffic>& now,
                            bool outbound);

}  // namespace member
