// The monitor stream: event lines (JSON and text), the hub's bounded per-subscriber queues
// and the removal of subscribers that leave, and the control server's monitor request.
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "control/control.h"
#include "control/monitor_event.h"
#include "control/monitor_hub.h"
#include "daemon/daemon.h"
#include "gdoictl/monitor_text.h"

using namespace member;
using namespace std::chrono_literals;

namespace {

// 2026-12-05T16:40:00.123Z
const std::chrono::system_clock::time_point kTime =
    std::chrono::system_clock::time_point(std::chrono::milliseconds(1796488800123));

MonitorEvent event(MonitorEventKind kind, std::string group = "G1") {
    MonitorEvent e;
    e.time = kTime;
    e.group = std::move(group);
    e.kind = kind;
    return e;
}

struct Pair {
    common::UniqueFd hub_end;
    common::UniqueFd client;
    Pair() {
        int fds[2];
        REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
        hub_end.reset(fds[0]);
        client.reset(fds[1]);
    }
};

// Everything readable now (non-blocking), and whether the peer closed.
std::string read_now(int fd, bool* eof = nullptr) {
    std::string out;
    char buf[65536];
    for (;;) {
        const ssize_t r = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (r > 0) {
            out.append(buf, static_cast<std::size_t>(r));
            continue;
        }
        if (eof) *eof = r == 0;
        return out;
    }
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::size_t start = 0;
    for (auto nl = text.find('\n'); nl != std::string::npos; nl = text.find('\n', start)) {
        out.push_back(text.substr(start, nl - start));
        start = nl + 1;
    }
    return out;
}

MonitorHub make_hub() {
    auto hub = MonitorHub::create();
    REQUIRE(hub.ok());
    return std::move(*hub);
}

}  // namespace

TEST_CASE("monitor events render as one JSON line with stable field names", "[monitor]") {
    CHECK(rfc3339_millis(kTime) == "2026-12-05T16:40:00.123Z");
    CHECK(rfc3339_millis(std::chrono::system_clock::time_point(std::chrono::milliseconds(5))) ==
          "1970-01-01T00:00:00.005Z");

    MonitorEvent started = event(MonitorEventKind::registration_started);
    started.server = "10.248.0.2:848";
    CHECK(
        monitor_event_json(started) ==
        R"({"time":"2026-12-05T16:40:00.123Z","group":"G1","event":"registration-started","server":"10.248.0.2:848"})");

    MonitorEvent done = event(MonitorEventKind::registration_done);
    done.server = "10.248.0.2:848";
    done.seq = 1;
    done.teks = 2;
    CHECK(
        monitor_event_json(done) ==
        R"({"time":"2026-12-05T16:40:00.123Z","group":"G1","event":"registration-done","server":"10.248.0.2:848","seq":1,"teks":2})");

    MonitorEvent rekey = event(MonitorEventKind::rekey_accepted);
    rekey.server = "10.248.0.2:848";
    rekey.seq = 2;
    rekey.spis_added = {0x33333333};
    rekey.spis_removed = {0x11111111, 0xab};
    CHECK(
        monitor_event_json(rekey) ==
        R"({"time":"2026-12-05T16:40:00.123Z","group":"G1","event":"rekey-accepted","server":"10.248.0.2:848","seq":2,)"
        R"("spis_added":["0x33333333"],"spis_removed":["0x11111111","0x000000ab"]})");

    MonitorEvent rejected = event(MonitorEventKind::rekey_rejected);
    rejected.reason = "bad-signature";
    rejected.detail = "SIG does not verify";
    CHECK(
        monitor_event_json(rejected) ==
        R"({"time":"2026-12-05T16:40:00.123Z","group":"G1","event":"rekey-rejected","reason":"bad-signature","detail":"SIG does not verify"})");

    MonitorEvent failover = event(MonitorEventKind::server_failover);
    failover.from = "10.248.0.9:848";
    failover.to = "10.248.0.2:848";
    CHECK(
        monitor_event_json(failover) ==
        R"({"time":"2026-12-05T16:40:00.123Z","group":"G1","event":"server-failover","from":"10.248.0.9:848","to":"10.248.0.2:848"})");

    MonitorEvent installed = event(MonitorEventKind::tek_installed);
    installed.spi = 0x22222222;
    CHECK(monitor_event_json(installed) ==
          R"({"time":"2026-12-05T16:40:00.123Z","group":"G1","event":"tek-installed","spi":"0x22222222"})");

    // A group name with quotes and control characters stays one valid JSON line.
    MonitorEvent odd = event(MonitorEventKind::recovery_probe, "a\"b\nc");
    odd.probe = 3;
    const std::string line = monitor_event_json(odd);
    CHECK(line.find('\n') == std::string::npos);
    CHECK(nlohmann::json::parse(line)["group"] == "a\"b\nc");
}

