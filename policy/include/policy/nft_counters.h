// The packet counters of the member's nft rules as the kernel holds them, by chain and comment:
// what the health check (member/) compares between two reads.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "policy/rules.h"

namespace policy {

struct RuleCounter {
    std::string chain;
    std::string comment;
    std::uint64_t packets = 0;
};

// Every rule of the table that has a counter (a missing table reads as none: the kernel
// filters a dump by table name without complaining).
common::Result<std::vector<RuleCounter>> read_rule_counters(
    const std::string& table_name = kDefaultTableName);

// Comments of the rules that exist only to be counted by the health check (compile.cpp).
inline constexpr const char* kHealthIntoCarrier = "health: into carrier ";  // + device name
inline constexpr const char* kHealthDecrypted = "health: decrypted, past the router's filters";

// The sum of the counters of the rules in `chain` whose comment starts with `prefix` (and ends
// with `suffix`).
std::uint64_t packets_of(const std::vector<RuleCounter>& counters, const std::string& chain,
                         const std::string& prefix, const std::string& suffix = {});
// The sum of the counters of the rules in `chain` whose comment is exactly `comment`.
std::uint64_t packets_exact(const std::vector<RuleCounter>& counters, const std::string& chain,
                            const std::string& comment);

}  // namespace policy
