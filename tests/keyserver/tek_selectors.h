// gdoi-test-keyserver's --selector options: the traffic of each TEK. One --selector anywhere on
// the command line is every TEK's (the key server's one policy); several give each TEK its own,
// each --selector the one of the --tek before it (a dual-stack group: an IPv4 and an IPv6 TEK).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "gdoi/group_state.h"

namespace keyserver {

// The default --selector: the TEKs' traffic when none is given.
inline constexpr const char* kDefaultSelector = "10.0.0.0/8";

// "10.0.0.0/8", "2001:db8::/32", "10.1.0.10" as an ID_IPV4_ADDR_SUBNET / ID_IPV6_ADDR_SUBNET
// identification (a bare address: its full length); nullopt when not a prefix.
std::optional<gdoi::TrafficId> parse_prefix(const std::string& text);

struct SelectorOption {
    std::size_t teks_before = 0;  // how many --tek came before this --selector on the command line
    std::string prefix;
};

// Sets every TEK's selector (source = destination = the prefix, any protocol) from the options in
// command-line order; no option: kDefaultSelector. Returns an error text, empty when done.
std::string assign_selectors(std::vector<gdoi::Tek>& teks, const std::vector<SelectorOption>& options);

}  // namespace keyserver
