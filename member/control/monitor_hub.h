// The subscribers of the monitor stream (`gdoictl monitor`): control connections that asked
// for "monitor [GROUP]" and now receive one JSON line per event (monitor_event.h) until they
// close. The daemon publishes every event here; the hub never blocks it:
//   - each subscriber has a queue of at most kMaxQueueBytes of lines its socket did not take
//     yet; writes are non-blocking and continue when the socket is writable (EPOLLOUT);
//   - a subscriber whose queue would grow beyond that is dropped: the complete lines not yet
//     sent are discarded, one last line {"event":"events-lost","lost":N,...} is queued (N: the
//     events it did not get, the one that overflowed included) and the connection is closed
//     once that line is written, or kOverflowGrace later if the reader still takes nothing
//     (the owner calls on_ready() at next_deadline());
//   - a subscriber that closes or fails (EPOLLHUP, EPOLLRDHUP, EOF, a write error) is removed;
//   - at most kMaxSubscribers at once (the control server refuses more).
// fd() is an epoll instance over the subscribers' sockets: the owner watches it for EPOLLIN
// and calls on_ready() when it is readable. Subscribers are not control connections: the
// one-request timeout and displacement of control.h do not apply to them.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <string>

#include "common/result.h"
#include "common/unique_fd.h"
#include "control/monitor_event.h"

namespace member {

class MonitorHub {
public:
    using SteadyClock = std::chrono::steady_clock;
    static constexpr std::size_t kMaxSubscribers = 8;
    static constexpr std::size_t kMaxQueueBytes = 1024 * 1024;
    static constexpr std::chrono::seconds kOverflowGrace{5};

    static common::Result<MonitorHub> create();

    int fd() const { return epoll_.get(); }
    std::size_t subscribers() const { return subscribers_.size(); }
    bool full() const { return subscribers_.size() >= kMaxSubscribers; }

    // Takes over a connected socket (made non-blocking here): `greeting` is written first, then
    // the events of `group` (empty: every group). Fails when full() or epoll refuses the fd.
    common::Status add(common::UniqueFd fd, std::string group, std::string greeting);
    // Queues the event's line for every subscriber of its group and writes what the sockets take.
    void publish(const MonitorEvent& event, SteadyClock::time_point now = SteadyClock::now());
    // Non-blocking: writes queued lines to sockets that became writable, removes the subscribers
    // that closed or failed, and the dropped ones whose grace ran out.
    void on_ready(SteadyClock::time_point now = SteadyClock::now());
    // When on_ready() must run even if fd() stays quiet: the end of a dropped subscriber's
    // grace (time_point::max() when none).
    SteadyClock::time_point next_deadline() const;

private:
    struct Subscriber {
        common::UniqueFd fd;
        std::string group;
        std::deque<std::string> queue;  // lines, the front one written up to `written`
        std::size_t written = 0;
        std::size_t queued_bytes = 0;
        bool want_out = false;
        bool dropped = false;  // overflowed: the events-lost line is the last one queued
        SteadyClock::time_point dropped_at{};
    };

    MonitorHub() = default;
    void queue_line(Subscriber& s, std::string line, SteadyClock::time_point now);
    void drop(Subscriber& s, SteadyClock::time_point now);
    // Writes as much as the socket takes. False: the subscriber is gone (error, or dropped and done).
    bool flush(Subscriber& s);
    void watch(Subscriber& s, bool want_out);
    void remove(int fd);

    common::UniqueFd epoll_;
    std::map<int, Subscriber> subscribers_;
};

}  // namespace member
