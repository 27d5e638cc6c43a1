#include "dataplane/sa_traffic.h"

#include <algorithm>

namespace member {

std::vector<SaTraffic> group_sa_traffic(std::span<const xfrm::SaState> own_sas,
                                        std::span<const uint32_t> group_spis, const xfrm::Address& g_out) {
    std::vector<SaTraffic> out;
    for (const auto& sa : own_sas)
        if (std::find(group_spis.begin(), group_spis.end(), sa.spi) != group_spis.end())
            out.push_back({sa.spi, sa.dst == g_out, sa.packets, sa.bytes});
    return out;
}

}  // namespace member
