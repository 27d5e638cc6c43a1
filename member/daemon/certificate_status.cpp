#include "daemon/certificate_status.h"

#include <algorithm>
#include <ctime>

namespace member {
namespace {

std::string utc_text(int64_t unix_seconds) {
    const std::time_t t = static_cast<std::time_t>(unix_seconds);
    std::tm tm{};
    char buf[32] = "?";
    if (::gmtime_r(&t, &tm) != nullptr) std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::string days_text(int64_t seconds) {
    const int64_t days = seconds / 86400;
    if (days >= 1) return std::to_string(days) + (days == 1 ? " day" : " days");
    const int64_t hours = seconds / 3600;
    if (hours >= 1) return std::to_string(hours) + (hours == 1 ? " hour" : " hours");
    const int64_t minutes = std::max<int64_t>(1, seconds / 60);
    return std::to_string(minutes) + (minutes == 1 ? " minute" : " minutes");
}

}  // namespace

CertificateStatus certificate_status(const gdoi::crypto::Certificate& cert, CertificateOwner owner,
                                     std::chrono::system_clock::time_point now) {
    CertificateStatus s;
    s.subject = cert.subject();
    const int64_t not_after = cert.not_after();
    s.not_after = utc_text(not_after);
    const int64_t left =
        not_after - std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
    s.seconds_left = left > 0 ? static_cast<uint64_t>(left) : 0;
    const bool ours = owner == CertificateOwner::ours;
    if (left <= 0)
        s.warning =
            "expired on " + s.not_after +
            (ours ? ": key servers refuse it; install a renewed ike.certificate and reload "
                    "(systemctl reload gdoi-memberd)"
                  : ": the next registration with this key server fails until its operator renews it");
    else if (left <= std::chrono::duration_cast<std::chrono::seconds>(kCertificateWarning).count())
        s.warning =
            "expires in " + days_text(left) + ", on " + s.not_after +
            (ours ? ": renew ike.certificate and reload (systemctl reload gdoi-memberd)"
                  : ": the key server's operator must renew it before then, or registrations with it fail");
    return s;
}

}  // namespace member
