// The daemon's end of the control socket: a non-blocking AF_UNIX stream listener and
// its connections behind one epoll fd, so the daemon's loop watches a single fd.
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <exception>
#include <utility>

#include "control/control.h"

namespace member {

namespace {

std::string errno_text(int err) { return std::strerror(err); }

common::Error socket_error(const std::string& path, const std::string& what, int err) {
    return common::make_error("control socket " + path + ": " + what + ": " + errno_text(err), err);
}

std::string parent_directory(const std::string& path) {
    const auto slash = path.find_last_of('/');
    if (slash == std::string::npos) return {};
    if (slash == 0) return "/";
    return path.substr(0, slash);
}

// True when it created the directory.
common::Result<bool> ensure_directory(const std::string& path, const std::string& dir) {
    if (dir.empty() || dir == "/") return false;
    struct stat st {};
    if (::stat(dir.c_str(), &st) == 0) {
        if (!S_ISDIR(st.st_mode))
            return common::make_error(
                "control socket " + path + ": " + dir + " exists and is not a directory", ENOTDIR);
        return false;
    }
    if (errno != ENOENT) return socket_error(path, "cannot inspect directory " + dir, errno);
    if (::mkdir(dir.c_str(), 0750) != 0 && errno != EEXIST)
        return socket_error(
            path, "cannot create directory " + dir + " (does its parent exist and is it writable?)", errno);
    if (::chmod(dir.c_str(), 0750) != 0) return socket_error(path, "cannot set mode 0750 on " + dir, errno);
    return true;
}

bool fill_address(const std::string& path, sockaddr_un& addr) {
    std::memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof addr.sun_path) return false;
    std::memcpy(addr.sun_path, path.data(), path.size());
    return true;
}

// An existing file at the path: a socket nobody listens on is stale and removed; a live
// socket means another daemon; anything else is not ours to delete.
common::Status clear_stale_socket(const std::string& path, const sockaddr_un& addr) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
        if (errno == ENOENT) return {};
        return socket_error(path, "cannot inspect the socket path", errno);
    }
    if (!S_ISSOCK(st.st_mode))
        return common::make_error("control socket " + path +
                                      ": the path exists and is not a socket; remove it or set another "
                                      "control-socket",
                                  EEXIST);
    common::UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!probe.valid()) return socket_error(path, "socket()", errno);
    if (::connect(probe.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0)
        return common::make_error(
            "control socket " + path +
                ": another gdoi-memberd is already listening on it (stop it first, or set "
                "another control-socket)",
            EADDRINUSE);
    if (errno != ECONNREFUSED) return socket_error(path, "cannot probe the existing socket", errno);
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
        return socket_error(path, "cannot remove the stale socket", errno);
    return {};
}

}  // namespace

