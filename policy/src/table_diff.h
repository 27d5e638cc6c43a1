// The rule edits that turn the table the kernel holds into the next one: only the rules that
// differ are written, each where it belongs, the rest keep their place (and their counters).
//
// Why: under qemu TCG each rule of a transaction costs the kernel about 1.5 ms, and a
// registration's keyed flip changes a handful of the table's rules (the group's policy verdict in
// classify, its MSS clamp and into-carrier rules, its health rule, the rules bound to its new scope
// set, the ESP readdressing of its local prefixes); rewriting all of them (59 for one group) made
// the flip the largest part of a registration. The edits go into one transaction like the rewrite
// did, so the flip is as atomic: no packet sees a mix, never a moment without fail-closed.
//
// Why edits rather than a new layout (a `keyed groups` set, a verdict map, per-group chains
// flushed and refilled): a scope set cannot change its elements in place (a lookup may miss both
// the old and the new elements for a moment, nft_table.cpp), so new selectors always mean a new
// set and new rules looking it up, whatever the layout; every use of the group's scope (classify,
// outbound, inbound, both WAN guards) is one such rule. Editing only the rules that differ gets
// the flip down to those without moving a verdict into sets, keeps the rule text that operators,
// `gdoictl show policy`, the health check (rule comments) and the tests read, applies to every
// transition alike (flip, loss of the TEK, new selectors, a reload), and leaves the counters of
// the rules it does not touch counting.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "policy/table_spec.h"

namespace policy::detail {

// The kernel's handle of each rule of a table, per chain, in chain order.
using RuleHandles = std::map<std::string, std::vector<std::uint64_t>>;

struct RuleEdit {
    enum class Kind {
        remove,         // the rule `handle` goes
        replace,        // the rule `handle` is replaced by `rule`, in its place
        insert_before,  // `rule` goes right before the rule `handle` (one that stays)
        append,         // `rule` goes at the end of the chain
    } kind = Kind::append;
    std::string chain;
    std::uint64_t handle = 0;
    const RuleSpec* rule = nullptr;  // points into the next table
    std::size_t index = 0;           // the rule's position in the next chain (for messages)
};

struct TableEdits {
    std::vector<const ChainSpec*> new_chains;  // created first, their rules appended
    std::vector<std::string> removed_chains;   // flushed and deleted after the rule edits
    std::vector<RuleEdit> rules;
    std::size_t rules_written() const;  // replace + insert + append
};

// nullopt when the handles do not describe `previous` (a chain's rule count differs).
std::optional<TableEdits> diff_rules(const TableSpec& previous, const RuleHandles& handles,
                                     const TableSpec& next);

// The handles once the edits are in: a kept rule keeps its handle, and so does a replaced one
// (nf_tables gives the new rule the handle it replaces), a removed one goes, and each rule written
// anew (inserted, appended, a new chain's) has the next of `written`: in the order of the edits,
// then of the new chains' rules (the kernel echoes them, NLM_F_ECHO). nullopt when `written` does
// not hold one handle per new rule.
std::optional<RuleHandles> play(RuleHandles handles, const TableEdits& edits,
                                const std::vector<std::uint64_t>& written);

}  // namespace policy::detail
