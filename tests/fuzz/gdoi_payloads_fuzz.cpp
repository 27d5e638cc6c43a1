// libFuzzer target: the GDOI payload parsers (RFC 6407 §5) a member runs on what a key
// server sends (GROUPKEY-PULL answers, GROUPKEY-PUSH rekeys). Input: first byte picks
// the parser (GDOI SA, SA KEK, SA TEK, GAP, KD, SEQ), the rest is the payload body.
// Besides "no crash, no sanitizer report": anything decoded re-encodes to something
// that decodes again (the decoders are liberal, so bytes may differ), and Key Download
// attribute views stay inside the input.
#include <cstddef>
#include <cstdint>

#include "fuzz_check.h"
#include "gdoi/gdoi_payloads.h"

using namespace gdoi;
using namespace gdoi::wire;

namespace {

bool inside(ByteView part, ByteView whole) {
    return part.empty() || (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    ByteView body(data + 1, size - 1);
    switch (data[0] % 6) {
        case 0:
            if (auto sa = parse_gdoi_sa(body)) {
                auto again = parse_gdoi_sa(encode_gdoi_sa(*sa));
                FUZZ_CHECK(again.ok());
                FUZZ_CHECK(again->teks.size() == sa->teks.size());
                FUZZ_CHECK(again->kek.has_value() == sa->kek.has_value());
            }
            break;
        case 1:
            if (auto kek = parse_sak(body)) FUZZ_CHECK(parse_sak(encode_sak(*kek)).ok());
            break;
        case 2:
            if (auto tek = parse_sat(body)) {
                auto again = parse_sat(encode_sat(*tek));
                FUZZ_CHECK(again.ok() && again->spi == tek->spi);
            }
            break;
        case 3:
            if (auto gap = parse_gap(body)) {
                auto again = parse_gap(encode_gap(*gap));
                FUZZ_CHECK(again.ok() && again->activation_time_delay == gap->activation_time_delay &&
                           again->deactivation_time_delay == gap->deactivation_time_delay);
            }
            break;
        case 4:
            if (auto kd = parse_key_download(body)) {
                std::vector<KeyPacketOut> out;
                for (const auto& kp : *kd) {
                    KeyPacketOut o{kp.type, kp.spi, {}};
                    for (const auto& a : kp.attributes) {
                        FUZZ_CHECK(inside(a.value, body));
                        FUZZ_CHECK(kp.find(a.type) != nullptr);
                        o.attributes.emplace_back(a.type, a.value);
                    }
                    out.push_back(std::move(o));
                }
                auto again = parse_key_download(encode_key_download(out));
                FUZZ_CHECK(again.ok() && again->size() == kd->size());
            }
            break;
        case 5:
            if (auto seq = parse_seq(body)) {
                auto again = parse_seq(encode_seq(*seq));
                FUZZ_CHECK(again.ok() && *again == *seq);
            }
            break;
    }
    return 0;
}
