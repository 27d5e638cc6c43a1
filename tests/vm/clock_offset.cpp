// clock-offset.so — a test fixture: preloaded (LD_PRELOAD) into one process, it puts that
// process's wall clock off by GDOI_CLOCK_OFFSET seconds (e.g. "+150", "-30"), the kernel's clock
// and every other process untouched: a member whose NTP is broken, for vm_anti_replay's skew proof.
//
// Why not libfaketime: preloaded into the sanitized daemon, its initialisation (locks, dlsym, its
// own clock calls) hung the daemon's start in CI while it passed here. This fixture has no
// initialisation and no state: each call reads the clock with the system call and adds the
// offset. CLOCK_MONOTONIC (the daemon's timers) and the kernel's timestamps stay true.
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>

namespace {

time_t offset_seconds() {
    const char* text = std::getenv("GDOI_CLOCK_OFFSET");
    return text != nullptr ? static_cast<time_t>(std::strtol(text, nullptr, 10)) : 0;
}

bool is_wall_clock(clockid_t id) {
    return id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE || id == CLOCK_REALTIME_ALARM ||
           id == CLOCK_TAI;
}

}  // namespace

extern "C" {

int clock_gettime(clockid_t id, struct timespec* ts) noexcept {
    const long rc = syscall(SYS_clock_gettime, id, ts);
    if (rc == 0 && is_wall_clock(id)) ts->tv_sec += offset_seconds();
    return static_cast<int>(rc);
}

int gettimeofday(struct timeval* tv, void* /*tz*/) noexcept {
    struct timespec ts {};
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0) return -1;
    *tv = timeval{ts.tv_sec, ts.tv_nsec / 1000};  // glibc declares tv nonnull
    return 0;
}

time_t time(time_t* out) noexcept {
    struct timespec ts {};
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0) return static_cast<time_t>(-1);
    if (out != nullptr) *out = ts.tv_sec;
    return ts.tv_sec;
}

}  // extern "C"
