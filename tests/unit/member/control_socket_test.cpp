// control: the daemon's ControlServer and gdoictl's control_request on a real Unix
// socket in a temp directory — modes, stale sockets, the request grammar, bounded and
// partial requests, large replies, connection limits, operator-readable errors.
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <thread>

#include "control/control.h"
#include "control/status_json.h"

using namespace member;
using namespace std::chrono_literals;

namespace member_test {

MemberStatus full_status();  // status_json_test.cpp

// Runs server.on_readable(handler) on a thread whenever the server's fd is readable,
// as the daemon's epoll loop does; stops and joins when the returned handle goes.
std::shared_ptr<void> serve_in_background(ControlServer& server,
                                          std::function<std::string(const std::string&)> handler) {
    const int stop = ::eventfd(0, EFD_CLOEXEC);
    REQUIRE(stop >= 0);
    auto thread = std::make_shared<std::thread>([&server, handler = std::move(handler), stop] {
        for (;;) {
            pollfd p[2] = {{server.fd(), POLLIN, 0}, {stop, POLLIN, 0}};
            if (::poll(p, 2, -1) < 0) continue;
            if (p[1].revents != 0) return;
            if (p[0].revents != 0) server.on_readable(handler);
        }
    });
    return std::shared_ptr<void>(nullptr, [thread, stop](void*) {
        const uint64_t one = 1;
        (void)!::write(stop, &one, sizeof one);
        thread->join();
        ::close(stop);
    });
}

}  // namespace member_test

using member_test::full_status;
using member_test::serve_in_background;

