// The sets of a group: scope (policies without ports) and fail-open, each split into as many
// sets as needed so that no set holds overlapping elements (the kernel's concatenated-range
// backend, pipapo, refuses an element whose start or end falls inside another one).
#pragma once

#include <string>
#include <vector>

#include "policy/rules.h"
#include "policy/table_spec.h"

namespace policy::detail {

std::string group_label(const RuleSet& g);
bool has_ports(const Selector& s);
// The selector and, when different, its mirror.
std::vector<Selector> both_directions(const Selector& s);

// with_scope=false: only the fail-open sets (for set_fail_open, which touches nothing else).
std::vector<SetSpec> group_sets(const RuleSet& g, bool with_scope = true);

}  // namespace policy::detail
