// Log lines: the journald priority prefix always, a monotonic timestamp unless stderr is the journal.
#include "daemon/logging.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>

using member::format_log_line;
using member::is_journal_stream;

TEST_CASE("log lines carry the priority, and a monotonic timestamp off the journal") {
    CHECK(format_log_line(gdoi::LogLevel::Info, "group A: registered", std::nullopt) ==
          "<6>group A: registered\n");
    CHECK(format_log_line(gdoi::LogLevel::Error, "x", timespec{12, 3456789}) == "<3>[   12.003456] x\n");
    CHECK(format_log_line(gdoi::LogLevel::Debug, "y", timespec{123456, 999999999}) ==
          "<7>[123456.999999] y\n");
}

TEST_CASE("stderr is the journal only when JOURNAL_STREAM names its device and inode") {
    CHECK(is_journal_stream("8:1234", 8, 1234));
    CHECK_FALSE(is_journal_stream(nullptr, 8, 1234));
    CHECK_FALSE(is_journal_stream("8:1235", 8, 1234));  // stderr was redirected after systemd set it
    CHECK_FALSE(is_journal_stream("9:1234", 8, 1234));
    CHECK_FALSE(is_journal_stream("8:1234x", 8, 1234));
    CHECK_FALSE(is_journal_stream("", 8, 1234));
    struct stat st {};
    REQUIRE(fstat(STDERR_FILENO, &st) == 0);
    const std::string mine = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
    CHECK(is_journal_stream(mine.c_str(), st.st_dev, st.st_ino));
}
