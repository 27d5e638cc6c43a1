// What a SIGHUP reload does to the running groups: a group missing from the new file is
// stopped; a group whose configuration differs in any field (GroupConfig::operator==: the
// PSK, a rule's port or prefix, ...) is restarted fail-closed under its new configuration;
// an identical one is left alone.
#pragma once

#include <string>
#include <vector>

#include "config/config.h"

namespace member {

struct ReloadStop {
    std::string name;
    const GroupConfig* replacement = nullptr;  // into `fresh`; nullptr: removed
};

std::vector<ReloadStop> groups_to_stop(const std::vector<const GroupConfig*>& running,
                                       const std::vector<GroupConfig>& fresh);

}  // namespace member