common::Result<ControlServer> ControlServer::listen(const std::string& path) {
    sockaddr_un addr{};
    if (!fill_address(path, addr))
        return common::make_error("control socket \"" + path + "\": the path must be 1 to " +
                                      std::to_string(sizeof addr.sun_path - 1) + " bytes long",
                                  ENAMETOOLONG);
    auto created = ensure_directory(path, parent_directory(path));
    if (!created) return created.error();
    if (auto s = clear_stale_socket(path, addr); !s) return s.error();

    auto hub = MonitorHub::create();
    if (!hub) return hub.error();
    ControlServer server(std::move(*hub));
    if (*created) server.created_directory_ = parent_directory(path);
    server.listener_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!server.listener_.valid()) return socket_error(path, "socket()", errno);
    // The mode of the socket inode is the bound file's mode (minus umask): set it before
    // bind so the file never exists with wider permissions, and again after (umask).
    if (::fchmod(server.listener_.get(), 0660) != 0) return socket_error(path, "fchmod 0660", errno);
    if (::bind(server.listener_.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
        return socket_error(path, "bind", errno);
    server.path_ = path;  // from here on, the destructor unlinks it
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return socket_error(path, "stat after bind", errno);
    server.dev_ = st.st_dev;
    server.ino_ = st.st_ino;
    if (::chmod(path.c_str(), 0660) != 0) return socket_error(path, "chmod 0660", errno);
    if (::listen(server.listener_.get(), static_cast<int>(kMaxConnections)) != 0)
        return socket_error(path, "listen", errno);

    server.epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
    if (!server.epoll_.valid()) return socket_error(path, "epoll_create1", errno);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = server.listener_.get();
    if (::epoll_ctl(server.epoll_.get(), EPOLL_CTL_ADD, server.listener_.get(), &ev) != 0)
        return socket_error(path, "epoll_ctl", errno);
    ev.data.fd = server.hub_.fd();
    if (::epoll_ctl(server.epoll_.get(), EPOLL_CTL_ADD, server.hub_.fd(), &ev) != 0)
        return socket_error(path, "epoll_ctl (monitor)", errno);
    return server;
}

ControlServer::ControlServer(ControlServer&& other) noexcept
    : listener_(std::move(other.listener_)),
      epoll_(std::move(other.epoll_)),
      path_(std::exchange(other.path_, {})),
      created_directory_(std::exchange(other.created_directory_, {})),
      dev_(other.dev_),
      ino_(other.ino_),
      next_serial_(other.next_serial_),
      connections_(std::exchange(other.connections_, {})),
      hub_(std::move(other.hub_)) {}

ControlServer& ControlServer::operator=(ControlServer&& other) noexcept {
    if (this != &other) {
        unlink_socket();
        connections_ = std::exchange(other.connections_, {});
        listener_ = std::move(other.listener_);
        epoll_ = std::move(other.epoll_);
        path_ = std::exchange(other.path_, {});
        created_directory_ = std::exchange(other.created_directory_, {});
        dev_ = other.dev_;
        ino_ = other.ino_;
        next_serial_ = other.next_serial_;
        hub_ = std::move(other.hub_);
    }
    return *this;
}

ControlServer::~ControlServer() { unlink_socket(); }

void ControlServer::unlink_socket() {
    if (path_.empty()) return;
    // Only our own socket: a successor may already have replaced the path.
    struct stat st {};
    if (::lstat(path_.c_str(), &st) == 0 && st.st_dev == dev_ && st.st_ino == ino_) ::unlink(path_.c_str());
    path_.clear();
}

void ControlServer::on_readable(const std::function<std::string(const std::string& request)>& handler) {
    if (!epoll_.valid()) return;
    expire_connections();
    hub_.on_ready();  // subscribers' writes and departures, and the end of a dropped one's grace
    epoll_event events[kMaxConnections + 2];
    const int n = ::epoll_wait(epoll_.get(), events, static_cast<int>(kMaxConnections + 2), 0);
    bool listener_ready = false;
    for (int i = 0; i < n; ++i) {  // requests under way first: new connections never delay them
        const int fd = events[i].data.fd;
        if (fd == listener_.get()) {
            listener_ready = true;
            continue;
        }
        if (fd == hub_.fd()) continue;  // served above
        const auto it = connections_.find(fd);
        if (it != connections_.end()) service(it->second, handler);
    }
    if (listener_ready) accept_all();
}

int ControlServer::displaceable() const {
    int idle = -1, partial = -1;
    uint64_t idle_serial = UINT64_MAX, partial_serial = UINT64_MAX;
    for (const auto& [fd, c] : connections_) {
        if (c.replying) continue;
        char byte;
        const bool unread = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
        if (c.in.empty() && !unread) {
            if (c.serial < idle_serial) idle = fd, idle_serial = c.serial;
        } else if (c.in.find('\n') == std::string::npos && !unread) {
            if (c.serial < partial_serial) partial = fd, partial_serial = c.serial;
        }
    }
    return idle >= 0 ? idle : partial;
}

void ControlServer::accept_all() {
    for (int k = 0; k < 64; ++k) {
        common::UniqueFd fd(::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
        if (!fd.valid()) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            return;  // EAGAIN, or out of fds: the listener stays readable, retried next call
        }
        if (connections_.size() >= kMaxConnections) {
            const int victim = displaceable();
            if (victim < 0) continue;  // every slot serves a request: the new client is closed
            close_connection(victim);
        }
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.fd = fd.get();
        if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd.get(), &ev) != 0) continue;
        const int key = fd.get();
        Connection c;
        c.fd = std::move(fd);
        c.opened = std::chrono::steady_clock::now();
        c.serial = next_serial_++;
        connections_.emplace(key, std::move(c));
    }
}

