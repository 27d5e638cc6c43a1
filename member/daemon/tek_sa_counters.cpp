#include "daemon/tek_sa_counters.h"

#include <utility>

namespace member {

std::vector<SaCounterStatus> tek_sa_counters(std::span<const SaTraffic> group_sas, uint32_t spi) {
    std::vector<SaCounterStatus> out;
    for (const bool outbound : {false, true}) {
        SaCounterStatus c{outbound ? "outbound" : "inbound", 0, 0};
        bool found = false;
        for (const SaTraffic& sa : group_sas) {
            if (sa.spi != spi || sa.outbound != outbound) continue;
            found = true;
            c.packets += sa.packets;
            c.bytes += sa.bytes;
        }
        if (found) out.push_back(std::move(c));
    }
    return out;
}

}  // namespace member
