// libFuzzer target: the control protocol, both ends. The first byte picks
// the entry point, the rest is the text:
//   0: a request line as the daemon reads it (parse_control_request, then the dispatcher);
//      an accepted request formats back to a line that parses to the same request.
//   1: a reply as gdoictl reads it for `show` (parse_show_reply); an accepted status writes
//      back (to_json) to a document that parses to the same status.
//   2: a reply to an action (parse_ack_reply).
// Whatever arrives, the answer is a value or an error — never a crash.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "control/control.h"
#include "control/status_json.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0 || size > 16384) return 0;
    const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
    switch (data[0] % 3) {
        case 0: {
            auto request = member::parse_control_request(text);
            if (request) {
                auto again = member::parse_control_request(member::format_control_request(*request));
                FUZZ_CHECK(again.ok());
                FUZZ_CHECK(again->kind == request->kind && again->group == request->group);
            }
            member::ControlHandlers handlers;
            handlers.show = [] { return member::MemberStatus{}; };
            handlers.register_group = [](const std::string&) { return common::Status{}; };
            handlers.flush = [] { return common::Status{}; };
            const auto reply = member::dispatch_control_request(std::string(text), handlers);
            FUZZ_CHECK(!reply.empty());
            break;
        }
        case 1: {
            auto status = member::parse_show_reply(text);
            if (status) {
                auto again = member::status_from_json(member::to_json(*status));
                FUZZ_CHECK(again.ok());
                FUZZ_CHECK(member::to_json(*again) == member::to_json(*status));
            }
            break;
        }
        default:
            (void)member::parse_ack_reply(text);
            break;
    }
    return 0;
}
