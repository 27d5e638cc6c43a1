// gdoictl: parse the command line, ask gdoi-memberd over the control socket, print.
// The daemon always sends the whole status; views, --group and the output format (--json,
// --format) are applied here, --output writes the result to a file instead of stdout.
#include "gdoictl/gdoictl_cli.h"

#include <array>
#include <charconv>
#include <chrono>
#include <optional>
#include <string_view>

#include "common/command_line.h"
#include "control/control.h"
#include "control/status_json.h"
#include "control/version.h"
#include "gdoictl/atomic_file.h"
#include "gdoictl/gdoictl_monitor.h"
#include "gdoictl/prometheus_text.h"
#include "gdoictl/status_text.h"

namespace member {
namespace {

struct Options {
    std::string socket{kDefaultControlSocket};
    std::chrono::milliseconds timeout = kControlDefaultTimeout;
    std::optional<std::string> group;
    enum class Format { text, json, prometheus };
    Format format = Format::text;
    bool json = false;                       // --json: the same as --format json
    std::optional<std::string> format_name;  // --format as given
    std::optional<std::string> output;       // --output FILE
    bool help = false;
    bool version = false;
    std::vector<std::string> words;
};

struct UsageError {
    std::string message;
};

bool has_control_character(const std::string& s) {
    for (char c : s)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) return true;
    return false;
}

constexpr std::array<common::OptionSpec, 8> kOptions{{
    {"socket", 's', true},
    {"timeout", 0, true},
    {"group", 0, true},
    {"json", 0, false},
    {"format", 0, true},
    {"output", 0, true},
    {"help", 'h', false},
    {"version", 'V', false},
}};

common::Result<Options> parse_options(const std::vector<std::string>& args) {
    auto parsed = common::parse_command_line(args, kOptions);
    if (!parsed) return parsed.error();
    Options o;
    o.words = std::move(parsed->operands);
    for (const auto& [spec, value] : parsed->options) {
        const std::string_view name = spec->long_name;
        if (name == "help") {
            o.help = true;
        } else if (name == "version") {
            o.version = true;
        } else if (name == "json") {
            o.json = true;
        } else if (name == "format") {
            if (value != "text" && value != "json" && value != "prometheus")
                return common::make_error("--format takes text, json or prometheus, not \"" +
                                          printable(value) + "\"");
            o.format_name = value;
        } else if (name == "output") {
            if (value.empty() || has_control_character(value))
                return common::make_error("invalid --output path");
            o.output = value;
        } else if (name == "socket") {
            if (value.empty()) return common::make_error("the socket path is empty");
            o.socket = value;
        } else if (name == "group") {
            if (value.empty() || has_control_character(value))
                return common::make_error("invalid group name");
            o.group = value;
        } else if (name == "timeout") {
            unsigned seconds = 0;
            const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
            if (ec != std::errc{} || end != value.data() + value.size() || seconds == 0 || seconds > 3600)
                return common::make_error("--timeout takes whole seconds from 1 to 3600, not \"" + value +
                                          "\"");
            o.timeout = std::chrono::seconds(seconds);
        }
    }
    if (o.json && o.format_name && *o.format_name != "json")
        return common::make_error("--json conflicts with --format " + *o.format_name);
    if (o.json || o.format_name == "json") o.format = Options::Format::json;
    if (o.format_name == "prometheus") o.format = Options::Format::prometheus;
    return o;
}

std::string group_list(const MemberStatus& status) {
    if (status.groups.empty()) return "none configured";
    std::string out;
    for (const GroupStatus& g : status.groups) out += (out.empty() ? "" : ", ") + printable(g.name);
    return "groups: " + out;
}

int show(const Options& o, const ShowView& view, std::string& out, std::string& err) {
    auto reply = control_request(o.socket, "show", o.timeout);
    if (!reply) {
        err += "gdoictl: " + reply.error().message + "\n";
        return kExitFailure;
    }
    auto status = parse_show_reply(*reply);
    if (!status) {
        err += "gdoictl: " + status.error().message + "\n";
        return kExitFailure;
    }
    ViewFilter filter;
    if (o.group) {
        filter.group = *o.group;
        if (selected_groups(*status, filter).empty()) {
            err += "gdoictl: no group named \"" + printable(*o.group) + "\" (" + group_list(*status) + ")\n";
            return kExitFailure;
        }
    }
    std::string text;
    if (o.format == Options::Format::json) {
        MemberStatus selected = *status;
        selected.groups.clear();
        for (const GroupStatus* g : selected_groups(*status, filter)) selected.groups.push_back(*g);
        text = to_json(selected);
    } else if (o.format == Options::Format::prometheus) {
        text = render_prometheus(*status, filter);
    } else {
        text = view.render(*status, filter);
    }
    if (!o.output) {
        out += text;
        return kExitOk;
    }
    if (auto written = write_file_atomically(*o.output, text, 0644); !written) {
        err += "gdoictl: " + written.error().message + "\n";
        return kExitFailure;
    }
    return kExitOk;
}

int act(const Options& o, const ControlRequest& request, const std::string& done, std::string& out,
        std::string& err) {
    auto reply = control_request(o.socket, format_control_request(request), o.timeout);
    if (!reply) {
        err += "gdoictl: " + reply.error().message + "\n";
        return kExitFailure;
    }
    if (auto ack = parse_ack_reply(*reply); !ack) {
        err += "gdoictl: " + ack.error().message + "\n";
        return kExitFailure;
    }
    out += done;
    return kExitOk;
}

int usage_error(const std::string& message, std::string& err) {
    err += "gdoictl: " + message + "\nTry 'gdoictl --help' for the commands and options.\n";
    return kExitUsage;
}

}  // namespace

