#include "dataplane/dataplane_adoption.h"

#include <algorithm>

namespace member {

std::optional<std::vector<AdoptedPlane>> adoptable_planes(const SavedGroup& saved,
                                                          std::span<const xfrm::SaState> sas,
                                                          std::span<const CarrierFacts> carriers) {
    if (!saved.ipv4 && !saved.ipv6) return std::nullopt;
    std::vector<AdoptedPlane> out;
    for (const CarrierFacts& c : carriers) {
        AdoptedPlane p{c.family, {}, 0, std::nullopt};
        std::vector<uint32_t> outbound;
        for (const auto& sa : sas) {
            if (sa.reqid != c.reqid) continue;
            if (sa.dst == c.local) p.inbound.push_back(sa.spi);
            if (sa.dst == c.remote) {
                outbound.push_back(sa.spi);
                p.transform = sa.transform;
            }
        }
        std::sort(p.inbound.begin(), p.inbound.end());
        const auto& plane = saved.plane(c.family);
        if (!plane) {
            if (!outbound.empty()) return std::nullopt;  // it sends with an SA the state does not know
            continue;
        }
        const bool as_saved = c.device_present && outbound == std::vector<uint32_t>{plane->active} &&
                              p.inbound == plane->inbound && p.transform &&
                              std::binary_search(p.inbound.begin(), p.inbound.end(), plane->active);
        if (!as_saved) return std::nullopt;
        p.active = plane->active;
        out.push_back(std::move(p));
    }
    // Every saved family must have been looked at (a carrier for each).
    const auto looked_at = [&](common::IpFamily f) {
        return std::any_of(out.begin(), out.end(), [f](const AdoptedPlane& p) { return p.family == f; });
    };
    if ((saved.ipv4 && !looked_at(common::IpFamily::ipv4)) ||
        (saved.ipv6 && !looked_at(common::IpFamily::ipv6)))
        return std::nullopt;
    return out;
}

}  // namespace member
