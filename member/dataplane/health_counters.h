// The counters the health check compares (watch/dataplane_health.h): read from the member's nft
// rules and the group's SAs by KernelDataplane::health_counters().
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dataplane/sa_traffic.h"

namespace member {

struct HealthCounters {
    uint64_t to_carrier_wanted = 0;  // classify: the group's traffic to be encrypted (LAN and own)
    uint64_t to_carrier_seen = 0;    // postrouting: packets that entered the group's carrier
    uint64_t guard_drops = 0;        // the last guards: the group's scope or a carrier in clear
    uint64_t esp_readdressed = 0;    // member-wide: ESP for the local scope arriving on the WAN
    uint64_t decrypted_seen = 0;     // member-wide: decrypted traffic past the router's filters
    std::vector<SaTraffic> sas;      // the group's SAs
    // Changes whenever the member's table had rules rewritten: a rewritten rule's counter starts
    // over while the others go on (policy::apply edits in place), so no sum spans the change.
    uint64_t rules_generation = 0;
    std::string carrier;  // device name, for messages
    std::string wan;
};

}  // namespace member
