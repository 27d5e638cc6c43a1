// Splitting set elements into sets without overlapping elements: the kernel's concatenated-range
// set backend (pipapo) refuses an element whose start or end falls inside another one.
#pragma once

#include <vector>

#include "policy/table_spec.h"

namespace policy::detail {

// First fit: each element goes into the first set it does not overlap, in input order; exact
// duplicates are dropped (they add nothing to a membership test). Every element's source and
// destination must be set (wildcards expanded to the full prefix).
std::vector<std::vector<SetElement>> partition_overlap_free(const std::vector<SetElement>& elements);

}  // namespace policy::detail
