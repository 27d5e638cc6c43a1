// An SPI as gdoictl and the logs show it: "0x0000abcd" (8 hex digits, like `ip xfrm state`).
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

namespace common {

inline std::string hex_spi(uint32_t spi) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%08x", spi);
    return buf;
}

}  // namespace common
