#include "gdoi/retransmit.h"

#include <algorithm>

namespace gdoi {

void Retransmitter::sent(Bytes message, Clock::time_point now) {
    if (!started_) {
        started_ = true;
        give_up_at_ = now + policy_.total;
    }
    last_ = std::move(message);
    interval_ = policy_.first_interval;
    next_ = now + interval_;
    ++transmissions_;
}

std::optional<Bytes> Retransmitter::due(Clock::time_point now) {
    if (expired(now)) return std::nullopt;
    if (now < next_) return std::nullopt;
    interval_ = std::min(interval_ * 2, policy_.max_interval);
    next_ = now + interval_;
    ++transmissions_;
    return last_;
}

Clock::time_point Retransmitter::deadline() const { return std::min(next_, give_up_at_); }

}  // namespace gdoi