void ControlServer::service(Connection& c, const std::function<std::string(const std::string&)>& handler) {
    const int fd = c.fd.get();
    if (!c.replying) {
        bool eof = false;
        char buf[1024];
        while (c.in.find('\n') == std::string::npos && c.in.size() < kControlMaxRequest) {
            const ssize_t r = ::recv(fd, buf, sizeof buf, 0);
            if (r > 0) {
                c.in.append(buf, static_cast<std::size_t>(r));
            } else if (r == 0) {
                eof = true;
                break;
            } else if (errno == EINTR) {
                continue;
            } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
                break;
            } else {
                close_connection(fd);
                return;
            }
        }
        const auto newline = c.in.find('\n');
        std::string line;
        if (newline != std::string::npos && newline < kControlMaxRequest) {
            line = c.in.substr(0, newline);
        } else if (c.in.size() >= kControlMaxRequest) {
            start_reply(
                c, control_error("request longer than " + std::to_string(kControlMaxRequest - 1) + " bytes"));
            line.clear();
        } else if (eof && !c.in.empty()) {
            line = c.in;  // last line without a newline (e.g. printf show | socat)
        } else if (eof) {
            close_connection(fd);
            return;
        } else {
            return;  // wait for the rest of the line
        }
        if (!c.replying) {
            if (!line.empty() && line.back() == '\r') line.pop_back();
            std::string reply;
            try {
                reply = handler(line);
            } catch (const std::exception& e) {
                reply = control_error(std::string("internal error: ") + e.what());
            } catch (...) {
                reply = control_error("internal error");
            }
            const auto request = parse_control_request(line);
            if (request && request->kind == ControlRequest::Kind::monitor && reply == control_ok()) {
                subscribe(c, request->group, std::move(reply));
                return;  // c is gone: the hub owns the socket
            }
            start_reply(c, std::move(reply));
        }
    }
    while (c.written < c.out.size()) {
        const ssize_t w = ::send(fd, c.out.data() + c.written, c.out.size() - c.written, MSG_NOSIGNAL);
        if (w > 0) {
            c.written += static_cast<std::size_t>(w);
        } else if (w < 0 && errno == EINTR) {
            continue;
        } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;  // EPOLLOUT brings us back
        } else {
            break;
        }
    }
    // Discard what the client sent beyond its request line: closing with unread data
    // would make its read fail with ECONNRESET instead of EOF after the reply.
    char sink[1024];
    for (std::size_t drained = 0; drained < 64 * 1024;) {
        const ssize_t r = ::recv(fd, sink, sizeof sink, MSG_DONTWAIT);
        if (r <= 0) break;
        drained += static_cast<std::size_t>(r);
    }
    close_connection(fd);
}

void ControlServer::subscribe(Connection& c, const std::string& group, std::string ok_reply) {
    if (hub_.full()) {
        start_reply(c, control_error("too many monitors open (at most " +
                                     std::to_string(MonitorHub::kMaxSubscribers) + ")"));
        return;
    }
    const int fd = c.fd.get();
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
    common::UniqueFd socket = std::move(c.fd);
    connections_.erase(fd);
    (void)hub_.add(std::move(socket), group, std::move(ok_reply));  // on failure the socket is closed
}

void ControlServer::start_reply(Connection& c, std::string reply) {
    if (reply.empty() || reply.back() != '\n') reply += '\n';
    c.out = std::move(reply);
    c.written = 0;
    c.replying = true;
    c.in.clear();
    // Stop watching input: unread extra bytes or EOF would keep EPOLLIN set.
    epoll_event ev{};
    ev.events = EPOLLOUT;
    ev.data.fd = c.fd.get();
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, c.fd.get(), &ev);
}

void ControlServer::close_connection(int fd) {
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
    connections_.erase(fd);  // common::UniqueFd closes it
}

void ControlServer::expire_connections() {
    const auto now = std::chrono::steady_clock::now();
    std::vector<int> expired;
    for (const auto& [fd, c] : connections_)
        if (now - c.opened > kConnectionTimeout) expired.push_back(fd);
    for (int fd : expired) close_connection(fd);
}

}  // namespace member
