#include "config/reload_plan.h"

namespace member {

std::vector<ReloadStop> groups_to_stop(const std::vector<const GroupConfig*>& running,
                                       const std::vector<GroupConfig>& fresh) {
    std::vector<ReloadStop> stops;
    for (const auto* old : running) {
        const GroupConfig* replacement = nullptr;
        for (const auto& g : fresh)
            if (g.name == old->name) replacement = &g;
        if (replacement == nullptr)
            stops.push_back({old->name, nullptr});
        else if (!(*replacement == *old))
            stops.push_back({old->name, replacement});
    }
    return stops;
}

}  // namespace member
