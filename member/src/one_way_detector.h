// Recovery probe input besides unknown SPIs (issue 5): one-way traffic. When this member
// encrypts packets for the group but receives nothing on any of the group's inbound SAs,
// the other members most likely drop what it sends (they moved to keys it missed, or it
// holds keys they no longer have) and stopped answering. Pure: the daemon feeds it the
// group's SA packet counters once per check interval (10 s); no clock, no kernel.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <utility>

#include "sa_traffic.h"

namespace member {

// Inbound silence needed before outbound traffic counts as one-way: 3 checks of 10 s =
// 30 s. Shorter would fire on ordinary pauses of request/response traffic (a TCP
// retransmission backs off 1, 2, 4, 8 s...); longer delays the recovery probe.
inline constexpr unsigned kOneWayQuietIntervals = 3;

class OneWayDetector {
public:
    explicit OneWayDetector(unsigned quiet_intervals = kOneWayQuietIntervals) : quiet_needed_(quiet_intervals) {}

    // One check: the packet counters of all the group's SAs now. True when the outbound
    // packets grew since the previous check while no inbound SA's packets grew during the
    // last `quiet_intervals` checks. The first check only records the counters. An SA
    // that appeared since the previous check (a rekey) counts from 0.
    bool observe(std::span<const SaTraffic> sas);
    // The group lost its keys (or was re-keyed from scratch): start over.
    void reset();

    unsigned quiet_intervals() const { return quiet_; }

private:
    unsigned quiet_needed_;
    bool primed_ = false;
    unsigned quiet_ = 0;  // consecutive checks without inbound growth
    std::map<std::pair<uint32_t, bool>, uint64_t> last_;  // (SPI, outbound) -> packets at the previous check
};

}  // namespace member
