// The control socket between gdoi-memberd and gdoictl: a Unix stream socket at a path
// (default /run/gdoi-member/control.sock, mode 0660; its directory is created 0750
// when missing). One request per connection: the client sends one line of text and
// reads the reply until the daemon closes the connection; except `monitor`, which keeps
// the connection open and streams events (monitor_hub.h).
//
//   request                reply
//   show                   the MemberStatus JSON document (status_json.h)
//   register GROUP         {"ok":true} or {"ok":false,"error":"..."}   (force a pull)
//   flush                  {"ok":true} or {"ok":false,"error":"..."}   (remove everything installed)
//   monitor [GROUP]        {"ok":true}, then one JSON line per event (monitor_event.h) of
//                          GROUP (or every group) until the client closes; or {"ok":false,...}
//
// Requests are at most kControlMaxRequest bytes; anything else gets an error reply.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/unique_fd.h"
#include "control/monitor_hub.h"
#include "control/socket_path.h"
#include "control/status.h"

namespace member {

inline constexpr std::size_t kControlMaxRequest = 4096;            // including the newline
inline constexpr std::size_t kControlMaxReply = 16 * 1024 * 1024;  // = the JSON reader's limit
inline constexpr std::chrono::milliseconds kControlDefaultTimeout{5000};

// ---- daemon side ----

// Non-blocking server for the daemon's epoll loop. fd() is an epoll instance holding
// the listening socket and the open connections: add it to the daemon's epoll for
// EPOLLIN and call on_readable() whenever it is readable. on_readable never blocks:
// it accepts, reads, calls the handler once per complete request line and writes the
// reply as far as the socket takes it, continuing on the next call. Connections with
// something to do are served before new ones are accepted. At most kMaxConnections are
// open: a new connection displaces the oldest idle one (nothing sent yet), else the oldest
// with a partial request line; connections with a complete request or a reply under way are
// never displaced (the new one is closed instead). A connection that has not finished
// within kConnectionTimeout is closed. A `monitor` request the handler accepts ({"ok":true})
// hands the connection over to the MonitorHub (monitor()): from then on it is a subscriber,
// neither timed out nor displaced nor counted here. The socket path is unlinked on
// destruction (if it is still this server's socket).
class ControlServer {
public:
    static constexpr std::size_t kMaxConnections = 16;
    static constexpr std::chrono::seconds kConnectionTimeout{10};

    // Creates the parent directory (0750) when missing, replaces a stale socket
    // (nobody listening), refuses to start when another daemon listens on the path.
    static common::Result<ControlServer> listen(const std::string& path);

    ControlServer(ControlServer&& other) noexcept;
    ControlServer& operator=(ControlServer&& other) noexcept;
    ControlServer(const ControlServer&) = delete;
    ControlServer& operator=(const ControlServer&) = delete;
    ~ControlServer();

    int fd() const { return epoll_.get(); }
    const std::string& path() const { return path_; }
    // The socket's directory when listen() created it (else empty): --user hands it over.
    const std::string& created_directory() const { return created_directory_; }
    std::size_t open_connections() const { return connections_.size(); }
    // The monitor stream's subscribers: the daemon publishes its events here.
    MonitorHub& monitor() { return hub_; }
    const MonitorHub& monitor() const { return hub_; }

    // handler: request line (without the newline) -> reply document. An exception
    // from the handler becomes an {"ok":false,...} reply.
    void on_readable(const std::function<std::string(const std::string& request)>& handler);

private:
    struct Connection {
        common::UniqueFd fd;
        std::string in;
        std::string out;
        std::size_t written = 0;
        bool replying = false;
        std::chrono::steady_clock::time_point opened;
        uint64_t serial = 0;
    };

    explicit ControlServer(MonitorHub hub) : hub_(std::move(hub)) {}
    // A monitor request the handler accepted: the connection becomes a subscriber.
    void subscribe(Connection& c, const std::string& group, std::string ok_reply);
    void accept_all();
    // The connection a new one displaces when all slots are taken; -1: none may go.
    int displaceable() const;
    void service(Connection& c, const std::function<std::string(const std::string&)>& handler);
    void start_reply(Connection& c, std::string reply);
    void close_connection(int fd);
    void expire_connections();
    void unlink_socket();

    common::UniqueFd listener_;
    common::UniqueFd epoll_;
    std::string path_;
    std::string created_directory_;
    dev_t dev_ = 0;
    ino_t ino_ = 0;
    uint64_t next_serial_ = 0;
    std::map<int, Connection> connections_;
    MonitorHub hub_;
};

// ---- protocol ----

struct ControlRequest {
    enum class Kind { show, register_group, flush, monitor };
    Kind kind = Kind::show;
    std::string group;  // register_group; monitor (empty: every group)
};

// Parses a request line ("show", "register GROUP", "flush", "monitor [GROUP]"); the error is the text
// the daemon should send back in control_error().
common::Result<ControlRequest> parse_control_request(std::string_view line);
std::string format_control_request(const ControlRequest& request);

std::string control_ok();                             // {"ok":true}
std::string control_error(std::string_view message);  // {"ok":false,"error":"..."}

// What the daemon supplies; dispatch_control_request() is the handler for
// ControlServer::on_readable:
//   server.on_readable([&](const std::string& r) { return dispatch_control_request(r, handlers); });
struct ControlHandlers {
    std::function<MemberStatus()> show;
    std::function<common::Status(const std::string& group)> register_group;
    std::function<common::Status()> flush;
    // May the client monitor GROUP (empty: every group)? OK: the reply is control_ok() and
    // the connection becomes a subscriber of ControlServer::monitor().
    std::function<common::Status(const std::string& group)> monitor{};  // {}: aggregates may omit it
};
std::string dispatch_control_request(const std::string& line, const ControlHandlers& handlers);

// ---- gdoictl side ----

// Connects, sends `request` and a newline, returns the reply (without the trailing
// newline). Errors say what to check, e.g. "cannot reach gdoi-memberd at PATH: No such
// file or directory — is the service running?".
common::Result<std::string> control_request(const std::string& path, std::string_view request,
                                            std::chrono::milliseconds timeout = kControlDefaultTimeout);

// Sends `request` (a monitor request), checks the {"ok":...} reply, then calls on_line for
// every event line until the daemon closes the connection (an Error saying so), on_line
// returns false, or `stop_fd` (e.g. a signalfd; -1: none) becomes readable (both: success).
// Connecting and the first reply are bounded by `timeout`; the stream itself is not.
common::Status control_monitor(const std::string& path, std::string_view request,
                               const std::function<bool(std::string_view line)>& on_line, int stop_fd,
                               std::chrono::milliseconds timeout = kControlDefaultTimeout);

// Interprets a reply: a MemberStatus document for `show`, {"ok":...} otherwise. An
// {"ok":false} reply becomes an Error carrying the daemon's message.
common::Result<MemberStatus> parse_show_reply(std::string_view reply);
common::Status parse_ack_reply(std::string_view reply);

}  // namespace member
