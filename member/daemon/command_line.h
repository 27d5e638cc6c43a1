// gdoi-memberd's command line, as a function so tests can run it in-process:
//   gdoi-memberd [-c FILE] [--check] [--log-level LEVEL] [--no-dataplane] [--user NAME]
//   gdoi-memberd --help | --version
// Exit status of a usage error: 2, with one line and a hint on stderr.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "gdoi/log.h"

namespace member {

inline constexpr int kMemberdExitUsage = 2;

struct MemberdOptions {
    enum class Action { run, help, version };
    Action action = Action::run;
    std::string config;  // -c / --config, default kDefaultConfigPath
    bool check = false;
    bool no_dataplane = false;
    std::string user;
    std::optional<gdoi::LogLevel> log_level;
};

// args without argv[0]. The error is one line without the program name.
common::Result<MemberdOptions> parse_memberd_command_line(const std::vector<std::string>& args);

std::string memberd_usage();    // for --help, on stdout
std::string memberd_version();  // "gdoi-memberd 0.1.0\n"
// "gdoi-memberd: MESSAGE\nTry 'gdoi-memberd --help' ...\n" for stderr.
std::string memberd_usage_error(const std::string& message);

}  // namespace member