namespace {

struct TempDir {
    std::filesystem::path path;
    TempDir() {
        char tmpl[] = "/tmp/gdoi-control-test.XXXXXX";
        REQUIRE(::mkdtemp(tmpl) != nullptr);
        path = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    std::string operator/(const std::string& name) const { return (path / name).string(); }
};

mode_t mode_of(const std::string& path) {
    struct stat st {};
    REQUIRE(::lstat(path.c_str(), &st) == 0);
    return st.st_mode;
}

bool exists(const std::string& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0;
}

// A raw client connection (for partial and misbehaving requests).
common::UniqueFd connect_raw(const std::string& path) {
    common::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    REQUIRE(fd.valid());
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.data(), path.size());
    REQUIRE(::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
    return fd;
}

void send_all(int fd, std::string_view s) {
    REQUIRE(::send(fd, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size()));
}

// Drives the server on this thread until `fd` has a complete reply (server closed).
std::string pump_until_reply(ControlServer& server, int fd,
                             const std::function<std::string(const std::string&)>& handler) {
    std::string reply;
    for (int round = 0; round < 1000; ++round) {
        pollfd p[2] = {{server.fd(), POLLIN, 0}, {fd, POLLIN, 0}};
        REQUIRE(::poll(p, 2, 1000) > 0);
        if (p[0].revents != 0) server.on_readable(handler);
        if (p[1].revents != 0) {
            char buf[4096];
            const ssize_t r = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
            if (r == 0 || (r < 0 && errno != EAGAIN && !reply.empty())) return reply;
            if (r > 0) reply.append(buf, static_cast<std::size_t>(r));
        }
    }
    FAIL("no reply");
    return reply;
}

std::string echo_handler(const std::string& request) { return "echo:" + request; }

}  // namespace

TEST_CASE("control socket: directory 0750 and socket 0660 are created, the socket is unlinked on destruction",
          "[control]") {
    TempDir dir;
    const std::string sock = dir / "run/control.sock";
    {
        auto server = ControlServer::listen(sock);
        REQUIRE(server.ok());
        CHECK((mode_of(dir / "run") & 07777) == 0750);
        CHECK(S_ISDIR(mode_of(dir / "run")));
        CHECK(S_ISSOCK(mode_of(sock)));
        CHECK((mode_of(sock) & 07777) == 0660);
        CHECK(server->path() == sock);

        // Moving keeps one owner: the moved-from server must not unlink the path.
        ControlServer moved = std::move(*server);
        CHECK(exists(sock));
        CHECK(moved.fd() >= 0);
    }
    CHECK_FALSE(exists(sock));
    CHECK(exists(dir / "run"));
}

TEST_CASE("control socket: a stale socket is replaced, a live one or a regular file is refused",
          "[control]") {
    TempDir dir;
    const std::string sock = dir / "control.sock";
    {
        // Bound but never listening, as a crashed daemon leaves it.
        common::UniqueFd stale(::socket(AF_UNIX, SOCK_STREAM, 0));
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::memcpy(addr.sun_path, sock.data(), sock.size());
        REQUIRE(::bind(stale.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
    }
    REQUIRE(exists(sock));
    auto first = ControlServer::listen(sock);
    REQUIRE(first.ok());

    auto second = ControlServer::listen(sock);
    REQUIRE_FALSE(second.ok());
    CHECK(second.error().message.find("another gdoi-memberd is already listening") != std::string::npos);
    CHECK(exists(sock));  // the refused second server did not remove the first one's socket

    const std::string file = dir / "not-a-socket";
    {
        std::FILE* f = std::fopen(file.c_str(), "w");
        REQUIRE(f != nullptr);
        std::fclose(f);
    }
    auto third = ControlServer::listen(file);
    REQUIRE_FALSE(third.ok());
    CHECK(third.error().message.find("exists and is not a socket") != std::string::npos);
    CHECK(S_ISREG(mode_of(file)));

    auto long_path = ControlServer::listen("/tmp/" + std::string(200, 'x'));
    REQUIRE_FALSE(long_path.ok());
    CHECK(long_path.error().message.find("must be 1 to 107 bytes long") != std::string::npos);
}

TEST_CASE("control socket: the destructor leaves a successor's socket alone", "[control]") {
    TempDir dir;
    const std::string sock = dir / "control.sock";
    auto old_server = ControlServer::listen(sock);
    REQUIRE(old_server.ok());
    REQUIRE(::unlink(sock.c_str()) == 0);  // e.g. removed by hand, then a new daemon started
    {
        auto successor = ControlServer::listen(sock);
        REQUIRE(successor.ok());
        { ControlServer gone = std::move(*old_server); }
        CHECK(exists(sock));
    }
    CHECK_FALSE(exists(sock));
}

TEST_CASE("control socket: show, register and flush reach the daemon's handlers", "[control]") {
    TempDir dir;
    const std::string sock = dir / "control.sock";
    auto server = ControlServer::listen(sock);
    REQUIRE(server.ok());

    std::mutex m;
    std::vector<std::string> calls;
    ControlHandlers handlers;
    handlers.show = [] { return full_status(); };
    handlers.register_group = [&](const std::string& group) -> common::Status {
        std::lock_guard lock(m);
        calls.push_back("register " + group);
        if (group != "GROUP_ID-0001") return common::make_error("no group named \"" + group + "\"");
        return {};
    };
    handlers.flush = [&]() -> common::Status {
        std::lock_guard lock(m);
        calls.push_back("flush");
        return {};
    };
    auto serving = serve_in_background(
        *server, [&](const std::string& r) { return dispatch_control_request(r, handlers); });

    auto show = control_request(sock, "show");
    REQUIRE(show.ok());
    auto status = parse_show_reply(*show);
    REQUIRE(status.ok());
    CHECK(*status == full_status());

    auto reg = control_request(sock, "register GROUP_ID-0001");
    REQUIRE(reg.ok());
    CHECK(*reg == R"({"ok":true})");
    CHECK(parse_ack_reply(*reg).ok());

    auto bad = control_request(sock, "register NOPE");
    REQUIRE(bad.ok());
    CHECK(*bad == R"({"ok":false,"error":"no group named \"NOPE\""})");
    CHECK(parse_ack_reply(*bad).error().message == "gdoi-memberd: no group named \"NOPE\"");

    auto flush = control_request(sock, "flush");
    REQUIRE(flush.ok());
    CHECK(parse_ack_reply(*flush).ok());

    auto unknown = control_request(sock, "reboot");
    REQUIRE(unknown.ok());
    CHECK(parse_ack_reply(*unknown).error().message ==
          "gdoi-memberd: unknown request \"reboot\" (expected: show, register GROUP, flush)");
    auto no_group = control_request(sock, "register");
    REQUIRE(no_group.ok());
    CHECK(parse_ack_reply(*no_group).error().message ==
          "gdoi-memberd: register needs a group name: register GROUP");
    CHECK(parse_show_reply(*unknown).error().message.find("unknown request") != std::string::npos);

    serving.reset();
    CHECK(calls == std::vector<std::string>{"register GROUP_ID-0001", "register NOPE", "flush"});
}

TEST_CASE("control protocol: request grammar", "[control]") {
    CHECK(parse_control_request("show")->kind == ControlRequest::Kind::show);
    CHECK(parse_control_request("show\r")->kind == ControlRequest::Kind::show);
    CHECK(parse_control_request("flush")->kind == ControlRequest::Kind::flush);
    auto reg = parse_control_request("register GROUP 1");
    REQUIRE(reg.ok());
    CHECK(reg->kind == ControlRequest::Kind::register_group);
    CHECK(reg->group == "GROUP 1");
    CHECK(format_control_request(*reg) == "register GROUP 1");
    CHECK_FALSE(parse_control_request("SHOW").ok());
    CHECK_FALSE(parse_control_request(" show").ok());
    CHECK_FALSE(parse_control_request("register \x1b").ok());
    CHECK(parse_control_request(std::string(100, 'x')).error().message.find("...") != std::string::npos);
    CHECK(control_error("a \"b\"\n") == R"({"ok":false,"error":"a \"b\"\n"})");
}

TEST_CASE("control socket: a handler exception becomes an error reply, the server goes on", "[control]") {
    TempDir dir;
    const std::string sock = dir / "control.sock";
    auto server = ControlServer::listen(sock);
    REQUIRE(server.ok());
    auto serving = serve_in_background(*server, [](const std::string& r) -> std::string {
        if (r == "boom") throw std::runtime_error("kaboom");
        return control_ok();
    });
    auto boom = control_request(sock, "boom");
    REQUIRE(boom.ok());
    CHECK(parse_ack_reply(*boom).error().message == "gdoi-memberd: internal error: kaboom");
    CHECK(control_request(sock, "show").ok());
}

TEST_CASE("control socket: partial requests never block the daemon's loop", "[control]") {
    TempDir dir;
    const std::string sock = dir / "control.sock";
    auto server = ControlServer::listen(sock);
    REQUIRE(server.ok());

    common::UniqueFd slow = connect_raw(sock);
    send_all(slow.get(), "sho");
    // The daemon's loop: readable -> on_readable returns at once, nothing answered yet.
    for (int k = 0; k < 3; ++k) {
        pollfd p{server->fd(), POLLIN, 0};
        if (::poll(&p, 1, 100) > 0) server->on_readable(echo_handler);
    }
    CHECK(server->open_connections() == 1);

    // Another client is served while the slow one is still typing.
    common::UniqueFd quick = connect_raw(sock);
    send_all(quick.get(), "flush\n");
    CHECK(pump_until_reply(*server, quick.get(), echo_handler) == "echo:flush\n");

    send_all(slow.get(), "w\nignored extra bytes");
    CHECK(pump_until_reply(*server, slow.get(), echo_handler) == "echo:show\n");
    CHECK(server->open_connections() == 0);

    // A last line without a newline, then EOF (printf show | socat - UNIX:...).
    common::UniqueFd eof = connect_raw(sock);
    send_all(eof.get(), "show");
    ::shutdown(eof.get(), SHUT_WR);
    CHECK(pump_until_reply(*server, eof.get(), echo_handler) == "echo:show\n");
}

TEST_CASE("control socket: requests are bounded", "[control]") {
    TempDir dir;
    const std::string sock = dir / "control.sock";
    auto server = ControlServer::listen(sock);
    REQUIRE(server.ok());
    std::atomic<int> calls = 0;
    const auto handler = [&](const std::string& r) {
        ++calls;
        return echo_handler(r);
    };
    common::UniqueFd big = connect_raw(sock);
    send_all(big.get(), std::string(kControlMaxRequest + 100, 'a'));
    const std::string reply = pump_until_reply(*server, big.get(), handler);
    CHECK(reply == control_error("request longer than 4095 bytes") + "\n");
    CHECK(calls == 0);

    auto client = control_request(sock, "x\ny");
    REQUIRE_FALSE(client.ok());
    CHECK(client.error().message == "control request must be a single line");
}

TEST_CASE("control socket: a large reply is written across several readable events", "[control]") {
    TempDir dir;
    const std::string sock = dir / "control.sock";
    auto server = ControlServer::listen(sock);
    REQUIRE(server.ok());
    const std::string big(3 * 1024 * 1024, 'z');
    auto serving = serve_in_background(*server, [&](const std::string&) { return big; });
    auto reply = control_request(sock, "show");
    REQUIRE(reply.ok());
    CHECK(reply->size() == big.size());
    CHECK(*reply == big);
}

TEST_CASE("control socket: at most kMaxConnections are held open", "[control]") {
    TempDir dir;
    const std::string sock = dir / "control.sock";
    auto server = ControlServer::listen(sock);
    REQUIRE(server.ok());
    std::vector<common::UniqueFd> idle;
    for (std::size_t k = 0; k < ControlServer::kMaxConnections + 4; ++k) {
        idle.push_back(connect_raw(sock));
        pollfd p{server->fd(), POLLIN, 0};
        if (::poll(&p, 1, 100) > 0) server->on_readable(echo_handler);
    }
    CHECK(server->open_connections() == ControlServer::kMaxConnections);
    // The oldest were dropped: they see EOF.
    char c;
    CHECK(::recv(idle[0].get(), &c, 1, MSG_DONTWAIT) == 0);
    // The newest is still served.
    send_all(idle.back().get(), "show\n");
    CHECK(pump_until_reply(*server, idle.back().get(), echo_handler) == "echo:show\n");
}

TEST_CASE("control socket: connection churn never displaces a request", "[control]") {
    TempDir dir;
    const std::string sock = dir / "control.sock";
    auto server = ControlServer::listen(sock);
    REQUIRE(server.ok());
    const auto drive = [&] {
        pollfd p{server->fd(), POLLIN, 0};
        if (::poll(&p, 1, 100) > 0) server->on_readable(echo_handler);
    };
    // A gdoictl whose request arrives after a burst of connects, and one halfway through its line.
    common::UniqueFd late = connect_raw(sock);
    common::UniqueFd typing = connect_raw(sock);
    drive();
    send_all(typing.get(), "sho");
    drive();
    std::vector<common::UniqueFd> churn;  // connects that never send a request
    for (std::size_t k = 2; k < ControlServer::kMaxConnections; ++k) {
        churn.push_back(connect_raw(sock));
        drive();
    }
    REQUIRE(server->open_connections() == ControlServer::kMaxConnections);
    for (int k = 0; k < 8; ++k) churn.push_back(connect_raw(sock));  // waiting in the backlog
    send_all(late.get(), "show\n");
    for (int k = 0; k < 4; ++k) drive();
    for (std::size_t k = 0; k < 2 * ControlServer::kMaxConnections; ++k) {
        churn.push_back(connect_raw(sock));
        drive();
    }
    CHECK(server->open_connections() <= ControlServer::kMaxConnections);
    CHECK(pump_until_reply(*server, late.get(), echo_handler) == "echo:show\n");
    send_all(typing.get(), "w\n");
    CHECK(pump_until_reply(*server, typing.get(), echo_handler) == "echo:show\n");
    // A fresh client is still served: idle churners make room.
    common::UniqueFd fresh = connect_raw(sock);
    send_all(fresh.get(), "flush\n");
    CHECK(pump_until_reply(*server, fresh.get(), echo_handler) == "echo:flush\n");
}

TEST_CASE("control client: errors tell the operator what to check", "[control]") {
    TempDir dir;
    const std::string missing = dir / "control.sock";
    auto r = control_request(missing, "show");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == "cannot reach gdoi-memberd at " + missing +
                                   ": No such file or directory — is the service running?");
    CHECK(r.error().code == ENOENT);

    // A daemon that accepted (backlog) but never answers: a bounded wait.
    auto server = ControlServer::listen(missing);
    REQUIRE(server.ok());
    const auto start = std::chrono::steady_clock::now();
    r = control_request(missing, "show", 200ms);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message ==
          "no reply from gdoi-memberd at " + missing + " within 200 ms — is it stuck? check its log");
    CHECK(std::chrono::steady_clock::now() - start < 2s);

    // A daemon that closes without a reply.
    auto serving = serve_in_background(*server, [](const std::string&) { return std::string(); });
    r = control_request(missing, "show");
    REQUIRE(r.ok());  // the server turns an empty reply into a bare newline
    CHECK(r->empty());
    CHECK(parse_show_reply(*r).error().message.find("unreadable reply") != std::string::npos);
}
