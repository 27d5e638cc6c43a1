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
// Empties the set, then adds the given elements (none: stays empty).
void encode_set_contents(const std::string& table, const SetSpec& set, const std::vector<SetElement>& elements,
                         Batch& batch);
// NFT_MSG_GETTABLE request for one table (not batched).
void encode_get_table(const std::string& table, char* buf, std::uint32_t seq);

}  // namespace policy::detail
