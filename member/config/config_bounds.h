// Bounds on the configuration text before toml++ sees it: toml++ recurses once per dotted-key
// component and per nested array or inline table, so a key of 40,000 components (~80 KB)
// overflows the stack. No real configuration comes near these limits.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/result.h"

namespace member {

inline constexpr std::size_t kMaxConfigLineLength = 4096;  // characters
inline constexpr std::size_t kMaxKeyComponents = 16;       // a.b.c: 3
inline constexpr std::size_t kMaxNesting = 16;             // arrays, inline tables, headers

// "<source>:<line>:<column>: <what>; <what would be right>" for the first bound exceeded.
common::Status check_config_bounds(std::string_view text, const std::string& source);

}  // namespace member
