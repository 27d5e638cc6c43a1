#include <catch2/catch.hpp>
#include <cerrno>

#include "xfrm/netlink.h"

using namespace xfrm;

TEST_CASE("kernel errnos become operator messages", "[errors]") {
    CHECK(operator_hint(EPROTONOSUPPORT, ObjectKind::sa, Family::ipv4) ==
          "kernel has no ESP support: load esp4 (modprobe esp4)");
    CHECK(operator_hint(ENOENT, ObjectKind::sa, Family::ipv6).find("esp6") != std::string::npos);
    CHECK(operator_hint(EPERM, ObjectKind::policy, Family::ipv4).find("CAP_NET_ADMIN") != std::string::npos);
    CHECK(operator_hint(EOPNOTSUPP, ObjectKind::link, Family::ipv4).find("modprobe ipip") !=
          std::string::npos);
    CHECK(operator_hint(EOPNOTSUPP, ObjectKind::link, Family::ipv6).find("modprobe ip6_tunnel") !=
          std::string::npos);
    CHECK(operator_hint(EEXIST, ObjectKind::policy, Family::ipv4).find("already exists") !=
          std::string::npos);
    CHECK(operator_hint(ENOSYS, ObjectKind::sa, Family::ipv4).find("crypto algorithm") != std::string::npos);

    RequestInfo r;
    r.kind = ObjectKind::sa;
    r.what = "add SA spi 0x00001000";
    auto e = request_error(r, EPROTONOSUPPORT, "Requested type not found");
    CHECK(e.code == EPROTONOSUPPORT);
    CHECK(
        e.message ==
        "add SA spi 0x00001000: kernel has no ESP support: load esp4 (modprobe esp4) (kernel: Requested type "
        "not found)");
}

TEST_CASE("already_gone: success and the not-there errnos, nothing else", "[errors]") {
    CHECK(xfrm::already_gone(common::Status{}));
    for (int e : {ENOENT, ESRCH, ENODEV, EADDRNOTAVAIL})
        CHECK(xfrm::already_gone(common::make_error("gone", e)));
    for (int e : {EPERM, EEXIST, EINVAL, ENOBUFS})
        CHECK_FALSE(xfrm::already_gone(common::make_error("other", e)));
}
