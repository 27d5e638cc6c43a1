#include "watch/xfrm_stats.h"

#include <fstream>
#include <sstream>

namespace member {

std::optional<uint64_t> xfrm_stat_value(std::string_view text, std::string_view name) {
    std::istringstream in{std::string(text)};
    std::string key;
    uint64_t value = 0;
    while (in >> key >> value)
        if (key == name) return value;
    return std::nullopt;
}

std::optional<std::string> read_xfrm_stat() {
    std::ifstream in("/proc/net/xfrm_stat");
    if (!in) return std::nullopt;
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace member
