// The monitor stream's subscribers: bounded queues, non-blocking writes (monitor_hub.h).
#include "control/monitor_hub.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

namespace member {

common::Result<MonitorHub> MonitorHub::create() {
    MonitorHub hub;
    hub.epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
    if (!hub.epoll_.valid())
        return common::make_error(std::string("monitor: epoll_create1: ") + std::strerror(errno), errno);
    return hub;
}

common::Status MonitorHub::add(common::UniqueFd fd, std::string group, std::string greeting) {
    if (full())
        return common::make_error("too many monitors open (at most " + std::to_string(kMaxSubscribers) + ")");
    const int flags = ::fcntl(fd.get(), F_GETFL);
    if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags | O_NONBLOCK) != 0)
        return common::make_error(std::string("monitor: fcntl: ") + std::strerror(errno), errno);
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.fd = fd.get();
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd.get(), &ev) != 0)
        return common::make_error(std::string("monitor: epoll_ctl: ") + std::strerror(errno), errno);
    const int key = fd.get();
    Subscriber& s = subscribers_[key];
    s.fd = std::move(fd);
    s.group = std::move(group);
    if (!greeting.empty() && greeting.back() != '\n') greeting += '\n';
    s.queued_bytes = greeting.size();
    s.queue.push_back(std::move(greeting));
    if (!flush(s)) remove(key);
    return {};
}

void MonitorHub::publish(const MonitorEvent& event, SteadyClock::time_point now) {
    if (subscribers_.empty()) return;
    const std::string line = monitor_event_json(event) + "\n";
    std::vector<int> gone;
    for (auto& [fd, s] : subscribers_) {
        if (s.dropped) {
            if (now - s.dropped_at >= kOverflowGrace) gone.push_back(fd);
            continue;
        }
        if (!s.group.empty() && s.group != event.group) continue;
        queue_line(s, line, now);
        if (!flush(s)) gone.push_back(fd);
    }
    for (int fd : gone) remove(fd);
}

void MonitorHub::queue_line(Subscriber& s, std::string line, SteadyClock::time_point now) {
    if (s.queued_bytes + line.size() > kMaxQueueBytes) {
        drop(s, now);
        return;
    }
    s.queued_bytes += line.size();
    s.queue.push_back(std::move(line));
}

void MonitorHub::drop(Subscriber& s, SteadyClock::time_point now) {
    // Keep the line under way (the reader gets it whole), discard the others.
    uint64_t lost = 1;  // the event that did not fit
    while (s.queue.size() > (s.written > 0 ? 1u : 0u)) {
        s.queued_bytes -= s.queue.back().size();
        s.queue.pop_back();
        ++lost;
    }
    MonitorEvent e;
    e.time = std::chrono::system_clock::now();
    e.group = s.group;
    e.kind = MonitorEventKind::events_lost;
    e.lost = lost;
    e.detail = "the reader fell more than " + std::to_string(kMaxQueueBytes) +
               " bytes behind: this monitor stream ends here";
    std::string line = monitor_event_json(e) + "\n";
    s.queued_bytes += line.size();
    s.queue.push_back(std::move(line));
    s.dropped = true;
    s.dropped_at = now;
}

bool MonitorHub::flush(Subscriber& s) {
    while (!s.queue.empty()) {
        const std::string& front = s.queue.front();
        const ssize_t w = ::send(s.fd.get(), front.data() + s.written, front.size() - s.written,
                                 MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) {
            s.written += static_cast<std::size_t>(w);
            if (s.written == front.size()) {
                s.queued_bytes -= front.size();
                s.queue.pop_front();
                s.written = 0;
            }
            continue;
        }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            watch(s, true);
            return true;
        }
        return false;  // EPIPE, ECONNRESET, ...: the reader is gone
    }
    if (s.dropped) return false;  // the events-lost line is out: the stream ends
    watch(s, false);
    return true;
}

void MonitorHub::watch(Subscriber& s, bool want_out) {
    if (s.want_out == want_out) return;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP | (want_out ? EPOLLOUT : 0u);
    ev.data.fd = s.fd.get();
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, s.fd.get(), &ev) == 0) s.want_out = want_out;
}

void MonitorHub::on_ready(SteadyClock::time_point now) {
    if (!epoll_.valid()) return;
    std::vector<int> gone;
    epoll_event events[kMaxSubscribers];
    const int n = ::epoll_wait(epoll_.get(), events, static_cast<int>(kMaxSubscribers), 0);
    for (int i = 0; i < n; ++i) {
        const auto it = subscribers_.find(events[i].data.fd);
        if (it == subscribers_.end()) continue;
        Subscriber& s = it->second;
        bool keep = (events[i].events & (EPOLLHUP | EPOLLERR | EPOLLRDHUP)) == 0;
        if (keep && (events[i].events & EPOLLIN)) {
            // A subscriber has nothing to say: data is discarded, EOF means it left.
            char sink[512];
            const ssize_t r = ::recv(s.fd.get(), sink, sizeof sink, MSG_DONTWAIT);
            if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) keep = false;
        }
        if (keep && (events[i].events & EPOLLOUT)) keep = flush(s);
        if (!keep) gone.push_back(it->first);
    }
    for (auto& [fd, s] : subscribers_)
        if (s.dropped && now - s.dropped_at >= kOverflowGrace) gone.push_back(fd);
    for (int fd : gone) remove(fd);
}

MonitorHub::SteadyClock::time_point MonitorHub::next_deadline() const {
    auto next = SteadyClock::time_point::max();
    for (const auto& [fd, s] : subscribers_)
        if (s.dropped) next = std::min(next, s.dropped_at + kOverflowGrace);
    return next;
}

void MonitorHub::remove(int fd) {
    const auto it = subscribers_.find(fd);
    if (it == subscribers_.end()) return;
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
    subscribers_.erase(it);  // common::UniqueFd closes the socket
}

}  // namespace member
