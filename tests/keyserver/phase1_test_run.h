// The keyserver tests' exchange loop: our Phase1Initiator against the Phase1Responder in
// memory, every datagram one side sends handed to the other, time fixed.
#pragma once

#include <deque>
#include <vector>

#include "gdoi/phase1.h"
#include "phase1_responder.h"

namespace keyserver::test {

struct Transcript {
    std::vector<gdoi::Bytes> to_responder;
    std::vector<gdoi::Bytes> to_initiator;
    std::vector<ResponderStep::Event> events;
};

// Runs one exchange to its end.
inline Transcript run_exchange(gdoi::Phase1Initiator& ini, Phase1Responder& resp, const gdoi::Endpoint& from,
                               gdoi::Clock::time_point now) {
    Transcript t;
    std::deque<gdoi::Bytes> queue;
    auto first = ini.start(now);
    if (first.send) queue.push_back(*first.send);
    while (!queue.empty()) {
        gdoi::Bytes d = std::move(queue.front());
        queue.pop_front();
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

}  // namespace keyserver::test
