// TableSpec -> nf_tables netlink messages appended to a Batch (libnftnl).
#pragma once

#include <cstdint>

#include "nl_socket.h"
#include "policy/table_spec.h"

namespace policy::detail {

// Replaces the table: create-if-missing, delete, create, then sets (with their elements),
// chains and rules. Inside one batch this is atomic (never a window without rules).
void encode_replace_table(const TableSpec& table, Batch& batch);
void encode_delete_table(const std::string& table, Batch& batch);
// A table replaced in place, in two batches (nft_table.cpp says why): first the new sets with
// their elements, referenced by no rule yet; then every chain of the old table flushed, the
// chains the new one lacks deleted, its new chains created, all its rules added, and the sets
// no rule uses any more deleted.
void encode_new_sets(const TableSpec& table, const std::vector<std::size_t>& sets, Batch& batch);
void encode_rebind_rules(const TableSpec& old_table, const TableSpec& table,
                         const std::vector<std::string>& unused_sets, Batch& batch);
// Empties the set, then adds the given elements (none: stays empty).
void encode_set_contents(const std::string& table, const SetSpec& set,
                         const std::vector<SetElement>& elements, Batch& batch);
// NFT_MSG_GETTABLE request for one table (not batched).
void encode_get_table(const std::string& table, char* buf, std::uint32_t seq);

}  // namespace policy::detail
