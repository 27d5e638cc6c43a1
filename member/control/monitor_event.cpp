// The monitor stream's line format: MonitorEvent <-> one line of JSON.
#include "control/monitor_event.h"

#include <array>
#include <cstdio>
#include <ctime>
#include <utility>

#include "common/hex_spi.h"
#include "control/gdoictl_json.h"

namespace member {
namespace {

constexpr std::array<std::pair<MonitorEventKind, std::string_view>, 12> kNames{{
    {MonitorEventKind::registration_started, "registration-started"},
    {MonitorEventKind::registration_done, "registration-done"},
    {MonitorEventKind::registration_failed, "registration-failed"},
    {MonitorEventKind::server_failover, "server-failover"},
    {MonitorEventKind::rekey_accepted, "rekey-accepted"},
    {MonitorEventKind::rekey_rejected, "rekey-rejected"},
    {MonitorEventKind::tek_installed, "tek-installed"},
    {MonitorEventKind::tek_retired, "tek-retired"},
    {MonitorEventKind::sa_soft_expire, "sa-soft-expire"},
    {MonitorEventKind::sa_hard_expire, "sa-hard-expire"},
    {MonitorEventKind::recovery_probe, "recovery-probe"},
    {MonitorEventKind::events_lost, "events-lost"},
}};

json::Json spi_list(const std::vector<uint32_t>& spis) {
    json::Json a = json::Json::array();
    for (uint32_t spi : spis) a.push_back(common::hex_spi(spi));
    return a;
}

// "0x0000abcd" -> 0xabcd; nullopt for anything else.
std::optional<uint32_t> spi_of(const json::Json& v) {
    if (!v.is_string()) return std::nullopt;
    const std::string& s = v.get_ref<const std::string&>();
    if (s.size() != 10 || s[0] != '0' || s[1] != 'x') return std::nullopt;
    uint32_t spi = 0;
    for (char c : s.substr(2)) {
        uint32_t d = 0;
        if (c >= '0' && c <= '9')
            d = static_cast<uint32_t>(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = static_cast<uint32_t>(c - 'a' + 10);
        else
            return std::nullopt;
        spi = spi << 4 | d;
    }
    return spi;
}

}  // namespace

std::string_view monitor_event_name(MonitorEventKind kind) {
    for (const auto& [k, name] : kNames)
        if (k == kind) return name;
    return "unknown";
}

std::optional<MonitorEventKind> monitor_event_kind(std::string_view name) {
    for (const auto& [k, n] : kNames)
        if (n == name) return k;
    return std::nullopt;
}

std::string rfc3339_millis(std::chrono::system_clock::time_point t) {
    using namespace std::chrono;
    const auto ms = duration_cast<milliseconds>(t.time_since_epoch()).count();
    const std::time_t secs = static_cast<std::time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    const int millis = static_cast<int>(ms - static_cast<int64_t>(secs) * 1000);
    std::tm tm{};
    ::gmtime_r(&secs, &tm);
    char buf[96];  // room for any int the format could get
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
    return buf;
}

std::string monitor_event_json(const MonitorEvent& e) {
    json::Json v = json::Json::object();
    v["time"] = rfc3339_millis(e.time);
    v["group"] = e.group;
    v["event"] = std::string(monitor_event_name(e.kind));
    if (!e.server.empty()) v["server"] = e.server;
    if (!e.from.empty()) v["from"] = e.from;
    if (!e.to.empty()) v["to"] = e.to;
    if (e.seq) v["seq"] = *e.seq;
    if (e.teks) v["teks"] = *e.teks;
    if (e.spi) v["spi"] = common::hex_spi(*e.spi);
    if (e.kind == MonitorEventKind::rekey_accepted) {
        v["spis_added"] = spi_list(e.spis_added);
        v["spis_removed"] = spi_list(e.spis_removed);
    }
    if (e.probe) v["probe"] = *e.probe;
    if (e.lost) v["lost"] = *e.lost;
    if (!e.reason.empty()) v["reason"] = e.reason;
    if (!e.detail.empty()) v["detail"] = e.detail;
    return json::write(v, /*pretty=*/false);
}

common::Result<ParsedMonitorEvent> parse_monitor_event(std::string_view line) {
    auto doc = json::parse(line);
    if (!doc) return common::make_error("unreadable event: " + doc.error().message);
    const json::Json& v = doc->root();
    if (!v.is_object()) return common::make_error("unreadable event: not a JSON object");
    const auto text = [&](const char* key) -> std::string {
        const auto it = v.find(key);
        return it != v.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    const auto number = [&](const char* key) -> std::optional<uint64_t> {
        const auto it = v.find(key);
        if (it == v.end() || !it->is_number_unsigned()) return std::nullopt;
        return it->get<uint64_t>();
    };
    const auto spis = [&](const char* key) {
        std::vector<uint32_t> out;
        const auto it = v.find(key);
        if (it == v.end() || !it->is_array()) return out;
        for (const auto& s : *it)
            if (auto spi = spi_of(s)) out.push_back(*spi);
        return out;
    };
    ParsedMonitorEvent p;
    p.time_text = text("time");
    const std::string name = text("event");
    const auto kind = monitor_event_kind(name);
    if (p.time_text.empty() || !kind || !v.contains("group"))
        return common::make_error("unreadable event (time, group or event missing or unknown): " +
                                  std::string(line.substr(0, 120)));
    MonitorEvent& e = p.event;
    e.kind = *kind;
    e.group = text("group");
    e.server = text("server");
    e.from = text("from");
    e.to = text("to");
    e.seq = number("seq");
    e.teks = number("teks");
    if (const auto it = v.find("spi"); it != v.end()) e.spi = spi_of(*it);
    e.spis_added = spis("spis_added");
    e.spis_removed = spis("spis_removed");
    e.probe = number("probe");
    e.lost = number("lost");
    e.reason = text("reason");
    e.detail = text("detail");
    return p;
}

}  // namespace member
