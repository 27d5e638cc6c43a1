// TableSpec -> nf_tables netlink messages appended to a Batch (libnftnl).
#pragma once

#include <cstdint>

#include "nl_socket.h"
#include "policy/table_spec.h"
#include "table_diff.h"

namespace policy::detail {

// A rule's or element's comment as the kernel holds it (clipped to what nft accepts).
std::string kernel_comment(const std::string& comment);

// Replaces the table: create-if-missing, delete, create, then sets (with their elements),
// chains and rules. Inside one batch this is atomic (never a window without rules).
void encode_replace_table(const TableSpec& table, Batch& batch);
void encode_delete_table(const std::string& table, Batch& batch);
// A table replaced in place, in two batches (nft_table.cpp says why): first the new sets with
// their elements, referenced by no rule yet; then, in one transaction, the refilled fail-open
// sets' elements, the new chains, the rule edits (table_diff.h), the chains the new table lacks
// and the sets no rule uses any more deleted.
void encode_new_sets(const TableSpec& table, const std::vector<std::size_t>& sets, Batch& batch);
// Returns the batch positions (0: BATCH_BEGIN) of the rules written anew (inserted, appended, a new
// chain's), in the order table_diff.h's play() takes their handles; each is sent with NLM_F_ECHO.
std::vector<std::size_t> encode_table_edits(const TableSpec& table, const TableEdits& edits,
                                            const std::vector<std::size_t>& refilled_sets,
                                            const std::vector<std::string>& unused_sets, Batch& batch);
// Empties the set, then adds the given elements (none: stays empty).
void encode_set_contents(const std::string& table, const SetSpec& set,
                         const std::vector<SetElement>& elements, Batch& batch);
// NFT_MSG_GETTABLE request for one table (not batched).
void encode_get_table(const std::string& table, char* buf, std::uint32_t seq);

}  // namespace policy::detail
