// The keyserver tests' exchange loop: our Phase1Initiator against the Phase1Responder in
// memory, every datagram one side sends handed to the other, time fixed.
#pragma once

#include <deque>
#include <functional>
#include <vector>

#include "gdoi/phase1.h"
#include "phase1_responder.h"

namespace keyserver::test {

struct Transcript {
    std::vector<gdoi::Bytes> to_responder;
    std::vector<gdoi::Bytes> to_initiator;
    std::vector<ResponderStep::Event> events;
};

// Changes the initiator's datagram number `which` (0: the first) in flight.
using Tamper = std::function<void(size_t which, gdoi::Bytes& datagram)>;

// Datagram `which`: one byte flipped at `pos`, or (truncate) cut to `pos` bytes.
inline Tamper flip_or_cut(size_t which, size_t pos, bool truncate) {
    return [=](size_t n, gdoi::Bytes& d) {
        if (n != which || pos >= d.size()) return;
        if (truncate)
            d.resize(pos);
        else
            d[pos] ^= 0x5a;
    };
}

// Runs one exchange to its end.
inline Transcript run_exchange(gdoi::Phase1Initiator& ini, Phase1Responder& resp, const gdoi::Endpoint& from,
                               gdoi::Clock::time_point now, const Tamper& tamper = {}) {
    Transcript t;
    std::deque<gdoi::Bytes> queue;
    size_t sent = 0;
    auto first = ini.start(now);
    if (first.send) queue.push_back(*first.send);
    while (!queue.empty()) {
        gdoi::Bytes d = std::move(queue.front());
        queue.pop_front();
        if (tamper) tamper(sent, d);
        ++sent;
        t.to_responder.push_back(d);
        auto rs = resp.on_datagram(d, from, now);
        t.events.push_back(rs.event);
        if (!rs.send) continue;
        t.to_initiator.push_back(*rs.send);
        auto is = ini.on_datagram(*rs.send, now);
        if (is.send) queue.push_back(*is.send);
    }
    return t;
}

// f(which, pos) for every `step`-th byte of every datagram the initiator sent in t: the places
// a tamper sweep changes.
template <class F>
void for_each_position(const Transcript& t, size_t step, F f) {
    for (size_t which = 0; which < t.to_responder.size(); ++which)
        for (size_t pos = 0; pos < t.to_responder[which].size(); pos += step) f(which, pos);
}

}  // namespace keyserver::test
