// Notify message types: the RFC 2408 §3.14.1 ranges and the one table of names and hints.
#include "gdoi/notify.h"

#include <catch2/catch.hpp>
#include <string>

using gdoi::NotifyRange;

TEST_CASE("notify types classify by the RFC 2408 ranges at every boundary", "[notify]") {
    struct Range {
        uint16_t first, last;
        NotifyRange range;
    };
    // 8191/8192, 16383/16384, 24575/24576, 32767/32768, 40959/40960 and 65535.
    constexpr Range kRanges[] = {
        {1, 8191, NotifyRange::Error},
        {8192, 16383, NotifyRange::PrivateError},
        {16384, 24575, NotifyRange::Status},
        {24576, 32767, NotifyRange::DoiStatus},
        {32768, 40959, NotifyRange::PrivateStatus},
        {40960, 65535, NotifyRange::Reserved},
    };
    for (const auto& r : kRanges) {
        INFO("range " << r.first << ".." << r.last);
        CHECK(gdoi::classify_notification(r.first) == r.range);
        CHECK(gdoi::classify_notification(r.last) == r.range);
    }
}

TEST_CASE("private-use notify types 8192..16383 are errors", "[notify]") {
    for (uint32_t type = 8192; type <= 16383; ++type) {
        INFO("type " << type);
        REQUIRE(gdoi::classify_notification(static_cast<uint16_t>(type)) == NotifyRange::PrivateError);
        REQUIRE(gdoi::is_error_notification(static_cast<uint16_t>(type)));
    }
    CHECK(gdoi::is_error_notification(8191));
    CHECK_FALSE(gdoi::is_error_notification(16384));
    CHECK_FALSE(gdoi::is_error_notification(24578));  // INITIAL-CONTACT
    CHECK_FALSE(gdoi::is_error_notification(40960));
    CHECK(gdoi::describe_notification(9000) == "private-use error notification 9000");
}

TEST_CASE("every notify table entry has a name and a hint and is found by its type", "[notify]") {
    REQUIRE_FALSE(gdoi::notify_types().empty());
    uint16_t previous = 0;
    for (const auto& row : gdoi::notify_types()) {
        INFO("type " << row.type);
        CHECK(row.type > previous);
        previous = row.type;
        REQUIRE(row.name != nullptr);
        REQUIRE(row.hint != nullptr);
        CHECK_FALSE(std::string(row.name).empty());
        CHECK_FALSE(std::string(row.hint).empty());
        CHECK(gdoi::find_notify_type(row.type) == &row);
        CHECK(gdoi::describe_notification(row.type) == std::string(row.name) + " (" + row.hint + ")");
    }
    CHECK(gdoi::find_notify_type(8000) == nullptr);
}
