// libFuzzer target: the restart-adoption state file (member::parse_saved_state). The file
// decides which kernel SAs a restarted member keeps sending with, so whatever it holds the
// parser answers with a value or an error naming the line — never a crash — and whatever it
// accepts is written back (format_saved_state) to a text that parses to the same state.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dataplane/dataplane_saved_state.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size > 16384) return 0;
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto state = member::parse_saved_state(text);
    if (!state) {
        FUZZ_CHECK(!state.error().message.empty());
        return 0;
    }
    auto again = member::parse_saved_state(member::format_saved_state(*state));
    FUZZ_CHECK(again.ok());
    FUZZ_CHECK(*again == *state);
    return 0;
}
