// `gdoictl monitor [--json] [--group NAME]`: follows gdoi-memberd's event stream (control.h
// "monitor") and prints one line per event until SIGINT/SIGTERM (exit 0) or until the daemon
// closes the stream (exit 1, with a message).
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

namespace member {

struct MonitorOptions {
    std::string socket;
    std::chrono::milliseconds timeout{5000};  // connecting and the daemon's first reply
    std::string group;                        // empty: every group
    bool json = false;                        // the daemon's JSON lines as they come
};

// write: one output line (with its newline); false when it could not be written.
int run_monitor(const MonitorOptions& options, const std::function<bool(std::string_view)>& write,
                std::string& err);

// Writes to stdout and flushes (each line is visible at once, also in a pipe or file).
bool write_stdout_line(std::string_view line);

}  // namespace member
