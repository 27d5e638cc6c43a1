// Runs `fn` in a child process and tells whether it returned true within `limit`: a reader
// that blocks (a FIFO opened without O_NONBLOCK) or crashes (a stack overflow) fails the
// check instead of hanging or killing the test binary.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <thread>

namespace member_test {

inline bool finishes_within(std::chrono::milliseconds limit, const std::function<bool()>& fn) {
    const pid_t pid = ::fork();
    if (pid < 0) return false;
    if (pid == 0) ::_exit(fn() ? 0 : 1);
    const auto deadline = std::chrono::steady_clock::now() + limit;
    int status = 0;
    while (::waitpid(pid, &status, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() > deadline) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &status, 0);
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace member_test
