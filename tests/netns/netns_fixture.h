// A fresh network namespace per test: created with `ip netns add`, entered by a
// worker thread (setns(CLONE_NEWNET) moves only the calling thread), inspected
// with `ip -n NAME ...`, deleted on destruction. Needs root.
#pragma once

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <exception>
#include <stdexcept>
#include <string>
#include <thread>
#include <optional>
#include <type_traits>

namespace netns_test {

inline std::string capture(const std::string& command) {
    std::string out;
    FILE* p = popen((command + " 2>&1").c_str(), "r");
    if (!p) return out;
    std::array<char, 4096> buf;
    std::size_t n;
    while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
    pclose(p);
    return out;
}

class ScopedNetns {
public:
    ScopedNetns() {
        static std::atomic<int> counter{0};
        name_ = "gdoi-xfrm-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
        if (std::system(("ip netns add " + name_).c_str()) != 0)
            throw std::runtime_error("ip netns add " + name_ + " failed (root needed)");
        ip("link set lo up");
    }
    ~ScopedNetns() { std::system(("ip netns del " + name_ + " 2>/dev/null").c_str()); }
    ScopedNetns(const ScopedNetns&) = delete;
    ScopedNetns& operator=(const ScopedNetns&) = delete;

    const std::string& name() const { return name_; }

    // `ip -n NAME <args>`, stdout and stderr.
    std::string ip(const std::string& args) const { return capture("ip -n " + name_ + " " + args); }

    // Runs fn inside the namespace on a worker thread and returns its result.
    template <typename F>
    auto run(F&& fn) const -> std::invoke_result_t<F> {
        using R = std::invoke_result_t<F>;
        std::optional<R> result;
        std::string failure;
        std::exception_ptr thrown;  // a failed REQUIRE inside fn, rethrown here
        std::thread worker([&] {
            int fd = ::open(("/run/netns/" + name_).c_str(), O_RDONLY | O_CLOEXEC);
            if (fd < 0 || ::setns(fd, CLONE_NEWNET) != 0) {
                failure = "cannot enter netns " + name_;
                if (fd >= 0) ::close(fd);
                return;
            }
            ::close(fd);
            try {
                result.emplace(fn());
            } catch (...) {
                thrown = std::current_exception();
            }
        });
        worker.join();
        if (thrown) std::rethrow_exception(thrown);
        if (!result) throw std::runtime_error(failure);
        return std::move(*result);
    }

private:
    std::string name_;
};

}  // namespace netns_test
