// One event of `gdoictl monitor`: what happened to a group, when, and the facts an operator
// needs (key server, SEQ, SPIs, reason). Never key material: SPIs are public, keys never
// enter this type. The daemon renders an event as one line of JSON (the wire format of the
// monitor stream, documented in gdoictl(8)); gdoictl parses it back to print text.
//
//   {"time":"2026-12-05T16:40:00.123Z","group":"G","event":"rekey-accepted","server":"10.0.0.2:848",
//    "seq":2,"spis_added":["0x22222222"],"spis_removed":["0x11111111"]}
//
// "time", "group" and "event" are always present; the other fields only when they apply.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace member {

enum class MonitorEventKind {
    registration_started,  // server
    registration_done,     // server, seq, teks
    registration_failed,   // server, reason
    server_failover,       // from, to
    rekey_accepted,        // server, seq, spis_added, spis_removed
    rekey_rejected,        // reason (gdoi::push_reject_name), detail, [server]
    tek_installed,         // spi
    tek_retired,           // spi, [reason]
    sa_soft_expire,        // spi
    sa_hard_expire,        // spi
    recovery_probe,        // probe (1..), reason
    events_lost,           // lost: the stream ends (the reader was too slow), group ""
};

struct MonitorEvent {
    std::chrono::system_clock::time_point time{};
    std::string group;
    MonitorEventKind kind = MonitorEventKind::registration_started;
    std::string server;
    std::string from;
    std::string to;
    std::optional<uint64_t> seq;
    std::optional<uint64_t> teks;
    std::optional<uint32_t> spi;
    std::vector<uint32_t> spis_added;
    std::vector<uint32_t> spis_removed;
    std::string reason;
    std::string detail;
    std::optional<uint64_t> probe;
    std::optional<uint64_t> lost;
};

// "registration-started", "rekey-accepted", ... (the "event" field).
std::string_view monitor_event_name(MonitorEventKind kind);
std::optional<MonitorEventKind> monitor_event_kind(std::string_view name);

// RFC 3339 UTC with milliseconds: "2026-12-05T16:40:00.123Z".
std::string rfc3339_millis(std::chrono::system_clock::time_point t);

// One line of JSON, without the newline.
std::string monitor_event_json(const MonitorEvent& event);
// Reads a line written by monitor_event_json (unknown fields are ignored: newer daemons may
// add some). The time is kept as text in `time_text`.
struct ParsedMonitorEvent {
    MonitorEvent event;
    std::string time_text;
};
common::Result<ParsedMonitorEvent> parse_monitor_event(std::string_view line);

}  // namespace member