TEST_CASE("every event kind has a name and round-trips through its JSON line", "[monitor]") {
    for (int k = 0; k <= static_cast<int>(MonitorEventKind::events_lost); ++k) {
        const auto kind = static_cast<MonitorEventKind>(k);
        INFO(monitor_event_name(kind));
        CHECK(monitor_event_name(kind) != "unknown");
        CHECK(monitor_event_kind(monitor_event_name(kind)) == kind);
        MonitorEvent e = event(kind);
        e.server = "s";
        e.seq = 7;
        e.spi = 0xdeadbeef;
        e.spis_added = {1};
        e.reason = "r";
        e.lost = 4;
        auto parsed = parse_monitor_event(monitor_event_json(e));
        REQUIRE(parsed.ok());
        CHECK(parsed->time_text == "2026-12-05T16:40:00.123Z");
        CHECK(parsed->event.kind == kind);
        CHECK(parsed->event.group == "G1");
        CHECK(parsed->event.seq == std::optional<uint64_t>(7));
        CHECK(parsed->event.spi == std::optional<uint32_t>(0xdeadbeef));
        CHECK(parsed->event.reason == "r");
        CHECK(parsed->event.lost == std::optional<uint64_t>(4));
    }
    CHECK(!parse_monitor_event("{}").ok());
    CHECK(!parse_monitor_event(R"({"time":"t","group":"g","event":"reboot"})").ok());
    CHECK(!parse_monitor_event("not json").ok());
}

TEST_CASE("monitor events render as one readable line", "[monitor][gdoictl]") {
    const std::string t = "2026-12-05T16:40:00.123Z";
    MonitorEvent done = event(MonitorEventKind::registration_done);
    done.server = "10.248.0.2:848";
    done.seq = 1;
    done.teks = 2;
    CHECK(monitor_event_text(t, done) == t + " G1: registered with 10.248.0.2:848, SEQ 1, 2 TEK(s)");
    MonitorEvent rekey = event(MonitorEventKind::rekey_accepted);
    rekey.server = "10.248.0.2:848";
    rekey.seq = 2;
    rekey.spis_added = {0x33333333};
    rekey.spis_removed = {0x11111111};
    CHECK(monitor_event_text(t, rekey) ==
          t + " G1: rekey accepted from 10.248.0.2:848, SEQ 2, TEKs +0x33333333 -0x11111111");
    MonitorEvent rejected = event(MonitorEventKind::rekey_rejected);
    rejected.reason = "replay";
    CHECK(monitor_event_text(t, rejected) == t + " G1: rekey rejected (replay)");
    MonitorEvent failover = event(MonitorEventKind::server_failover);
    failover.from = "a:848";
    failover.to = "b:848";
    CHECK(monitor_event_text(t, failover) == t + " G1: key server failover: a:848 -> b:848");
    MonitorEvent lost = event(MonitorEventKind::events_lost, "");
    lost.lost = 12;
    CHECK(monitor_event_text(t, lost) == t + ": 12 event(s) lost");
    MonitorEvent evil = event(MonitorEventKind::tek_retired, "x\ny");
    evil.spi = 1;
    CHECK(monitor_event_text(t, evil) == t + " x?y: TEK 0x00000001 retired");
}

