// The member's nftables table in the kernel: apply (one atomic batch), fail-open toggling,
// removal and existence checks. libnftnl / libmnl stay behind this header.
//
// The table is deliberately not owned by the process (no NFT_TABLE_F_OWNER): if the daemon
// dies, the fail-closed rules stay in the kernel and nothing leaks in clear.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/result.h"
#include "policy/rules.h"
#include "policy/table_spec.h"

namespace policy {

struct ApplyReport {
    std::size_t messages = 0;  // netlink messages in the batch (all ACKed)
    std::size_t rules = 0;
    std::size_t sets = 0;
    // How the table went in: created (none was there), replaced in place (new sets first, then
    // the rules rebound to them) or replaced with a bridge copy (a table this process did not apply).
    enum class How { created, in_place, bridged } how = How::created;
    std::size_t sets_created = 0;  // in place: the sets that changed (the others stayed as they were)
    // Rules written into the member's table (NEWRULE messages): every rule when it is created or
    // bridged; in place only the rules that differ (a keyed flip: a handful, not the table).
    std::size_t rules_written = 0;
};
const char* to_string(ApplyReport::How how);  // "created", "in place", "bridged"

// Validates, compiles and puts the table into the kernel, never a moment without fail-closed:
// created in one batch; a table this process applied is replaced in place (the changed sets
// under alternating names NAME / NAME_b, then, in one transaction, only the rules that differ
// written: those bound to the new sets, the group's verdicts, its carrier rules);
// any other is replaced while a complete bridge copy (<table>_bridge) enforces the new rules
// (nft_table.cpp says why one delete + create batch is not enough with concatenated-range sets).
common::Result<ApplyReport> apply(const MemberRules& rules);
common::Result<ApplyReport> apply(const TableSpec& table);

// Fills (active) or empties the group's fail-open sets without touching anything else, in one
// batch. Call with active=true when the group loses its last valid TEK, false when it gets one.
common::Status set_fail_open(const MemberRules& rules, std::uint32_t group_id, bool active);

// Moves the group's anti-replay window to rules.find_group(group_id)->replay->accepted: the
// group's check rules in esp_inbound are replaced in place, in one transaction (each packet sees
// the old or the new window), nothing else is written. Needs the table this process applied.
common::Status set_replay_window(const MemberRules& rules, std::uint32_t group_id);

// Removes the table and a leftover bridge (gdoictl flush). A missing table is not an error.
common::Status remove_table(const std::string& table_name = kDefaultTableName);

// Whether the table exists (restart adoption: a restarted daemon replaces it atomically).
common::Result<bool> table_exists(const std::string& table_name = kDefaultTableName);

}  // namespace policy
