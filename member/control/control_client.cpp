// gdoictl's end of the control socket: connect, send one line, read the reply until
// the daemon closes, all under one deadline; or, for `monitor`, read the event lines until
// the daemon closes or the caller stops. Errors tell the operator what to check.
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "control/control.h"

namespace member {
namespace {

using Clock = std::chrono::steady_clock;

std::string unreachable(const std::string& path, int err) {
    std::string hint;
    switch (err) {
        case ENOENT:
        case ECONNREFUSED:
            hint = " — is the service running?";
            break;
        case EACCES:
        case EPERM:
            hint = " — run gdoictl as root or as a member of the socket's group";
            break;
        case EAGAIN:
            hint = " — the daemon is not accepting connections (busy or stuck); try again";
            break;
        case ENOTSOCK:
            hint = " — the path is not a socket; check -s / control-socket";
            break;
        default:
            break;
    }
    return "cannot reach gdoi-memberd at " + path + ": " + std::strerror(err) + hint;
}

std::string format_timeout(std::chrono::milliseconds t) {
    if (t.count() % 1000 == 0) return std::to_string(t.count() / 1000) + " s";
    return std::to_string(t.count()) + " ms";
}

// Waits for `events` on fd until the deadline: 1 ready, 0 timed out, -1 error (errno).
int wait_for(int fd, short events, Clock::time_point deadline) {
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) return 0;
        pollfd p{fd, events, 0};
        const int r = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 1 << 30)));
        if (r > 0) return 1;
        if (r == 0) return 0;
        if (errno != EINTR) return -1;
    }
}

common::Error timed_out(const std::string& path, std::chrono::milliseconds timeout) {
    return common::make_error("no reply from gdoi-memberd at " + path + " within " + format_timeout(timeout) +
                                  " — is it stuck? check its log",
                              ETIMEDOUT);
}

// Connects and sends the request line, before the deadline.
common::Result<common::UniqueFd> connect_and_send(const std::string& path, std::string_view request,
                                                  std::chrono::milliseconds timeout,
                                                  Clock::time_point deadline) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof addr.sun_path)
        return common::make_error("control socket path \"" + path + "\" must be 1 to " +
                                      std::to_string(sizeof addr.sun_path - 1) + " bytes long",
                                  ENAMETOOLONG);
    std::memcpy(addr.sun_path, path.data(), path.size());
    if (request.find('\n') != std::string_view::npos)
        return common::make_error("control request must be a single line");

    common::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd.valid())
        return common::make_error(std::string("socket(AF_UNIX): ") + std::strerror(errno), errno);
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
        if (errno != EINPROGRESS) return common::make_error(unreachable(path, errno), errno);
        const int w = wait_for(fd.get(), POLLOUT, deadline);
        if (w == 0) return timed_out(path, timeout);
        int err = errno;
        socklen_t len = sizeof err;
        if (w < 0 || ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0)
            return common::make_error(unreachable(path, err), err);
    }

    std::string out(request);
    out += '\n';
    std::size_t sent = 0;
    while (sent < out.size()) {
        const ssize_t w = ::send(fd.get(), out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
        if (w > 0) {
            sent += static_cast<std::size_t>(w);
            continue;
        }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            const int r = wait_for(fd.get(), POLLOUT, deadline);
            if (r == 0) return timed_out(path, timeout);
            if (r > 0) continue;
        }
        return common::make_error(
            "sending the request to gdoi-memberd at " + path + ": " + std::strerror(errno), errno);
    }
    return fd;
}

}  // namespace

common::Result<std::string> control_request(const std::string& path, std::string_view request,
                                            std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    auto connected = connect_and_send(path, request, timeout, deadline);
    if (!connected) return connected.error();
    const common::UniqueFd fd = std::move(*connected);

    std::string reply;
    char buf[16384];
    for (;;) {
        const ssize_t r = ::recv(fd.get(), buf, sizeof buf, 0);
        if (r > 0) {
            reply.append(buf, static_cast<std::size_t>(r));
            if (reply.size() > kControlMaxReply)
                return common::make_error("reply from gdoi-memberd at " + path + " is larger than " +
                                          std::to_string(kControlMaxReply) + " bytes");
            continue;
        }
        if (r == 0) break;
        if (errno == EINTR) continue;
        // The daemon closed with part of our request unread: the reply is complete.
        if (errno == ECONNRESET && !reply.empty() && reply.back() == '\n') break;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            const int w = wait_for(fd.get(), POLLIN, deadline);
            if (w == 0) return timed_out(path, timeout);
            if (w > 0) continue;
        }
        return common::make_error(
            "reading the reply of gdoi-memberd at " + path + ": " + std::strerror(errno), errno);
    }
    if (reply.empty())
        return common::make_error("gdoi-memberd at " + path +
                                  " closed the connection without a reply (check its log)");
    if (reply.back() == '\n') reply.pop_back();
    return reply;
}

common::Status control_monitor(const std::string& path, std::string_view request,
                               const std::function<bool(std::string_view line)>& on_line, int stop_fd,
                               std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    auto connected = connect_and_send(path, request, timeout, deadline);
    if (!connected) return connected.error();
    const common::UniqueFd fd = std::move(*connected);
    const auto gone = [&] {
        return common::make_error("gdoi-memberd at " + path + " closed the monitor stream (stopped?)");
    };
    std::string pending;
    bool acknowledged = false;
    char buf[16384];
    for (;;) {
        // Every complete line: the first is the {"ok":...} reply, then one event per line.
        for (auto nl = pending.find('\n'); nl != std::string::npos; nl = pending.find('\n')) {
            const std::string line = pending.substr(0, nl);
            pending.erase(0, nl + 1);
            if (!acknowledged) {
                if (auto ack = parse_ack_reply(line); !ack) return ack.error();
                acknowledged = true;
            } else if (!on_line(line)) {
                return {};
            }
        }
        if (pending.size() > kControlMaxReply)
            return common::make_error("a line from gdoi-memberd at " + path + " is longer than " +
                                      std::to_string(kControlMaxReply) + " bytes");
        pollfd p[2] = {{fd.get(), POLLIN, 0}, {stop_fd, POLLIN, 0}};
        int wait_ms = -1;
        if (!acknowledged) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
            if (left.count() <= 0) return timed_out(path, timeout);
            wait_ms = static_cast<int>(std::min<int64_t>(left.count(), 1 << 30));
        }
        const int ready = ::poll(p, stop_fd >= 0 ? 2 : 1, wait_ms);
        if (ready < 0) {
            if (errno == EINTR) continue;
            return common::make_error(std::string("poll: ") + std::strerror(errno), errno);
        }
        if (stop_fd >= 0 && p[1].revents != 0) return {};
        if (ready == 0 || p[0].revents == 0) continue;
        const ssize_t r = ::recv(fd.get(), buf, sizeof buf, MSG_DONTWAIT);
        if (r > 0) {
            pending.append(buf, static_cast<std::size_t>(r));
            continue;
        }
        if (r < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
        if (r < 0 && errno != ECONNRESET)
            return common::make_error(
                "reading the monitor stream of gdoi-memberd at " + path + ": " + std::strerror(errno), errno);
        if (!acknowledged)
            return common::make_error("gdoi-memberd at " + path +
                                      " closed the connection without a reply (check its log)");
        return gone();
    }
}

}  // namespace member
