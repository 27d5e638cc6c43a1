#include "watch/xfrm_stats.h"

#include <catch2/catch.hpp>

TEST_CASE("xfrm_stat_value reads one counter of /proc/net/xfrm_stat", "[recovery]") {
    const char* text =
        "XfrmInError             \t0\n"
        "XfrmInBufferError       \t0\n"
        "XfrmInNoStates          \t17\n"
        "XfrmInStateProtoError   \t3\n";
    CHECK(member::xfrm_stat_value(text, "XfrmInNoStates") == 17u);
    CHECK(member::xfrm_stat_value(text, "XfrmInStateProtoError") == 3u);
    CHECK_FALSE(member::xfrm_stat_value(text, "XfrmOutNoStates").has_value());
    CHECK_FALSE(member::xfrm_stat_value("", "XfrmInNoStates").has_value());
}
