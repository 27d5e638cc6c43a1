// gdoictl against a ControlServer running in this process with a fixed MemberStatus:
// every view in text and JSON, the JSON round-trips to the same status, --group, the
// actions, usage errors and exit codes. Runs the real gdoictl binary when it is built
// next to this test (build/member/gdoictl, or $GDOICTL), and gdoictl_main in-process
// always.
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>

#include "control/control.h"
#include "control/status_json.h"
#include "gdoictl/gdoictl_cli.h"
#include "gdoictl/prometheus_text.h"
#include "gdoictl/status_text.h"

extern char** environ;

using namespace member;

namespace member_test {
MemberStatus full_status();  // status_json_test.cpp
std::shared_ptr<void> serve_in_background(
    ControlServer& server,
    std::function<std::string(const std::string&)> handler);  // control_socket_test.cpp
}  // namespace member_test

using member_test::full_status;
using member_test::serve_in_background;

namespace {

struct TempDir {
    std::filesystem::path path;
    TempDir() {
        char tmpl[] = "/tmp/gdoictl-test.XXXXXX";
        REQUIRE(::mkdtemp(tmpl) != nullptr);
        path = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
};

struct Run {
    int code = -1;
    std::string out;
    std::string err;
};

Run run_in_process(std::vector<std::string> args) {
    Run r;
    r.code = gdoictl_main(args, r.out, r.err);
    return r;
}

std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// The gdoictl binary of this build tree: <build>/tests/unit_member -> <build>/member/gdoictl.
std::string gdoictl_binary() {
    if (const char* env = std::getenv("GDOICTL"); env != nullptr && *env != '\0') return env;
    std::error_code ec;
    const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec) return {};
    const auto candidate = self.parent_path().parent_path() / "member" / "gdoictl";
    return std::filesystem::exists(candidate, ec) ? candidate.string() : std::string();
}

Run run_binary(const std::string& binary, const TempDir& dir, const std::vector<std::string>& args) {
    const auto out_path = dir.path / "stdout";
    const auto err_path = dir.path / "stderr";
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    std::vector<char*> argv{const_cast<char*>(binary.c_str())};
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_t pid = 0;
    const int rc = ::posix_spawn(&pid, binary.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    REQUIRE(rc == 0);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFEXITED(status));
    return Run{WEXITSTATUS(status), slurp(out_path), slurp(err_path)};
}

MemberStatus only_group(const MemberStatus& s, const std::string& name) {
    MemberStatus out = s;
    out.groups.clear();
    for (const GroupStatus& g : s.groups)
        if (g.name == name) out.groups.push_back(g);
    return out;
}

ControlServer listen_or_fail(const std::string& path) {
    auto s = ControlServer::listen(path);
    REQUIRE(s.ok());
    return std::move(*s);
}

// A daemon stand-in: the control server with the real dispatcher and fixed answers.
struct FakeDaemon {
    TempDir dir;
    std::string socket = (dir.path / "control.sock").string();
    ControlServer server = listen_or_fail(socket);
    ControlHandlers handlers{
        [] { return full_status(); },
        [](const std::string& group) -> common::Status {
            if (group == "GROUP_ID-0001") return {};
            return common::make_error("no group named \"" + group + "\"");
        },
        []() -> common::Status { return common::make_error("flush failed: EPERM (needs CAP_NET_ADMIN)"); },
    };
    std::shared_ptr<void> serving = serve_in_background(
        server, [this](const std::string& r) { return dispatch_control_request(r, handlers); });
};

}  // namespace

TEST_CASE("gdoictl show: every view in text and JSON against an in-process daemon", "[control][gdoictl]") {
    FakeDaemon daemon;
    const MemberStatus expected = full_status();
    const std::string binary = gdoictl_binary();
    if (binary.empty()) WARN("gdoictl binary not built next to unit_member: checking gdoictl_main only");

    for (const ShowView& view : show_views()) {
        const std::string name(view.name);
        SECTION("show " + name) {
            std::vector<std::function<Run(std::vector<std::string>)>> runners{run_in_process};
            if (!binary.empty())
                runners.push_back(
                    [&](std::vector<std::string> args) { return run_binary(binary, daemon.dir, args); });
            for (const auto& run : runners) {
                const Run text = run({"-s", daemon.socket, "show", name});
                INFO(text.err);
                CHECK(text.code == kExitOk);
                CHECK(text.out == view.render(expected, {}));
                CHECK(text.err.empty());

                const Run json = run({"-s", daemon.socket, "show", name, "--json"});
                CHECK(json.code == kExitOk);
                auto back = status_from_json(json.out);
                REQUIRE(back.ok());
                CHECK(*back == expected);

                const Run one =
                    run({"--socket=" + daemon.socket, "show", name, "--group", "GROUP_ID-0001", "--json"});
                CHECK(one.code == kExitOk);
                back = status_from_json(one.out);
                REQUIRE(back.ok());
                CHECK(*back == only_group(expected, "GROUP_ID-0001"));

                const Run filtered = run({"-s", daemon.socket, "show", name, "--group=GROUP_ID-0001"});
                CHECK(filtered.code == kExitOk);
                CHECK(filtered.out == view.render(expected, {"GROUP_ID-0001"}));
            }
        }
    }
}

