// The member's rules as the kernel sends them, parsed with libnftnl: one NFT_MSG_GETRULE dump of the
// table (what the health counters, nft_counters.cpp, read, and the in-place replacement when it has
// to read the rules' handles back, nft_table.cpp), and a rule the kernel echoes (NLM_F_ECHO).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

struct nlmsghdr;

namespace policy::detail {

struct DumpedRule {
    std::string chain;
    std::uint64_t handle = 0;
    std::string comment;
    std::optional<std::uint64_t> packets;  // of its counter, when it has one
};

// The table's rules, chain by chain in the kernel's order (a missing table reads as none: the
// kernel filters a dump by table name without complaining). `what` names the read in errors.
common::Result<std::vector<DumpedRule>> dump_rules(const std::string& table_name, const std::string& what);

// The handle of the rule in a NEWRULE message (the echo of one we added); nullopt for others.
std::optional<std::uint64_t> new_rule_handle(const nlmsghdr* message);

}  // namespace policy::detail
