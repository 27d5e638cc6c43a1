// libFuzzer target: a decrypted message body as open_message returns it (payload
// chain plus cipher padding). Input: first byte = the header's next-payload type,
// the rest = the plaintext. parse_payload_chain with AllowPadding, then Reject.
#include <cstddef>
#include <cstdint>

#include "fuzz_check.h"
#include "gdoi/isakmp.h"

using namespace gdoi;
using namespace gdoi::isakmp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    const auto first = static_cast<PayloadType>(data[0]);
    ByteView plain(data + 1, size - 1);
    auto padded = parse_payload_chain(first, plain, Trailing::AllowPadding);
    auto strict = parse_payload_chain(first, plain, Trailing::Reject);
    if (strict) FUZZ_CHECK(padded.ok() && padded->size() == strict->size());
    if (!padded) {
        FUZZ_CHECK(!strict.ok());
        return 0;
    }
    FUZZ_CHECK(padded->size() <= kMaxPayloads);
    size_t consumed = 0;
    for (const auto& p : *padded) {
        FUZZ_CHECK(p.body.empty() || (p.body.data() >= plain.data() &&
                                      p.body.data() + p.body.size() <= plain.data() + plain.size()));
        FUZZ_CHECK(p.type == first || is_known_payload(static_cast<uint8_t>(p.type)));
        consumed += kGenericHeaderSize + p.body.size();
        (void)find_payload(*padded, p.type);
    }
    FUZZ_CHECK(consumed <= plain.size());
    // Without padding the chain covers the input exactly.
    if (strict) FUZZ_CHECK(consumed == plain.size());
    // The builder reproduces the consumed prefix.
    MessageBuilder b;
    for (const auto& p : *padded) b.add(p.type, p.body);
    Bytes chain = b.chain();
    FUZZ_CHECK(chain.size() == consumed && std::equal(chain.begin(), chain.end(), plain.begin()));
    return 0;
}
