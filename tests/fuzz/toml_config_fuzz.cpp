// libFuzzer target: the configuration loader (member::parse_config over toml++). Operators
// write this file by hand; whatever it holds, the loader answers with a value or an error
// naming file, line and column — never a crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/config.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size > (1 << 20)) return 0;  // the loader's own limit; the text bounds (config_bounds.h) are below it
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto config = member::parse_config(text, "fuzz.toml");
    if (!config) FUZZ_CHECK(config.error().message.rfind("fuzz.toml", 0) == 0);
    return 0;
}
