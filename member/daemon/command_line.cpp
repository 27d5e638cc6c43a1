// gdoi-memberd's options, read with getopt_long (common/command_line.h).
#include "daemon/command_line.h"

#include <array>

#include "common/command_line.h"
#include "config/config.h"
#include "control/version.h"
#include "daemon/logging.h"

namespace member {
namespace {

// kOptions in the order of Option.
enum class Option { config, check, log_level, no_dataplane, user, help, version };
constexpr std::array<common::OptionSpec, 7> kOptions{{
    {"config", 'c', true},
    {"check", 0, false},
    {"log-level", 0, true},
    {"no-dataplane", 0, false},
    {"user", 0, true},
    {"help", 'h', false},
    {"version", 'V', false},
}};

}  // namespace

common::Result<MemberdOptions> parse_memberd_command_line(const std::vector<std::string>& args) {
    auto parsed = common::parse_command_line(args, kOptions);
    if (!parsed) return parsed.error();
    MemberdOptions o;
    o.config = kDefaultConfigPath;
    for (const auto& [spec, value] : parsed->options) {
        switch (static_cast<Option>(spec - kOptions.data())) {
            case Option::config:
                if (value.empty()) return common::make_error("the configuration path is empty");
                o.config = value;
                break;
            case Option::check:
                o.check = true;
                break;
            case Option::log_level: {
                gdoi::LogLevel level;
                if (!parse_log_level(value, level))
                    return common::make_error("--log-level takes debug, info, warning or error, not \"" +
                                              value + "\"");
                o.log_level = level;
                break;
            }
            case Option::no_dataplane:
                o.no_dataplane = true;
                break;
            case Option::user:
                if (value.empty()) return common::make_error("the user name is empty");
                o.user = value;
                break;
            case Option::help:
                o.action = MemberdOptions::Action::help;
                break;
            case Option::version:
                if (o.action == MemberdOptions::Action::run) o.action = MemberdOptions::Action::version;
                break;
        }
    }
    if (!parsed->operands.empty())
        return common::make_error("unexpected argument \"" + parsed->operands.front() +
                                  "\" (the configuration is given with -c FILE)");
    return o;
}

std::string memberd_usage() {
    return std::string(
               "usage: gdoi-memberd [-c FILE] [--check] [--log-level LEVEL] [--no-dataplane] [--user NAME]\n"
               "       gdoi-memberd --help | --version\n"
               "  -c, --config FILE   configuration (default ") +
           kDefaultConfigPath +
           ")\n"
           "  --check             validate the configuration and exit (0 = valid); touches nothing\n"
           "  --log-level LEVEL   override the configured log level: debug, info, warning, error\n"
           "  --no-dataplane      register and follow rekeys, but install nothing in the kernel\n"
           "  --user NAME         switch to this user after binding (keeps CAP_NET_ADMIN only)\n"
           "  -h, --help          show this help and exit\n"
           "  -V, --version       show the version and exit\n"
           "exit status: 0 success, 1 failure, 2 usage error\n";
}

std::string memberd_version() { return std::string("gdoi-memberd ") + kVersion + "\n"; }

std::string memberd_usage_error(const std::string& message) {
    return "gdoi-memberd: " + message + "\nTry 'gdoi-memberd --help' for the options.\n";
}

}  // namespace member
