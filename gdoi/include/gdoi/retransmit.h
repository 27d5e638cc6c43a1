// Retransmission of an exchange's last request with exponential backoff and a
// bounded total time (RFC 2408 §5: the initiator retransmits until it gives up).
#pragma once

#include <chrono>
#include <optional>

#include "gdoi/bytes.h"

namespace gdoi {

using Clock = std::chrono::steady_clock;

struct RetransmitPolicy {
    std::chrono::milliseconds first_interval{500};
    std::chrono::milliseconds max_interval{4000};
    std::chrono::milliseconds total{15000};  // the whole exchange gives up after this
};

class Retransmitter {
public:
    explicit Retransmitter(RetransmitPolicy policy) : policy_(policy) {}

    // Starts the exchange's clock (once) and records the message just sent.
    void sent(Bytes message, Clock::time_point now);
    // Called when the deadline passes: the message to send again, or nullopt when the
    // exchange has run out of time.
    std::optional<Bytes> due(Clock::time_point now);
    Clock::time_point deadline() const;
    bool expired(Clock::time_point now) const { return now >= give_up_at_; }
    int transmissions() const { return transmissions_; }

private:
    RetransmitPolicy policy_;
    Bytes last_;
    std::chrono::milliseconds interval_{0};
    Clock::time_point next_{};
    Clock::time_point give_up_at_{Clock::time_point::max()};
    bool started_ = false;
    int transmissions_ = 0;
};

}  // namespace gdoi
