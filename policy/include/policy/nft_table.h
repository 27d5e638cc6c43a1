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
};

// Validates, compiles and replaces the whole table. Each replacement is one NFNL batch (delete +
// recreate), and a complete bridge copy (<table>_bridge) enforces the new rules while the
// member's table is replaced, then is removed: never a moment without fail-closed (see
// nft_table.cpp for why one batch is not enough with concatenated-range sets).
common::Result<ApplyReport> apply(const MemberRules& rules);
common::Result<ApplyReport> apply(const TableSpec& table);

// Fills (active) or empties the group's fail-open sets without touching anything else, in one
// batch. Call with active=true when the group loses its last valid TEK, false when it gets one.
common::Status set_fail_open(const MemberRules& rules, std::uint32_t group_id, bool active);

// Removes the table and a leftover bridge (gdoictl flush). A missing table is not an error.
common::Status remove_table(const std::string& table_name = kDefaultTableName);

// Whether the table exists (restart adoption: a restarted daemon replaces it atomically).
common::Result<bool> table_exists(const std::string& table_name = kDefaultTableName);

}  // namespace policy
