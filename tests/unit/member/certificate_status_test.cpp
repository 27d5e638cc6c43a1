// What gdoictl shows about a certificate and when the daemon warns: notAfter as UTC text, the
// seconds left, and the warning inside the last 30 days (and once expired), ours and the key
// server's each with what to do. The certificates are made at run time (tests/unit/gdoi/test_pki.h).
#include "daemon/certificate_status.h"

#include <catch2/catch.hpp>

#include "../gdoi/test_pki.h"

using member::certificate_status;
using member::CertificateOwner;

namespace {

gdoi::crypto::Certificate certificate_expiring_in(long seconds) {
    gdoi::test::CertSpec spec;
    spec.cn = "gm1.test";
    spec.not_before = -2L * 86400;
    spec.not_after = seconds;
    auto issued = gdoi::test::issue(gdoi::test::make_key("P-256"), spec);
    auto cert = gdoi::crypto::Certificate::parse(issued.der);
    REQUIRE(cert.ok());
    return std::move(*cert);
}

}  // namespace

TEST_CASE("certificate status: notAfter, seconds left, no warning beyond 30 days", "[cert-status]") {
    const auto now = std::chrono::system_clock::now();
    const auto cert = certificate_expiring_in(31L * 86400);
    const auto s = certificate_status(cert, CertificateOwner::ours, now);
    CHECK(s.subject == "CN=gm1.test,O=gdoi-test");
    // The text is notAfter itself: the same instant, read back.
    std::tm tm{};
    REQUIRE(strptime(s.not_after.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm) != nullptr);
    CHECK(timegm(&tm) == cert.not_after());
    CHECK(s.seconds_left > 31ULL * 86400 - 60);
    CHECK(s.seconds_left <= 31ULL * 86400);
    CHECK(s.warning.empty());
}

TEST_CASE("certificate status: the warning within 30 days says when and what to do", "[cert-status]") {
    const auto now = std::chrono::system_clock::now();
    const auto cert = certificate_expiring_in(10L * 86400 - 3600);
    const auto ours = certificate_status(cert, CertificateOwner::ours, now);
    CHECK(ours.warning.starts_with("expires in 9 days, on " + ours.not_after + ": "));
    CHECK(ours.warning.find("renew ike.certificate and reload") != std::string::npos);
    const auto theirs = certificate_status(cert, CertificateOwner::key_server, now);
    CHECK(theirs.warning.find("the key server's operator must renew it") != std::string::npos);
    // The last day counts in hours.
    const auto last_day =
        certificate_status(certificate_expiring_in(5L * 3600 + 60), CertificateOwner::ours, now);
    CHECK(last_day.warning.starts_with("expires in 5 hours"));
    const auto last_hour =
        certificate_status(certificate_expiring_in(20L * 60 + 30), CertificateOwner::ours, now);
    CHECK(last_hour.warning.starts_with("expires in 20 minutes"));
    // Exactly at the 30-day mark it warns.
    const auto at_mark = certificate_status(
        cert, CertificateOwner::ours,
        std::chrono::system_clock::from_time_t(cert.not_after()) - std::chrono::hours(24 * 30));
    CHECK(!at_mark.warning.empty());
    const auto before_mark = certificate_status(cert, CertificateOwner::ours,
                                                std::chrono::system_clock::from_time_t(cert.not_after()) -
                                                    std::chrono::hours(24 * 30) - std::chrono::seconds(1));
    CHECK(before_mark.warning.empty());
}

TEST_CASE("certificate status: expired shows 0 s left and what follows", "[cert-status]") {
    const auto now = std::chrono::system_clock::now();
    const auto cert = certificate_expiring_in(-3600);
    const auto ours = certificate_status(cert, CertificateOwner::ours, now);
    CHECK(ours.seconds_left == 0);
    CHECK(ours.warning.starts_with("expired on " + ours.not_after + ": key servers refuse it"));
    const auto theirs = certificate_status(cert, CertificateOwner::key_server, now);
    CHECK(theirs.warning.find("the next registration with this key server fails") != std::string::npos);
}
