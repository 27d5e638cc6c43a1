// gdoictl monitor: the daemon's events, one line each, until a signal or the daemon's end.
#include "gdoictl/gdoictl_monitor.h"

#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/unique_fd.h"
#include "control/control.h"
#include "control/monitor_event.h"
#include "gdoictl/gdoictl_cli.h"
#include "gdoictl/monitor_text.h"
#include "gdoictl/status_text.h"

namespace member {
namespace {

// SIGINT and SIGTERM blocked and readable on a signalfd while it lives; the old mask after.
class StopSignals {
public:
    StopSignals() {
        sigset_t mask;
        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        ::sigprocmask(SIG_BLOCK, &mask, &old_);
        fd_.reset(::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
    }
    StopSignals(const StopSignals&) = delete;
    StopSignals& operator=(const StopSignals&) = delete;
    ~StopSignals() {
        // Consume what came (a SIGINT left pending would end the process once unblocked).
        signalfd_siginfo si{};
        while (fd_.valid() && ::read(fd_.get(), &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
        }
        fd_.reset();
        ::sigprocmask(SIG_SETMASK, &old_, nullptr);
    }
    int fd() const { return fd_.get(); }

private:
    sigset_t old_{};
    common::UniqueFd fd_;
};

}  // namespace

bool write_stdout_line(std::string_view line) {
    return std::fwrite(line.data(), 1, line.size(), stdout) == line.size() && std::fflush(stdout) == 0;
}

int run_monitor(const MonitorOptions& o, const std::function<bool(std::string_view)>& write,
                std::string& err) {
    StopSignals signals;
    if (signals.fd() < 0) {
        err += std::string("gdoictl: signalfd: ") + std::strerror(errno) + "\n";
        return kExitFailure;
    }
    const std::string request =
        format_control_request(ControlRequest{ControlRequest::Kind::monitor, o.group});
    bool output_failed = false;
    const auto on_line = [&](std::string_view line) {
        std::string text;
        if (o.json) {
            text = std::string(line);
        } else if (auto parsed = parse_monitor_event(line)) {
            text = monitor_event_text(parsed->time_text, parsed->event);
        } else {
            text = "(unreadable event) " + printable(line.substr(0, 200));
        }
        text += '\n';
        if (write(text)) return true;
        output_failed = true;
        return false;
    };
    auto streamed = control_monitor(o.socket, request, on_line, signals.fd(), o.timeout);
    if (!streamed) {
        err += "gdoictl: " + streamed.error().message + "\n";
        return kExitFailure;
    }
    if (output_failed) {
        err += "gdoictl: writing the events failed: " + std::string(std::strerror(errno)) + "\n";
        return kExitFailure;
    }
    return kExitOk;  // SIGINT or SIGTERM
}

}  // namespace member
