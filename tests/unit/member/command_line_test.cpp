// The two programs' command lines (getopt_long, common/command_line.h): --help on stdout
// with exit 0, --version with CMake's project version, --config=FILE as well as -c FILE
// and --config FILE, and usage errors as one line and a hint on stderr with exit 2. In
// process (parse_memberd_command_line, gdoictl_main) and against the built binaries.
#include "common/command_line.h"

#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "config/config.h"
#include "daemon/command_line.h"
#include "gdoictl/gdoictl_cli.h"

using namespace member;

namespace {

const std::string kProjectVersion = GDOI_TEST_PROJECT_VERSION;  // project(... VERSION ...) in CMakeLists.txt

struct Run {
    int code = -1;
    std::string out;
    std::string err;
};

std::string shell_quoted(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

// Runs the binary through the shell: stdout through a pipe, stderr into a file.
Run run_binary(const std::string& binary, const std::vector<std::string>& args) {
    char err_path[] = "/tmp/command-line-test.XXXXXX";
    const int fd = ::mkstemp(err_path);
    REQUIRE(fd >= 0);
    ::close(fd);
    std::string command = shell_quoted(binary);
    for (const std::string& a : args) command += " " + shell_quoted(a);
    command += " 2>" + shell_quoted(err_path);
    FILE* pipe = ::popen(command.c_str(), "r");
    REQUIRE(pipe != nullptr);
    Run r;
    char buffer[4096];
    for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) r.out.append(buffer, n);
    const int status = ::pclose(pipe);
    REQUIRE(WIFEXITED(status));
    r.code = WEXITSTATUS(status);
    std::ifstream in(err_path, std::ios::binary);
    r.err.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    ::unlink(err_path);
    return r;
}

Run gdoictl(const std::vector<std::string>& args) {
    Run r;
    r.code = gdoictl_main(args, r.out, r.err);
    return r;
}

MemberdOptions memberd_ok(const std::vector<std::string>& args) {
    auto o = parse_memberd_command_line(args);
    INFO((o ? std::string() : o.error().message));
    REQUIRE(o.ok());
    return *o;
}

std::string memberd_error(const std::vector<std::string>& args) {
    auto o = parse_memberd_command_line(args);
    REQUIRE_FALSE(o.ok());
    return o.error().message;
}

}  // namespace

TEST_CASE("command line: short, long, long=value, clusters, operands anywhere and --", "[command_line]") {
    constexpr common::OptionSpec specs[] = {
        {"config", 'c', true}, {"check", 0, false}, {"verbose", 'v', false}};
    auto r = common::parse_command_line({"a", "-vcFILE", "--check", "b", "--", "--config=x", "-v"}, specs);
    REQUIRE(r.ok());
    REQUIRE(r->options.size() == 3);
    CHECK(std::string(r->options[0].first->long_name) == "verbose");
    CHECK(std::string(r->options[1].first->long_name) == "config");
    CHECK(r->options[1].second == "FILE");
    CHECK(std::string(r->options[2].first->long_name) == "check");
    CHECK(r->operands == std::vector<std::string>{"a", "b", "--config=x", "-v"});
    // A second call starts afresh (getopt keeps state between calls).
    r = common::parse_command_line({"--conf=y"}, specs);  // an unambiguous abbreviation
    REQUIRE(r.ok());
    CHECK(r->options.at(0).second == "y");

    CHECK(common::parse_command_line({"--nope=1"}, specs).error().message == "unknown option --nope");
    CHECK(common::parse_command_line({"-x"}, specs).error().message == "unknown option -x");
    CHECK(common::parse_command_line({"-c"}, specs).error().message == "option -c needs a value");
    CHECK(common::parse_command_line({"--config"}, specs).error().message == "option --config needs a value");
    CHECK(common::parse_command_line({"--check=yes"}, specs).error().message ==
          "option --check takes no value");
}

