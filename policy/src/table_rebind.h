// Replacing the member's table in place, without a window: the new table's sets that the kernel
// does not hold yet are created first (no rule uses them yet), then the rules that look them up
// are rebound to them in one transaction (table_diff.h: only the rules that change), and
// fail-open sets whose elements alone change are refilled in that transaction (nft_table.cpp says
// why a plain replace needs a bridge copy instead).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "policy/table_spec.h"

namespace policy::detail {

struct Rebinding {
    // The new table as the kernel will hold it: a set whose contents did not change keeps its
    // kernel name; a new or changed set gets the name of its kind the kernel does not hold (the
    // compiled NAME and NAME_b alternate), and the rules look up those names. Rule comments keep
    // the compiled names, so counters and operators find the rules as before.
    TableSpec table;
    std::vector<std::size_t> new_sets;  // indexes into table.sets: create these (with elements) first
    // Fail-open sets that keep their kernel name and get their new elements in the rules'
    // transaction (indexes into table.sets). Only fail-open: while the kernel swaps the elements
    // of a concatenated-range set, a lookup may briefly see neither the old nor the new ones, and
    // for fail-open that means dropped (fail-closed), never in clear; a scope or interface set
    // with that gap would let traffic past fail-closed, so those always get a new name.
    std::vector<std::size_t> refilled_sets;
    std::vector<std::string> unused_sets;  // sets of the previous table no rule of `table` uses
};

// nullopt when the previous table cannot be turned into the new one in place (a chain changes
// its hook, priority or type; the tables have different names).
std::optional<Rebinding> rebind(const TableSpec& previous, const TableSpec& compiled);

// The compiled name of a kernel set name (NAME_b -> NAME).
std::string compiled_set_name(const std::string& kernel_name);

}  // namespace policy::detail