std::string gdoictl_usage() {
    std::string views;
    for (const ShowView& v : show_views())
        views += "    " + std::string(v.name) + std::string(9 - v.name.size(), ' ') + std::string(v.summary) +
                 "\n";
    return "usage: gdoictl [-s SOCKET] [--timeout SECONDS] COMMAND\n"
           "       gdoictl --help | --version\n"
           "commands:\n"
           "  show [VIEW] [--group NAME] [--json | --format FORMAT] [--output FILE]\n"
           "                                        show the member's state (VIEW defaults to groups)\n" +
           views +
           "  register GROUP                        register with the group's key server now "
           "(GROUPKEY-PULL)\n"
           "  flush                                 remove every SA, policy and rule gdoi-memberd installed\n"
           "  monitor [--group NAME] [--json]       follow the daemon's events as they happen (until ^C)\n"
           "options:\n"
           "  -s, --socket PATH   control socket (default " +
           std::string(kDefaultControlSocket) +
           ")\n"
           "  --timeout SECONDS   how long to wait for gdoi-memberd (default 5)\n"
           "  --json              print the status as JSON (schema: gdoictl(8)), with --group: that group "
           "only;\n"
           "                      monitor: one JSON object per event and line\n"
           "  --format FORMAT     text (the view, default), json (as --json) or prometheus (the metrics\n"
           "                      in the Prometheus text format 0.0.4, gdoictl(8))\n"
           "  --output FILE       write to FILE (replaced atomically, mode 0644) instead of stdout\n"
           "  -h, --help          show this help and exit\n"
           "  -V, --version       show the version and exit\n"
           "exit status: 0 success, 1 failure, 2 usage error\n";
}

std::string gdoictl_version() { return std::string("gdoictl ") + kVersion + "\n"; }

int gdoictl_main(const std::vector<std::string>& args, std::string& out, std::string& err) {
    auto parsed = parse_options(args);
    if (!parsed) return usage_error(parsed.error().message, err);
    const Options& o = *parsed;
    if (o.help || (!o.words.empty() && o.words[0] == "help")) {
        out += gdoictl_usage();
        return kExitOk;
    }
    if (o.version) {
        out += gdoictl_version();
        return kExitOk;
    }
    if (o.words.empty()) return usage_error("no command given", err);

    const std::string& command = o.words[0];
    if (command != "show" && command != "monitor" && (o.json || o.group))
        return usage_error("--json and --group only apply to show and monitor", err);
    if (command != "show" && (o.format_name || o.output))
        return usage_error("--format and --output only apply to show", err);

    if (command == "show") {
        if (o.words.size() > 2)
            return usage_error("show takes one view, got \"" + o.words[2] + "\" too", err);
        const std::string name = o.words.size() == 2 ? o.words[1] : "groups";
        const ShowView* view = find_show_view(name);
        if (view == nullptr) {
            std::string names;
            for (const ShowView& v : show_views()) names += (names.empty() ? "" : ", ") + std::string(v.name);
            return usage_error("unknown view \"" + printable(name) + "\" (views: " + names + ")", err);
        }
        return show(o, *view, out, err);
    }
    if (command == "register") {
        if (o.words.size() != 2) return usage_error("usage: gdoictl register GROUP", err);
        const std::string& group = o.words[1];
        if (group.empty() || has_control_character(group)) return usage_error("invalid group name", err);
        return act(o, ControlRequest{ControlRequest::Kind::register_group, group},
                   "registration of group " + group + " started\n", out, err);
    }
    if (command == "flush") {
        if (o.words.size() != 1) return usage_error("flush takes no arguments", err);
        return act(o, ControlRequest{ControlRequest::Kind::flush, {}},
                   "flushed: gdoi-memberd removed everything it installed\n", out, err);
    }
    if (command == "monitor") {
        if (o.words.size() != 1) return usage_error("monitor takes no arguments (--group NAME filters)", err);
        MonitorOptions m;
        m.socket = o.socket;
        m.timeout = o.timeout;
        m.group = o.group.value_or(std::string());
        m.json = o.format == Options::Format::json;
        return run_monitor(m, write_stdout_line, err);
    }
    return usage_error("unknown command \"" + printable(command) + "\"", err);
}

}  // namespace member