TEST_CASE("gdoictl show without a view shows groups, an unknown --group fails with the group list",
          "[control][gdoictl]") {
    FakeDaemon daemon;
    const Run r = run_in_process({"-s", daemon.socket, "show"});
    CHECK(r.code == kExitOk);
    CHECK(r.out == render_groups(full_status()));

    const Run missing = run_in_process({"-s", daemon.socket, "show", "tek", "--group", "NOPE"});
    CHECK(missing.code == kExitFailure);
    CHECK(missing.out.empty());
    CHECK(missing.err.starts_with("gdoictl: no group named \"NOPE\" (groups: GROUP_ID-0001, GROUP \"two\""));
}

TEST_CASE("gdoictl register and flush report the daemon's answer and exit 0 or 1", "[control][gdoictl]") {
    FakeDaemon daemon;
    const Run ok = run_in_process({"-s", daemon.socket, "register", "GROUP_ID-0001"});
    CHECK(ok.code == kExitOk);
    CHECK(ok.out == "registration of group GROUP_ID-0001 started\n");

    const Run refused = run_in_process({"-s", daemon.socket, "register", "NOPE"});
    CHECK(refused.code == kExitFailure);
    CHECK(refused.err == "gdoictl: gdoi-memberd: no group named \"NOPE\"\n");

    const Run flush = run_in_process({"-s", daemon.socket, "flush"});
    CHECK(flush.code == kExitFailure);
    CHECK(flush.err == "gdoictl: gdoi-memberd: flush failed: EPERM (needs CAP_NET_ADMIN)\n");
}

TEST_CASE("gdoictl without a daemon says where it looked and what to check", "[control][gdoictl]") {
    TempDir dir;
    const std::string sock = (dir.path / "control.sock").string();
    const Run r = run_in_process({"-s", sock, "show", "groups"});
    CHECK(r.code == kExitFailure);
    CHECK(r.err == "gdoictl: cannot reach gdoi-memberd at " + sock +
                       ": No such file or directory — is the service running?\n");
    const std::string binary = gdoictl_binary();
    if (!binary.empty()) {
        const Run b = run_binary(binary, dir, {"-s", sock, "flush"});
        CHECK(b.code == kExitFailure);
        CHECK(b.err == r.err);
    }
}

TEST_CASE("gdoictl usage errors exit 2 and point to --help", "[control][gdoictl]") {
    struct Case {
        std::vector<std::string> args;
        std::string message;
    };
    const Case cases[] = {
        {{}, "no command given"},
        {{"show", "bogus"}, "unknown view \"bogus\" (views: groups, servers, kek, tek, policy, stats)"},
        {{"show", "tek", "kek"}, "show takes one view"},
        {{"register"}, "usage: gdoictl register GROUP"},
        {{"register", "a", "b"}, "usage: gdoictl register GROUP"},
        {{"flush", "now"}, "flush takes no arguments"},
        {{"flush", "--json"}, "--json and --group only apply to show"},
        {{"register", "G", "--group", "G"}, "--json and --group only apply to show"},
        {{"flush", "--format", "json"}, "--format and --output only apply to show"},
        {{"register", "G", "--output", "/tmp/x"}, "--format and --output only apply to show"},
        {{"show", "--format", "xml"}, "--format takes text, json or prometheus, not \"xml\""},
        {{"show", "--format"}, "option --format needs a value"},
        {{"show", "--json", "--format", "prometheus"}, "--json conflicts with --format prometheus"},
        {{"show", "--output="}, "invalid --output path"},
        {{"show", "--group"}, "option --group needs a value"},
        {{"-s"}, "option -s needs a value"},
        {{"--socket="}, "the socket path is empty"},
        {{"--timeout", "0", "show"}, "--timeout takes whole seconds from 1 to 3600"},
        {{"--verbose", "show"}, "unknown option --verbose"},
        {{"reboot"}, "unknown command \"reboot\""},
    };
    for (const Case& c : cases) {
        const Run r = run_in_process(c.args);
        INFO(r.err);
        CHECK(r.code == kExitUsage);
        CHECK(r.err.starts_with("gdoictl: " + c.message));
        CHECK(r.err.ends_with("\nTry 'gdoictl --help' for the commands and options.\n"));
        CHECK(r.out.empty());
    }
    const Run help = run_in_process({"--help"});
    CHECK(help.code == kExitOk);
    CHECK(help.out == gdoictl_usage());
    for (const ShowView& v : show_views())
        CHECK(help.out.find("    " + std::string(v.name)) != std::string::npos);
    // "--" ends the options: a group named like an option.
    TempDir dir;
    const Run dashed = run_in_process({"-s", (dir.path / "none").string(), "register", "--", "--odd"});
    CHECK(dashed.code == kExitFailure);  // parsed fine, daemon unreachable
}

