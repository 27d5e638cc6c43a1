#include "daemon/logging.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>

namespace member {
namespace {
gdoi::LogLevel g_min = gdoi::LogLevel::Info;

bool stderr_is_journal() {
    struct stat st {};
    return fstat(STDERR_FILENO, &st) == 0 &&
           is_journal_stream(std::getenv("JOURNAL_STREAM"), st.st_dev, st.st_ino);
}

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

std::string format_log_line(gdoi::LogLevel level, std::string_view line, std::optional<timespec> monotonic) {
    char prefix[48];
    if (monotonic)
        std::snprintf(prefix, sizeof prefix, "<%d>[%5jd.%06ld] ", priority(level),
                      static_cast<intmax_t>(monotonic->tv_sec), monotonic->tv_nsec / 1000);
    else
        std::snprintf(prefix, sizeof prefix, "<%d>", priority(level));
    std::string out = prefix;
    out.append(line);
    out.push_back('\n');
    return out;
}

bool is_journal_stream(const char* journal_stream, dev_t stderr_device, ino_t stderr_inode) {
    if (!journal_stream) return false;
    unsigned long long device = 0, inode = 0;
    char rest = 0;
    if (std::sscanf(journal_stream, "%llu:%llu%c", &device, &inode, &rest) != 2) return false;
    return device == static_cast<unsigned long long>(stderr_device) &&
           inode == static_cast<unsigned long long>(stderr_inode);
}

void log_line(gdoi::LogLevel level, const std::string& line) {
    if (level < g_min) return;
    static const bool journal = stderr_is_journal();
    std::optional<timespec> now;
    if (!journal) {
        timespec ts{};
        clock_gettime(CLOCK_MONOTONIC, &ts);
        now = ts;
    }
    const std::string text = format_log_line(level, line, now);
    std::fwrite(text.data(), 1, text.size(), stderr);
    std::fflush(stderr);
}

gdoi::LogSink log_sink() {
    return [](gdoi::LogLevel level, const std::string& line) { log_line(level, line); };
}

}  // namespace member