TEST_CASE("session events become monitor events without key material", "[monitor][daemon]") {
    SessionEvent s;
    s.kind = SessionEvent::Kind::rekey_accepted;
    s.server = "10.248.0.2:848";
    s.seq = 9;
    s.spis_added = {5};
    s.spis_removed = {4};
    const MonitorEvent e = monitor_event_of("G", s);
    CHECK(e.kind == MonitorEventKind::rekey_accepted);
    CHECK(e.group == "G");
    CHECK(e.seq == std::optional<uint64_t>(9));
    CHECK(e.spis_added == std::vector<uint32_t>{5});
    CHECK(e.spis_removed == std::vector<uint32_t>{4});
    SessionEvent f;
    f.kind = SessionEvent::Kind::server_failover;
    f.server = "a";
    f.next_server = "b";
    const MonitorEvent fe = monitor_event_of("G", f);
    CHECK(fe.from == "a");
    CHECK(fe.to == "b");
    SessionEvent r;
    r.kind = SessionEvent::Kind::rekey_rejected;
    r.reason = "replay";
    CHECK(monitor_event_of("G", r).reason == "replay");
}

TEST_CASE("the hub sends the greeting and the events of the subscribed group", "[monitor][hub]") {
    MonitorHub hub = make_hub();
    Pair all, g2;
    REQUIRE(hub.add(std::move(all.hub_end), "", R"({"ok":true})").ok());
    REQUIRE(hub.add(std::move(g2.hub_end), "G2", R"({"ok":true})").ok());
    CHECK(hub.subscribers() == 2);
    hub.publish(event(MonitorEventKind::registration_started, "G1"));
    hub.publish(event(MonitorEventKind::registration_started, "G2"));
    const auto a = lines_of(read_now(all.client.get()));
    REQUIRE(a.size() == 3);
    CHECK(a[0] == R"({"ok":true})");
    CHECK(a[1].find(R"("group":"G1")") != std::string::npos);
    CHECK(a[2].find(R"("group":"G2")") != std::string::npos);
    const auto b = lines_of(read_now(g2.client.get()));
    REQUIRE(b.size() == 2);
    CHECK(b[1].find(R"("group":"G2")") != std::string::npos);
}

TEST_CASE("the hub removes a subscriber that closed", "[monitor][hub]") {
    MonitorHub hub = make_hub();
    Pair p, q;
    REQUIRE(hub.add(std::move(p.hub_end), "", "{}").ok());
    REQUIRE(hub.add(std::move(q.hub_end), "", "{}").ok());
    p.client.reset();  // EOF / EPOLLHUP on the hub's end
    pollfd pfd{hub.fd(), POLLIN, 0};
    REQUIRE(::poll(&pfd, 1, 1000) == 1);  // the hub's fd says so
    hub.on_ready();
    CHECK(hub.subscribers() == 1);
    // A write error removes one too (the event is published to a closed reader).
    q.client.reset();
    hub.publish(event(MonitorEventKind::tek_installed));
    hub.on_ready();
    CHECK(hub.subscribers() == 0);
}

TEST_CASE("the hub refuses more than kMaxSubscribers", "[monitor][hub]") {
    MonitorHub hub = make_hub();
    std::vector<Pair> pairs(MonitorHub::kMaxSubscribers + 1);
    for (std::size_t i = 0; i < MonitorHub::kMaxSubscribers; ++i)
        REQUIRE(hub.add(std::move(pairs[i].hub_end), "", "{}").ok());
    CHECK(hub.full());
    CHECK(!hub.add(std::move(pairs.back().hub_end), "", "{}").ok());
    CHECK(hub.subscribers() == MonitorHub::kMaxSubscribers);
}

