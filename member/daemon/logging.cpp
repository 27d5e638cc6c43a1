#include "daemon/logging.h"

#include <cstdio>

namespace member {
namespace {
gdoi::LogLevel g_min = gdoi::LogLevel::Info;

// sd-daemon priorities: 3 err, 4 warning, 6 info, 7 debug.
int priority(gdoi::LogLevel level) {
    switch (level) {
        case gdoi::LogLevel::Error:
            return 3;
        case gdoi::LogLevel::Warning:
            return 4;
        case gdoi::LogLevel::Info:
            return 6;
        case gdoi::LogLevel::Debug:
            return 7;
    }
    return 6;
}
}  // namespace

void set_log_level(gdoi::LogLevel min_level) { g_min = min_level; }

bool parse_log_level(const std::string& text, gdoi::LogLevel& out) {
    if (text == "debug")
        out = gdoi::LogLevel::Debug;
    else if (text == "info")
        out = gdoi::LogLevel::Info;
    else if (text == "warning")
        out = gdoi::LogLevel::Warning;
    else if (text == "error")
        out = gdoi::LogLevel::Error;
    else
        return false;
    return true;
}

void log_line(gdoi::LogLevel level, const std::string& line) {
    if (level < g_min) return;
    std::fprintf(stderr, "<%d>%s\n", priority(level), line.c_str());
    std::fflush(stderr);
}

gdoi::LogSink log_sink() {
    return [](gdoi::LogLevel level, const std::string& line) { log_line(level, line); };
}

}  // namespace member