TEST_CASE("gdoictl show --format: text and json as before, prometheus renders the metrics",
          "[control][gdoictl]") {
    FakeDaemon daemon;
    const MemberStatus expected = full_status();
    const Run text = run_in_process({"-s", daemon.socket, "show", "stats", "--format", "text"});
    CHECK(text.code == kExitOk);
    CHECK(text.out == render_stats(expected, {}));
    const Run json = run_in_process({"-s", daemon.socket, "show", "stats", "--format=json", "--json"});
    CHECK(json.code == kExitOk);
    auto back = status_from_json(json.out);
    REQUIRE(back.ok());
    CHECK(*back == expected);
    for (const std::string view : {"stats", "groups"}) {
        const Run prom = run_in_process({"-s", daemon.socket, "show", view, "--format", "prometheus"});
        INFO(prom.err);
        CHECK(prom.code == kExitOk);
        CHECK(prom.out == render_prometheus(expected, {}));
        CHECK(prom.err.empty());
    }
    const Run one = run_in_process(
        {"-s", daemon.socket, "show", "stats", "--format", "prometheus", "--group", "GROUP_ID-0001"});
    CHECK(one.code == kExitOk);
    CHECK(one.out == render_prometheus(expected, {"GROUP_ID-0001"}));
}

TEST_CASE("gdoictl show --output replaces the file atomically with mode 0644, nothing on stdout",
          "[control][gdoictl]") {
    FakeDaemon daemon;
    TempDir out_dir;
    const auto file = out_dir.path / "gdoi_member.prom";
    {
        std::ofstream old(file);
        old << "old content\n";
    }
    std::vector<std::function<Run(std::vector<std::string>)>> runners{run_in_process};
    const std::string binary = gdoictl_binary();
    if (!binary.empty())
        runners.push_back(
            [&](std::vector<std::string> args) { return run_binary(binary, daemon.dir, args); });
    const mode_t old_umask = ::umask(077);  // the mode must not depend on the umask
    for (const auto& run : runners) {
        const Run r =
            run({"-s", daemon.socket, "show", "stats", "--format", "prometheus", "--output", file.string()});
        INFO(r.err);
        CHECK(r.code == kExitOk);
        CHECK(r.out.empty());
        CHECK(r.err.empty());
        CHECK(slurp(file) == render_prometheus(full_status(), {}));
        struct stat st {};
        REQUIRE(::stat(file.c_str(), &st) == 0);
        CHECK((st.st_mode & 07777) == 0644);
        std::vector<std::string> names;
        for (const auto& e : std::filesystem::directory_iterator(out_dir.path))
            names.push_back(e.path().filename());
        CHECK(names == std::vector<std::string>{"gdoi_member.prom"});  // no temporary file left
    }
    ::umask(old_umask);

    // A directory that does not exist: exit 1, the path in the message, nothing created.
    const auto missing = out_dir.path / "none" / "gdoi_member.prom";
    const Run bad =
        run_in_process({"-s", daemon.socket, "show", "--format", "prometheus", "--output", missing.string()});
    CHECK(bad.code == kExitFailure);
    CHECK(bad.out.empty());
    CHECK(bad.err.starts_with("gdoictl: cannot create a temporary file for " + missing.string() + ": "));
    CHECK_FALSE(std::filesystem::exists(missing.parent_path()));

    // The daemon unreachable: exit 1 and the old file left as it was.
    const Run down =
        run_in_process({"-s", (out_dir.path / "nosock").string(), "show", "--output", file.string()});
    CHECK(down.code == kExitFailure);
    CHECK(slurp(file) == render_prometheus(full_status(), {}));
}