TEST_CASE("a reader that falls behind is dropped with an events-lost line, memory stays bounded",
          "[monitor][hub]") {
    MonitorHub hub = make_hub();
    Pair slow, fast;
    const int small = 4096;
    REQUIRE(::setsockopt(slow.hub_end.get(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small) == 0);
    REQUIRE(hub.add(std::move(slow.hub_end), "", R"({"ok":true})").ok());
    REQUIRE(hub.add(std::move(fast.hub_end), "", R"({"ok":true})").ok());
    MonitorEvent e = event(MonitorEventKind::rekey_rejected);
    e.reason = "replay";
    e.detail = std::string(200, 'x');
    const std::size_t line_size = monitor_event_json(e).size() + 1;
    const std::size_t events = MonitorHub::kMaxQueueBytes / line_size + 100;  // well beyond the bound
    std::size_t fast_lines = 0;
    std::string fast_pending;
    for (std::size_t i = 0; i < events; ++i) {
        hub.publish(e);
        fast_pending += read_now(fast.client.get());  // the fast reader keeps up
    }
    fast_lines = lines_of(fast_pending).size();
    CHECK(fast_lines == events + 1);  // greeting + every event: not affected by the slow one
    CHECK(hub.subscribers() == 2);    // the dropped one stays until its last line is out

    // The slow reader: the lines its socket took, whole, then events-lost, then EOF.
    std::string got;
    bool eof = false;
    for (int round = 0; round < 1000 && !eof; ++round) {
        got += read_now(slow.client.get(), &eof);
        pollfd pfd{hub.fd(), POLLIN, 0};
        if (::poll(&pfd, 1, 10) == 1) hub.on_ready();
    }
    CHECK(eof);
    CHECK(hub.subscribers() == 1);
    const auto lines = lines_of(got);
    REQUIRE(lines.size() >= 2);
    CHECK(lines.size() < events);
    for (const auto& l : lines) CHECK(nlohmann::json::accept(l));
    const auto last = nlohmann::json::parse(lines.back());
    CHECK(last["event"] == "events-lost");
    const uint64_t lost = last["lost"].get<uint64_t>();
    CHECK(lost >= 1);
    // Up to the overflow every event was delivered or counted as lost (greeting and last line
    // aside); the queue held about kMaxQueueBytes when it overflowed, no more.
    const std::size_t delivered = lines.size() - 2;
    CHECK(delivered + lost <= events);
    CHECK(delivered + lost >= MonitorHub::kMaxQueueBytes / line_size);
    CHECK(delivered * line_size < 2 * MonitorHub::kMaxQueueBytes);
}

TEST_CASE("a dropped reader that takes nothing is closed after the grace period", "[monitor][hub]") {
    MonitorHub hub = make_hub();
    Pair stuck;
    const int small = 4096;
    REQUIRE(::setsockopt(stuck.hub_end.get(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small) == 0);
    REQUIRE(hub.add(std::move(stuck.hub_end), "", "{}").ok());
    MonitorEvent e = event(MonitorEventKind::tek_installed);
    e.detail = std::string(1000, 'y');
    const auto t0 = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < MonitorHub::kMaxQueueBytes / 1000 + 10; ++i) hub.publish(e, t0);
    CHECK(hub.subscribers() == 1);
    CHECK(hub.next_deadline() == t0 + MonitorHub::kOverflowGrace);  // the daemon's timer wakes it then
    hub.on_ready(t0 + MonitorHub::kOverflowGrace - 1ms);
    CHECK(hub.subscribers() == 1);
    hub.on_ready(t0 + MonitorHub::kOverflowGrace);
    CHECK(hub.subscribers() == 0);
    CHECK(hub.next_deadline() == std::chrono::steady_clock::time_point::max());
}

namespace {

struct TempSocket {
    std::filesystem::path dir;
    TempSocket() {
        char tmpl[] = "/tmp/gdoi-monitor-test.XXXXXX";
        REQUIRE(::mkdtemp(tmpl) != nullptr);
        dir = tmpl;
    }
    ~TempSocket() {
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }
    std::string path() const { return (dir / "control.sock").string(); }
};

common::UniqueFd connect_to(const std::string& path) {
    common::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.data(), path.size());
    REQUIRE(::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
    return fd;
}

std::string handle(const std::string& line) {
    ControlHandlers h;
    h.monitor = [](const std::string& group) -> common::Status {
        if (group == "NOPE") return common::make_error("no group named NOPE");
        return {};
    };
    return dispatch_control_request(line, h);
}

// Serves the control server (as the daemon's loop does) until `done` or a bound.
template <typename F>
bool serve_until(ControlServer& server, F done) {
    for (int i = 0; i < 500; ++i) {
        if (done()) return true;
        pollfd p{server.fd(), POLLIN, 0};
        if (::poll(&p, 1, 10) == 1) server.on_readable(handle);
    }
    return done();
}

}  // namespace

TEST_CASE("the monitor request turns a control connection into a subscriber", "[monitor][control]") {
    TempSocket tmp;
    auto listening = ControlServer::listen(tmp.path());
    REQUIRE(listening.ok());
    ControlServer& server = *listening;

    CHECK(parse_control_request("monitor")->kind == ControlRequest::Kind::monitor);
    CHECK(parse_control_request("monitor G1")->group == "G1");
    CHECK(!parse_control_request("monitor ").ok());
    CHECK(format_control_request(ControlRequest{ControlRequest::Kind::monitor, "G1"}) == "monitor G1");

    common::UniqueFd refused = connect_to(tmp.path());
    REQUIRE(::send(refused.get(), "monitor NOPE\n", 13, MSG_NOSIGNAL) == 13);
    std::string refusal;
    bool closed = false;
    CHECK(serve_until(server, [&] {
        refusal += read_now(refused.get(), &closed);
        return closed;
    }));
    CHECK(refusal == "{\"ok\":false,\"error\":\"no group named NOPE\"}\n");

    common::UniqueFd client = connect_to(tmp.path());
    REQUIRE(::send(client.get(), "monitor G1\n", 11, MSG_NOSIGNAL) == 11);
    CHECK(serve_until(server, [&] { return server.monitor().subscribers() == 1; }));
    CHECK(server.open_connections() == 0);  // not a control connection any more
    CHECK(read_now(client.get()) == "{\"ok\":true}\n");
    server.monitor().publish(event(MonitorEventKind::registration_started, "G1"));
    server.monitor().publish(event(MonitorEventKind::registration_started, "G2"));
    const auto lines = lines_of(read_now(client.get()));
    REQUIRE(lines.size() == 1);
    CHECK(nlohmann::json::parse(lines[0])["group"] == "G1");

    // One-shot requests still work while a monitor streams.
    common::UniqueFd one_shot = connect_to(tmp.path());
    REQUIRE(::send(one_shot.get(), "flush\n", 6, MSG_NOSIGNAL) == 6);
    std::string reply;
    closed = false;
    CHECK(serve_until(server, [&] {
        reply += read_now(one_shot.get(), &closed);
        return closed;
    }));
    CHECK(reply == "{\"ok\":false,\"error\":\"flush is not available\"}\n");
    CHECK(server.monitor().subscribers() == 1);

    // The client leaves: noticed through the server's fd, the subscriber goes.
    client.reset();
    CHECK(serve_until(server, [&] { return server.monitor().subscribers() == 0; }));
}

TEST_CASE("control_monitor reads the stream until the daemon closes or the caller stops",
          "[monitor][control]") {
    TempSocket tmp;
    auto listening = ControlServer::listen(tmp.path());
    REQUIRE(listening.ok());
    ControlServer& server = *listening;
    // The client runs in this thread: the server is served from on_line, events published there.
    std::vector<std::string> got;
    bool published = false;
    int pipe_fds[2];
    REQUIRE(::pipe2(pipe_fds, O_CLOEXEC) == 0);
    common::UniqueFd stop_read(pipe_fds[0]), stop_write(pipe_fds[1]);
    std::thread serving([&] {
        serve_until(server, [&] { return server.monitor().subscribers() == 1; });
        server.monitor().publish(event(MonitorEventKind::registration_started, "G1"));
        server.monitor().publish(event(MonitorEventKind::registration_done, "G1"));
        published = true;
    });
    auto streamed = control_monitor(
        tmp.path(), "monitor",
        [&](std::string_view line) {
            got.emplace_back(line);
            if (got.size() == 2) (void)!::write(stop_write.get(), "x", 1);
            return true;
        },
        stop_read.get(), 5s);
    serving.join();
    CHECK(streamed.ok());
    CHECK(published);
    REQUIRE(got.size() == 2);
    CHECK(got[1].find("registration-done") != std::string::npos);

    // The daemon goes away: an error saying so.
    REQUIRE(serve_until(server, [&] { return server.monitor().subscribers() == 0; }));  // the first one left
    std::thread closing([&] {
        serve_until(server, [&] { return server.monitor().subscribers() == 1; });
        ControlServer gone = std::move(server);  // moved out, then destroyed: every socket closes
    });
    auto ended = control_monitor(
        tmp.path(), "monitor", [](std::string_view) { return true; }, -1, 5s);
    closing.join();
    REQUIRE(!ended.ok());
    INFO(ended.error().message);
    CHECK(ended.error().message.find("closed the monitor stream") != std::string::npos);
}
