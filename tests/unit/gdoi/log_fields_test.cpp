#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "gdoi/log.h"

using gdoi::LogLevel;

TEST_CASE("log fields: group, group id and the SA in logfmt", "[log]") {
    CHECK(gdoi::log_fields({"GROUP_ID-0001", 4242, std::nullopt}) == " group=GROUP_ID-0001 group_id=4242");
    CHECK(gdoi::log_fields({"g", 4294967295u, 0x0f65530eu}) == " group=g group_id=4294967295 spi=0x0f65530e");
    CHECK(gdoi::log_fields({"g", 1, 0x7000u}) == " group=g group_id=1 spi=0x00007000");
}

TEST_CASE("log fields: a value a logfmt parser would split is quoted", "[log]") {
    // Configured names cannot hold these (config/loader.cpp), a caller's string still might.
    CHECK(gdoi::log_fields({"a b", 1, std::nullopt}) == " group=\"a b\" group_id=1");
    CHECK(gdoi::log_fields({"k=v", 1, std::nullopt}) == " group=\"k=v\" group_id=1");
    CHECK(gdoi::log_fields({"say \"hi\"\\", 1, std::nullopt}) == " group=\"say \\\"hi\\\"\\\\\" group_id=1");
    CHECK(gdoi::log_fields({"", 1, std::nullopt}) == " group=\"\" group_id=1");
    // A control character never reaches the line raw: a forged second line is impossible.
    CHECK(gdoi::log_fields({"a\nb\tc\rd\x01", 1, std::nullopt}) == " group=\"a\\nb\\tc\\rd?\" group_id=1");
}

TEST_CASE("group_line: the human text first, the fields last", "[log]") {
    CHECK(gdoi::group_line("G", 7, "keyed: group traffic encrypted", 0x1234u) ==
          "group G: keyed: group traffic encrypted group=G group_id=7 spi=0x00001234");
    CHECK(gdoi::group_line("G", 7, "added") == "group G: added group=G group_id=7");
}

TEST_CASE("with_group_fields: every line passed on ends with the group's fields", "[log]") {
    std::vector<std::pair<LogLevel, std::string>> seen;
    const gdoi::LogSink sink = [&](LogLevel level, const std::string& line) {
        seen.emplace_back(level, line);
    };
    const auto group_sink = gdoi::with_group_fields(sink, "G2", 4343);
    group_sink(LogLevel::Info, "phase1 10.0.0.1:848: IKE SA established");
    group_sink(LogLevel::Warning, "pull 10.0.0.1:848 group 4343: retransmitting");
    REQUIRE(seen.size() == 2);
    CHECK(seen[0] ==
          std::pair{LogLevel::Info,
                    std::string("phase1 10.0.0.1:848: IKE SA established group=G2 group_id=4343")});
    CHECK(seen[1].first == LogLevel::Warning);
    CHECK(seen[1].second == "pull 10.0.0.1:848 group 4343: retransmitting group=G2 group_id=4343");
    // No sink, no wrapper: callers test the sink before formatting a line.
    CHECK_FALSE(gdoi::with_group_fields(gdoi::LogSink{}, "G", 1));
}
