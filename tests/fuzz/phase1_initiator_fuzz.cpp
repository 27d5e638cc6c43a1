// libFuzzer target: Phase1Initiator (main mode) fed arbitrary answers. The input is a
// sequence of datagrams, each preceded by a 2-byte big-endian length; the first 8
// bytes of each are replaced by the initiator's cookie (random per run) so that the
// answers are not dropped as someone else's. Checks: no crash, everything the
// initiator sends parses, a finished exchange stays finished and a failure always
// has a reason.
#include <chrono>
#include <cstddef>
#include <cstdint>

#include "fuzz_check.h"
#include "gdoi/phase1.h"

using namespace gdoi;
using namespace std::chrono_literals;

namespace {

Phase1Config make_config() {
    Phase1Config c;
    for (const char* name : {"aes128-sha256-ecp256", "aes256-sha1-ecp256", "3des-sha1-ecp256"})
        c.proposals.push_back(*parse_ike_proposal(name));
    c.psk = SecureBytes(Bytes{'f', 'u', 'z', 'z'});
    c.local_id = isakmp::IdPayload{1, 0, 0, {192, 0, 2, 1}};
    return c;
}

void check_step(const ExchangeStep& step, const Phase1Initiator& init) {
    if (step.send) FUZZ_CHECK(isakmp::parse_message(*step.send).ok());
    if (init.failed()) {
        FUZZ_CHECK(init.failure() != Phase1Failure::None);
        FUZZ_CHECK(!init.failure_message().empty());
    }
    if (init.established()) FUZZ_CHECK(init.failure() == Phase1Failure::None);
    if (init.finished()) FUZZ_CHECK(!step.deadline.has_value());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const Phase1Config config = make_config();
    Phase1Initiator init(config);
    Clock::time_point now{std::chrono::seconds(1000)};
    check_step(init.start(now), init);
    size_t pos = 0;
    for (int n = 0; n < 8 && pos + 2 <= size; ++n) {
        size_t len = static_cast<size_t>(data[pos] << 8 | data[pos + 1]);
        pos += 2;
        if (len > size - pos) len = size - pos;
        Bytes datagram(data + pos, data + pos + len);
        pos += len;
        if (datagram.size() >= 8)
            std::copy(init.initiator_cookie().begin(), init.initiator_cookie().end(), datagram.begin());
        const bool was_finished = init.finished();
        now += 10ms;
        auto step = init.on_datagram(datagram, now);
        check_step(step, init);
        if (was_finished) FUZZ_CHECK(!step.send.has_value());
    }
    auto last = init.on_timer(now + 1h);
    check_step(last, init);
    FUZZ_CHECK(init.finished());
    return 0;
}
