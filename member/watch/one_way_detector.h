// Recovery probe input besides unknown SPIs: one-way traffic. When this member
// encrypts packets for the group but receives nothing on any of the group's inbound SAs,
// the other members most likely drop what it sends (they moved to keys it missed, or it
// holds keys they no longer have) and stopped answering. Pure: the daemon feeds it the
// group's SA packet counters once per check interval (10 s); no clock, no kernel.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <utility>

#include "dataplane/sa_traffic.h"

namespace member {

// Checks (10 s each) in which the member sent and received nothing, with no received
// packet in between, before the traffic counts as one-way: 3, i.e. at least 30 s of
// sending into silence. Checks without any traffic neither count nor reset: a member
// that was idle and sends one packet is not one-way yet, sparse traffic that never gets
// an answer is. Shorter would fire on ordinary pauses of request/response traffic (a TCP
// retransmission backs off 1, 2, 4, 8 s...); longer delays the recovery probe. Traffic
// that is one-way by nature (syslog or traps to another site with nothing coming back)
// also triggers it: the probe then re-registers now and then, which costs a pull, not
// traffic.
inline constexpr unsigned kOneWayQuietIntervals = 3;

class OneWayDetector {
public:
    explicit OneWayDetector(unsigned quiet_intervals = kOneWayQuietIntervals)
        : quiet_needed_(quiet_intervals) {}

    // One check: the packet counters of all the group's SAs now. True when the outbound
    // packets grew in `quiet_intervals` checks (the last one included) and no inbound SA's
    // packets grew since the first of them. The first check only records the counters. An
    // SA that appeared since the previous check (a rekey) counts from 0.
    bool observe(std::span<const SaTraffic> sas);
    // The group lost its keys (or was re-keyed from scratch): start over.
    void reset();

    // Checks with outbound and no inbound growth since the last inbound packet.
    unsigned one_way_checks() const { return one_way_; }

private:
    unsigned quiet_needed_;
    bool primed_ = false;
    unsigned one_way_ = 0;  // checks with outbound growth since the last inbound growth
    std::map<std::pair<uint32_t, bool>, uint64_t> last_;  // (SPI, outbound) -> packets at the previous check
};

}  // namespace member
