// Traffic counters of a group's kernel SAs, the input of the one-way traffic check
// (one_way_detector.h) and of the SA counters `gdoictl show tek` shows. The kernel counts
// every packet an SA encrypted (outbound) or decrypted (inbound) in xfrm_lifetime_cur;
// Xfrm::dump_sas() reports them.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "xfrm/address.h"
#include "xfrm/sa.h"

namespace member {

struct SaTraffic {
    uint32_t spi = 0;
    bool outbound = false;
    uint64_t packets = 0;  // since the SA was installed
    uint64_t bytes = 0;    // likewise (gdoictl show tek, the Prometheus metrics)

    bool operator==(const SaTraffic&) const = default;
};

// The group's SAs among the member's own SAs (a dump): those whose SPI is one of the
// group's TEKs. Outbound SAs go to G_OUT, inbound ones to G_IN (xfrm/dataplane.h: both
// SAs of a TEK share its SPI, so the destination tells them apart).
std::vector<SaTraffic> group_sa_traffic(std::span<const xfrm::SaState> own_sas,
                                        std::span<const uint32_t> group_spis, const xfrm::Address& g_out);

}  // namespace member
