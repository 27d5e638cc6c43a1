// What `gdoictl show policy` lists for a group, from the rules its dataplane enforces: the
// member's own IKE/GDOI (clear, always), exclude (clear), group (encrypt), fail-open (clear
// while no TEK), fail-closed (drop), in the priority order of the rules. Pure.
#pragma once

#include <vector>

#include "control/status.h"
#include "dataplane/dataplane.h"

namespace member {

std::vector<PolicyStatus> policy_status(const GroupRules& group);

}  // namespace member
