// Restart adoption's decision (member/dataplane/dataplane_adoption.h): per family, exactly the
// SAs the group saved, and none where it saved none; a dual-stack group whole or not at all.
#include "dataplane/dataplane_adoption.h"

#include <catch2/catch.hpp>

using namespace member;
using common::IpAddress;
using common::IpFamily;

namespace {

const IpAddress kGin4 = *IpAddress::parse("169.254.0.71");
const IpAddress kGout4 = *IpAddress::parse("169.254.0.74");
const IpAddress kGin6 = *IpAddress::parse("100::47");
const IpAddress kGout6 = *IpAddress::parse("100::4a");
constexpr uint32_t kReqid4 = 0x47440002, kReqid6 = 0x47440102;

std::vector<CarrierFacts> carriers(bool v4_device = true, bool v6_device = true) {
    return {{IpFamily::ipv4, kReqid4, kGin4, kGout4, v4_device},
            {IpFamily::ipv6, kReqid6, kGin6, kGout6, v6_device}};
}

xfrm::SaState sa(uint32_t reqid, const IpAddress& dst, uint32_t spi) {
    xfrm::SaState s;
    s.reqid = reqid;
    s.dst = dst;
    s.spi = spi;
    s.transform = xfrm::EspTransform{};
    return s;
}

// The kernel state of a dual-stack group sending with 0x4001 (IPv4) and 0x6001 (IPv6), 0x6000
// still received.
std::vector<xfrm::SaState> dual_stack_sas() {
    return {sa(kReqid4, kGin4, 0x4001), sa(kReqid4, kGout4, 0x4001), sa(kReqid6, kGin6, 0x6000),
            sa(kReqid6, kGin6, 0x6001), sa(kReqid6, kGout6, 0x6001)};
}

SavedGroup saved(std::optional<SavedPlane> v4, std::optional<SavedPlane> v6) {
    return {1, "G", 1, std::move(v4), std::move(v6), {}, {}};
}

}  // namespace

TEST_CASE("adoption: a dual-stack group as saved keeps both families", "[adoption]") {
    const auto g = saved(SavedPlane{0x4001, {0x4001}}, SavedPlane{0x6001, {0x6000, 0x6001}});
    const auto planes = adoptable_planes(g, dual_stack_sas(), carriers());
    REQUIRE(planes);
    REQUIRE(planes->size() == 2);
    CHECK((*planes)[0].family == IpFamily::ipv4);
    CHECK((*planes)[0].active == 0x4001);
    CHECK((*planes)[0].inbound == std::vector<uint32_t>{0x4001});
    CHECK((*planes)[1].family == IpFamily::ipv6);
    CHECK((*planes)[1].active == 0x6001);
    CHECK((*planes)[1].inbound == std::vector<uint32_t>{0x6000, 0x6001});
    CHECK((*planes)[1].transform);
}

TEST_CASE("adoption: one family not as saved and the whole group is not adopted", "[adoption]") {
    const auto g = saved(SavedPlane{0x4001, {0x4001}}, SavedPlane{0x6001, {0x6000, 0x6001}});
    // The IPv6 carrier device is gone.
    CHECK_FALSE(adoptable_planes(g, dual_stack_sas(), carriers(true, false)));
    // An IPv6 inbound SA expired since.
    auto sas = dual_stack_sas();
    sas.erase(sas.begin() + 2);  // 0x6000
    CHECK_FALSE(adoptable_planes(g, sas, carriers()));
    // The IPv4 outbound SA is another one (a rekey step half done).
    sas = dual_stack_sas();
    sas[1].spi = 0x4002;
    CHECK_FALSE(adoptable_planes(g, sas, carriers()));
    // Two outbound SAs in one carrier.
    sas = dual_stack_sas();
    sas.push_back(sa(kReqid6, kGout6, 0x6000));
    CHECK_FALSE(adoptable_planes(g, sas, carriers()));
}

TEST_CASE("adoption: a family saved without SAs must send with none", "[adoption]") {
    // Saved as IPv4 only (a version-1 file, or IPv6 not sending then): the IPv6 carrier's outbound
    // SA is unknown to the state.
    const auto v4_only = saved(SavedPlane{0x4001, {0x4001}}, std::nullopt);
    CHECK_FALSE(adoptable_planes(v4_only, dual_stack_sas(), carriers()));
    // Only inbound IPv6 SAs left over: the IPv4 family is adopted alone.
    auto sas = dual_stack_sas();
    sas.pop_back();  // the IPv6 outbound SA
    const auto planes = adoptable_planes(v4_only, sas, carriers(true, false));
    REQUIRE(planes);
    REQUIRE(planes->size() == 1);
    CHECK((*planes)[0].family == IpFamily::ipv4);
    // An IPv6-only group.
    const auto v6_only = saved(std::nullopt, SavedPlane{0x6001, {0x6000, 0x6001}});
    sas = dual_stack_sas();
    CHECK_FALSE(adoptable_planes(v6_only, sas, carriers()));  // the IPv4 carrier sends
    sas.erase(sas.begin(), sas.begin() + 2);
    const auto v6 = adoptable_planes(v6_only, sas, carriers(false, true));
    REQUIRE(v6);
    REQUIRE(v6->size() == 1);
    CHECK((*v6)[0].family == IpFamily::ipv6);
}

TEST_CASE("adoption: an active SPI without its inbound SA, or a group saved without SAs, is refused",
          "[adoption]") {
    // The file says 0x4001 sends but lists no inbound SA for it (and the kernel has none).
    const auto g = saved(SavedPlane{0x4001, {}}, std::nullopt);
    const std::vector<xfrm::SaState> sas{sa(kReqid4, kGout4, 0x4001)};
    CHECK_FALSE(adoptable_planes(g, sas, carriers()));
    CHECK_FALSE(adoptable_planes(saved(std::nullopt, std::nullopt), {}, carriers()));
    // Another group's SAs (another reqid) in the kernel do not count for this one.
    auto other = dual_stack_sas();
    other.push_back(sa(0x47440003, kGout4, 0x9999));
    CHECK(adoptable_planes(saved(SavedPlane{0x4001, {0x4001}}, SavedPlane{0x6001, {0x6000, 0x6001}}), other,
                           carriers()));
}
