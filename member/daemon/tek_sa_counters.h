// The kernel counters gdoictl shows for a TEK: its SAs' packets and bytes by direction.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "control/status.h"
#include "dataplane/sa_traffic.h"

namespace member {

// The SAs of `spi` among the group's SAs (Dataplane::sa_traffic), inbound then outbound, one
// entry per direction present (a dual SA of a direction, if ever, is summed); empty when the
// kernel holds none for the SPI.
std::vector<SaCounterStatus> tek_sa_counters(std::span<const SaTraffic> group_sas, uint32_t spi);

}  // namespace member
