// group_sa_traffic: a dump of the member's SAs -> the group's SAs with direction and counters.
#include "dataplane/sa_traffic.h"

#include <catch2/catch.hpp>
#include <vector>

using member::SaTraffic;

TEST_CASE("the group's SAs from a dump: direction by destination, other SPIs left out", "[one_way]") {
    const auto g_in = xfrm::Address::ipv4(169, 254, 0, 71);
    const auto g_out = xfrm::Address::ipv4(169, 254, 0, 72);
    auto sa = [](uint32_t spi, xfrm::Address src, xfrm::Address dst, uint64_t packets) {
        xfrm::SaState s;
        s.spi = spi;
        s.src = src;
        s.dst = dst;
        s.packets = packets;
        s.bytes = packets * 100;
        return s;
    };
    const std::vector<xfrm::SaState> dump{sa(0x100, g_in, g_out, 7),    // outbound of TEK 0x100
                                          sa(0x100, g_out, g_in, 3),    // inbound of TEK 0x100
                                          sa(0x200, g_out, g_in, 9),    // inbound only (activating)
                                          sa(0x300, g_in, g_out, 99)};  // another group's TEK
    const std::vector<uint32_t> spis{0x100, 0x200};
    const auto got = member::group_sa_traffic(dump, spis, g_out);
    CHECK(got ==
          std::vector<SaTraffic>{{0x100, true, 7, 700}, {0x100, false, 3, 300}, {0x200, false, 9, 900}});
    CHECK(member::group_sa_traffic(dump, {}, g_out).empty());
}