TEST_CASE("gdoi-memberd options: -c FILE, --config FILE and --config=FILE", "[command_line][memberd]") {
    CHECK(memberd_ok({}).config == kDefaultConfigPath);
    CHECK(memberd_ok({}).action == MemberdOptions::Action::run);
    CHECK(memberd_ok({"-c", "/tmp/a.toml"}).config == "/tmp/a.toml");
    CHECK(memberd_ok({"--config", "/tmp/b.toml"}).config == "/tmp/b.toml");
    CHECK(memberd_ok({"--config=/tmp/c.toml"}).config == "/tmp/c.toml");
    CHECK(memberd_ok({"-c/tmp/d.toml"}).config == "/tmp/d.toml");

    const MemberdOptions all = memberd_ok(
        {"--check", "--config=/x.toml", "--log-level", "debug", "--no-dataplane", "--user=nobody"});
    CHECK(all.check);
    CHECK(all.no_dataplane);
    CHECK(all.user == "nobody");
    REQUIRE(all.log_level.has_value());
    CHECK(*all.log_level == gdoi::LogLevel::Debug);

    CHECK(memberd_ok({"--help"}).action == MemberdOptions::Action::help);
    CHECK(memberd_ok({"-h"}).action == MemberdOptions::Action::help);
    CHECK(memberd_ok({"--version"}).action == MemberdOptions::Action::version);
    CHECK(memberd_version() == "gdoi-memberd " + kProjectVersion + "\n");

    CHECK(memberd_error({"--verbose"}) == "unknown option --verbose");
    CHECK(memberd_error({"-c"}) == "option -c needs a value");
    CHECK(memberd_error({"--config="}) == "the configuration path is empty");
    CHECK(memberd_error({"--log-level", "loud"})
              .starts_with("--log-level takes debug, info, warning or error"));
    CHECK(memberd_error({"member.toml"}).starts_with("unexpected argument \"member.toml\""));
    CHECK(memberd_usage_error("unknown option --verbose") ==
          "gdoi-memberd: unknown option --verbose\nTry 'gdoi-memberd --help' for the options.\n");
}

TEST_CASE("gdoictl --help, --version and an unknown option in process", "[command_line][gdoictl]") {
    const Run help = gdoictl({"--help"});
    CHECK(help.code == kExitOk);
    CHECK(help.out == gdoictl_usage());
    CHECK(help.err.empty());
    CHECK(help.out.find("--version") != std::string::npos);

    const Run version = gdoictl({"--version"});
    CHECK(version.code == kExitOk);
    CHECK(version.out == "gdoictl " + kProjectVersion + "\n");
    CHECK(gdoictl({"-V"}).out == version.out);

    const Run unknown = gdoictl({"--frobnicate", "show"});
    CHECK(unknown.code == kExitUsage);
    CHECK(unknown.out.empty());
    CHECK(unknown.err ==
          "gdoictl: unknown option --frobnicate\nTry 'gdoictl --help' for the commands and options.\n");
    CHECK(gdoictl({"show", "--json=yes"}).err.starts_with("gdoictl: option --json takes no value\n"));
}

TEST_CASE("the binaries: --help on stdout, --version, --config=FILE, unknown options exit 2",
          "[command_line][memberd][gdoictl]") {
    for (const std::string binary : {GDOI_TEST_MEMBERD, GDOI_TEST_GDOICTL}) {
        const std::string name = std::filesystem::path(binary).filename();
        INFO(binary);
        const Run help = run_binary(binary, {"--help"});
        CHECK(help.code == 0);
        CHECK(help.out.starts_with("usage: " + name));
        CHECK(help.err.empty());

        const Run version = run_binary(binary, {"--version"});
        CHECK(version.code == 0);
        CHECK(version.out == name + " " + kProjectVersion + "\n");
        CHECK(version.err.empty());

        const Run unknown = run_binary(binary, {"--no-such-option"});
        CHECK(unknown.code == 2);
        CHECK(unknown.out.empty());
        CHECK(unknown.err == name + ": unknown option --no-such-option\nTry '" + name + " --help' for " +
                                 (name == "gdoictl" ? "the commands and options" : "the options") + ".\n");
    }
    // --config=FILE reaches the configuration loader (exit 1: the file is missing), as -c FILE does.
    const std::string missing = "/nonexistent/gdoi-member-test.toml";
    const Run with_equals = run_binary(GDOI_TEST_MEMBERD, {"--check", "--config=" + missing});
    CHECK(with_equals.code == 1);
    CHECK(with_equals.err.find("cannot open " + missing) != std::string::npos);
    const Run with_c = run_binary(GDOI_TEST_MEMBERD, {"--check", "-c", missing});
    CHECK(with_c.code == 1);
    CHECK(with_c.err == with_equals.err);
}
