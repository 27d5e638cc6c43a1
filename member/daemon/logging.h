// Daemon log lines on stderr in the form journald understands ("<N>" priority prefix,
// sd-daemon(3)), one line per event, never key material.
#pragma once

#include <string>

#include "gdoi/log.h"

namespace member {

void set_log_level(gdoi::LogLevel min_level);
bool parse_log_level(const std::string& text, gdoi::LogLevel& out);
void log_line(gdoi::LogLevel level, const std::string& line);
gdoi::LogSink log_sink();

}  // namespace member
