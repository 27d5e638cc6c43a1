// Control requests and replies: the request grammar, {"ok":...} replies and the
// dispatch of a request line to the daemon's handlers.
#include <exception>

#include "control/control.h"
#include "control/gdoictl_json.h"
#include "control/status_json.h"

namespace member {
namespace {

// A request echoed in an error: bounded, control characters replaced.
std::string quote_request(std::string_view line) {
    std::string out;
    for (char c : line.substr(0, 64)) {
        const unsigned char u = static_cast<unsigned char>(c);
        out += (u < 0x20 || u == 0x7F) ? '?' : c;
    }
    if (line.size() > 64) out += "...";
    return "\"" + out + "\"";
}

constexpr std::string_view kExpected = "expected: show, register GROUP, flush";

common::Status check_group_name(std::string_view group) {
    for (char c : group) {
        const unsigned char u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7F) return common::make_error("group name contains a control character");
    }
    return {};
}

}  // namespace

common::Result<ControlRequest> parse_control_request(std::string_view line) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line == "show") return ControlRequest{ControlRequest::Kind::show, {}};
    if (line == "flush") return ControlRequest{ControlRequest::Kind::flush, {}};
    if (line == "register" || line == "register ")
        return common::make_error("register needs a group name: register GROUP");
    if (line.starts_with("register ")) {
        const std::string_view group = line.substr(9);
        if (auto s = check_group_name(group); !s) return s.error();
        return ControlRequest{ControlRequest::Kind::register_group, std::string(group)};
    }
    if (line == "monitor") return ControlRequest{ControlRequest::Kind::monitor, {}};
    if (line.starts_with("monitor ")) {
        const std::string_view group = line.substr(8);
        if (group.empty())
            return common::make_error("monitor takes a group name or nothing: monitor [GROUP]");
        if (auto s = check_group_name(group); !s) return s.error();
        return ControlRequest{ControlRequest::Kind::monitor, std::string(group)};
    }
    return common::make_error("unknown request " + quote_request(line) + " (" + std::string(kExpected) + ")");
}

std::string format_control_request(const ControlRequest& request) {
    switch (request.kind) {
        case ControlRequest::Kind::show:
            return "show";
        case ControlRequest::Kind::flush:
            return "flush";
        case ControlRequest::Kind::register_group:
            return "register " + request.group;
        case ControlRequest::Kind::monitor:
            return request.group.empty() ? "monitor" : "monitor " + request.group;
    }
    return "show";
}

std::string control_ok() {
    json::Json v = json::Json::object();
    v["ok"] = true;
    return json::write(v, /*pretty=*/false);
}

std::string control_error(std::string_view message) {
    json::Json v = json::Json::object();
    v["ok"] = false;
    v["error"] = std::string(message);
    return json::write(v, /*pretty=*/false);
}

std::string dispatch_control_request(const std::string& line, const ControlHandlers& handlers) {
    auto request = parse_control_request(line);
    if (!request) return control_error(request.error().message);
    try {
        switch (request->kind) {
            case ControlRequest::Kind::show:
                if (!handlers.show) return control_error("show is not available");
                return to_json(handlers.show());
            case ControlRequest::Kind::register_group: {
                if (!handlers.register_group) return control_error("register is not available");
                const common::Status s = handlers.register_group(request->group);
                return s ? control_ok() : control_error(s.error().message);
            }
            case ControlRequest::Kind::flush: {
                if (!handlers.flush) return control_error("flush is not available");
                const common::Status s = handlers.flush();
                return s ? control_ok() : control_error(s.error().message);
            }
            case ControlRequest::Kind::monitor: {
                if (!handlers.monitor) return control_error("monitor is not available");
                const common::Status s = handlers.monitor(request->group);
                return s ? control_ok() : control_error(s.error().message);
            }
        }
    } catch (const std::exception& e) {
        return control_error(std::string("internal error: ") + e.what());
    }
    return control_error("unhandled request");
}

namespace {

// {"ok":true} -> true; {"ok":false,"error":"..."} or anything else -> an Error to show.
common::Result<bool> ack_of(const json::Json& v, std::string_view reply) {
    const auto ok = v.is_object() ? v.find("ok") : v.end();
    if (ok == v.end() || !ok->is_boolean())
        return common::make_error("unexpected reply from gdoi-memberd (no \"ok\" field): " +
                                  std::string(reply.substr(0, 120)));
    if (ok->get<bool>()) return true;
    const auto error = v.find("error");
    if (error == v.end() || !error->is_string())
        return common::make_error("gdoi-memberd: request failed (no error message)");
    return common::make_error("gdoi-memberd: " + error->get<std::string>());
}

}  // namespace

common::Status parse_ack_reply(std::string_view reply) {
    auto v = json::parse(reply);
    if (!v) return common::make_error("unreadable reply from gdoi-memberd: " + v.error().message);
    auto ack = ack_of(v->root(), reply);
    if (!ack) return ack.error();
    return {};
}

common::Result<MemberStatus> parse_show_reply(std::string_view reply) {
    auto v = json::parse(reply);
    if (!v) return common::make_error("unreadable reply from gdoi-memberd: " + v.error().message);
    if (v->root().is_object() && v->root().contains("ok")) {
        auto ack = ack_of(v->root(), reply);
        if (!ack) return ack.error();
        return common::make_error("gdoi-memberd answered \"show\" with {\"ok\":true} instead of a status");
    }
    auto status = status_from_json(reply);
    if (!status) return common::make_error("unreadable status from gdoi-memberd: " + status.error().message);
    return status;
}

}  // namespace member
