// Kernel XFRM statistics (/proc/net/xfrm_stat, per network namespace) the daemon watches
// for the recovery probe: XfrmInNoStates counts ESP packets whose SPI has no SA — the
// sign that other members use keys this member missed (recovery probe).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace member {

// Value of one counter in the text of /proc/net/xfrm_stat ("XfrmInNoStates    12").
std::optional<uint64_t> xfrm_stat_value(std::string_view text, std::string_view name);
// Reads /proc/net/xfrm_stat (nullopt when the kernel has no XFRM statistics).
std::optional<std::string> read_xfrm_stat();

}  // namespace member
