// Daemon log lines on stderr, one line per event, never key material. Each line starts with
// the "<N>" priority prefix journald understands (sd-daemon(3)). When stderr is not the journal
// (a terminal, a file, a test harness), a CLOCK_MONOTONIC timestamp follows it, in seconds like
// the kernel's own log, so lines can be timed against each other and against `ip monitor` /
// captures; under systemd journald stamps each line itself.
#pragma once

#include <ctime>
#include <optional>
#include <string>
#include <string_view>

#include "gdoi/log.h"

namespace member {

void set_log_level(gdoi::LogLevel min_level);
bool parse_log_level(const std::string& text, gdoi::LogLevel& out);
void log_line(gdoi::LogLevel level, const std::string& line);
gdoi::LogSink log_sink();

// "<6>[  123.456789] text" with a timestamp, "<6>text" without.
std::string format_log_line(gdoi::LogLevel level, std::string_view line, std::optional<timespec> monotonic);
// Whether stderr is the journal: systemd sets JOURNAL_STREAM to "<device>:<inode>" of the
// stream it connected, and it is still stderr only if stderr's fstat() matches (systemd.exec(5)).
bool is_journal_stream(const char* journal_stream, dev_t stderr_device, ino_t stderr_inode);

}  // namespace member
