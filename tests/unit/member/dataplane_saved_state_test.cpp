// The restart-adoption state file (member/src/dataplane_saved_state.h): round trip, the
// path beside the control socket, errors with line numbers, atomic write and removal.
#include "dataplane/dataplane_saved_state.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>

#include "finishes_within.h"

using namespace member;

namespace {

policy::Selector selector(const char* src, const char* dst) {
    policy::Selector s;
    s.source = *policy::Prefix::parse(src);
    s.destination = *policy::Prefix::parse(dst);
    return s;
}

std::vector<SavedGroup> sample() {
    SavedGroup a{1,
                 "GROUP ONE",
                 0,
                 SavedPlane{0x1000, {0x1000}},
                 std::nullopt,
                 {selector("10.0.0.0/8", "10.0.0.0/8")},
                 {*NetPrefix::parse("10.0.0.0/8")}};
    auto tcp = selector("192.168.1.0/24", "192.168.2.0/24");
    tcp.protocol = 6;
    tcp.destination_port = policy::PortRange{179, 179};
    tcp.source_port = policy::PortRange{1024, 65535};
    policy::Selector any;  // no addresses at all
    SavedGroup b{4294967295u,
                 "GROUP-TWO",
                 63,
                 SavedPlane{0xfedcba98, {0x00000001, 0xfedcba98}},
                 std::nullopt,
                 {tcp, any},
                 {*NetPrefix::parse("192.168.0.0/16")}};
    // Dual-stack: both carriers; and one with only its IPv6 carrier sending.
    SavedGroup c{7,
                 "DUAL",
                 2,
                 SavedPlane{0x4000, {0x4000}},
                 SavedPlane{0x6001, {0x6000, 0x6001}},
                 {selector("10.0.0.0/8", "10.0.0.0/8"), selector("2001:db8::/32", "2001:db8::/32")},
                 {*NetPrefix::parse("10.1.0.0/16"), *NetPrefix::parse("2001:db8:1::/48")}};
    SavedGroup d{8, "V6", 3, std::nullopt, SavedPlane{0x6100, {0x6100}}, {}, {}};
    return {a, b, c, d};
}

}  // namespace

TEST_CASE("saved state: format and parse round trip, names with spaces, ports, no addresses") {
    const auto groups = sample();
    const auto text = format_saved_state(groups);
    CHECK(text.rfind("gdoi-member dataplane state 2\ngroup 1 0 GROUP ONE\nspis 0x00001000 0x00001000\n", 0) ==
          0);
    CHECK(text.find("spis 0xfedcba98 0x00000001 0xfedcba98\n") != std::string::npos);
    CHECK(text.find("group 7 2 DUAL\nspis 0x00004000 0x00004000\nspis6 0x00006001 0x00006000 0x00006001\n") !=
          std::string::npos);
    CHECK(text.find("group 8 3 V6\nspis6 0x00006100 0x00006100\n") != std::string::npos);
    CHECK(text.find("selector 192.168.1.0/24 192.168.2.0/24 6 1024-65535 179-179\n") != std::string::npos);
    CHECK(text.find("selector - - - - -\n") != std::string::npos);
    auto back = parse_saved_state(text);
    REQUIRE(back);
    CHECK(*back == groups);
}

TEST_CASE("saved state: without an IPv6 carrier the file stays version 1 (a downgrade still adopts)") {
    auto v4 = sample();
    v4.resize(2);  // the two IPv4 groups
    const auto text = format_saved_state(v4);
    CHECK(text.rfind("gdoi-member dataplane state 1\n", 0) == 0);
    CHECK(text.find("spis6") == std::string::npos);
    auto back = parse_saved_state(text);
    REQUIRE(back);
    CHECK(*back == v4);
}

TEST_CASE("saved state: a version 1 file (IPv4 only, earlier releases) is read") {
    auto v1 = parse_saved_state("gdoi-member dataplane state 1\ngroup 1 0 A\nspis 0x1000 0x1000 0x0fff\n");
    REQUIRE(v1);
    REQUIRE(v1->size() == 1);
    CHECK((*v1)[0].ipv4 == SavedPlane{0x1000, {0x0fff, 0x1000}});
    CHECK_FALSE((*v1)[0].ipv6);
}

TEST_CASE("saved state: errors name the line") {
    CHECK_THAT(parse_saved_state("gdoi-member dataplane state 3\n").error().message,
               Catch::Contains("version 1 or 2"));
    CHECK_THAT(parse_saved_state("gdoi-member dataplane state 2\ngroup 1 0 A\nspis6\n").error().message,
               Catch::Contains("line 3: spis6 without an SPI"));
    CHECK_THAT(
        parse_saved_state("gdoi-member dataplane state 1\ngroup 1 0 A\nspis6 0x1 0x1\n").error().message,
        Catch::Contains("line 3: spis6 in a version 1 state"));
    CHECK_THAT(parse_saved_state("gdoi-member dataplane state 2\ngroup 1 0 A\nspis 0x1 0x1\nspis 0x2 0x2\n")
                   .error()
                   .message,
               Catch::Contains("line 4: a second spis line for the group"));
    CHECK_THAT(parse_saved_state("something else\n").error().message, Catch::Contains("line 1"));
    CHECK_THAT(parse_saved_state("gdoi-member dataplane state 1\nscope 10.0.0.0/8\n").error().message,
               Catch::Contains("line 2: scope before any group"));
    CHECK_THAT(parse_saved_state("gdoi-member dataplane state 1\ngroup x 0 A\n").error().message,
               Catch::Contains("line 2"));
    CHECK_THAT(parse_saved_state("gdoi-member dataplane state 1\ngroup 1 0 A\nselector - - - 9-1 -\n")
                   .error()
                   .message,
               Catch::Contains("line 3: bad port range"));
    CHECK_THAT(
        parse_saved_state("gdoi-member dataplane state 1\ngroup 1 0 A\nselector - -\n").error().message,
        Catch::Contains("5 fields"));
    CHECK_THAT(parse_saved_state("gdoi-member dataplane state 1\nkeys 0102\n").error().message,
               Catch::Contains("unknown item 'keys'"));
    CHECK_THAT(
        parse_saved_state("gdoi-member dataplane state 1\ngroup 1 0 A\nspis 0x1000 12\n").error().message,
        Catch::Contains("line 3: bad SPI '12'"));
    CHECK_THAT(parse_saved_state("gdoi-member dataplane state 1\ngroup 1 0 A\nspis 0x\n").error().message,
               Catch::Contains("bad SPI"));
    CHECK_FALSE(parse_saved_state(""));
}

TEST_CASE("saved state: the file beside the control socket") {
    CHECK(saved_state_path("/run/gdoi-member/control.sock") == "/run/gdoi-member/control.state");
    CHECK(saved_state_path("/tmp/w.x/gm1.sock") == "/tmp/w.x/gm1.state");
    CHECK(saved_state_path("/tmp/w.x/control") == "/tmp/w.x/control.state");
    CHECK(saved_state_path("/tmp/.hidden") == "/tmp/.hidden.state");
}

TEST_CASE("saved state: write, read back, remove, and a missing file is no state") {
    char dir[] = "/tmp/gdoi-saved-state-XXXXXX";
    REQUIRE(mkdtemp(dir));
    const std::string path = std::string(dir) + "/control.state";
    auto none = read_saved_state(path);
    REQUIRE(none);
    CHECK_FALSE(none->has_value());
    REQUIRE(write_saved_state(path, sample()));
    struct stat st {};
    REQUIRE(stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0007) == 0);  // not world-readable
    auto back = read_saved_state(path);
    REQUIRE(back);
    REQUIRE(back->has_value());
    CHECK(**back == sample());
    CHECK(access((path + ".tmp").c_str(), F_OK) != 0);  // renamed, nothing left over
    // Writable by others: it would decide which SAs a group keeps sending with. Ignored.
    REQUIRE(chmod(path.c_str(), 0666) == 0);
    CHECK_THAT(read_saved_state(path).error().message, Catch::Contains("world-writable"));
    REQUIRE(chmod(path.c_str(), 0640) == 0);
    REQUIRE(chmod(dir, 0777) == 0);  // a directory anyone can write to: anyone could have put it there
    CHECK_THAT(read_saved_state(path).error().message, Catch::Contains("writable by group or others"));
    REQUIRE(chmod(dir, 0700) == 0);
    // A symlink is not followed.
    const std::string link = std::string(dir) + "/link.state";
    REQUIRE(symlink(path.c_str(), link.c_str()) == 0);
    CHECK_FALSE(read_saved_state(link));
    unlink(link.c_str());
    { std::ofstream(path) << "garbage\n"; }
    CHECK_FALSE(read_saved_state(path));
    REQUIRE(remove_saved_state(path));
    REQUIRE(remove_saved_state(path));  // already gone: fine
    CHECK(access(path.c_str(), F_OK) != 0);
    rmdir(dir);
}

TEST_CASE("saved state: a FIFO or another user's file is refused at once") {
    char dir[] = "/tmp/gdoi-saved-state-XXXXXX";
    REQUIRE(mkdtemp(dir));
    const std::string path = std::string(dir) + "/control.state";
    REQUIRE(mkfifo(path.c_str(), 0600) == 0);
    CHECK(member_test::finishes_within(std::chrono::seconds(5), [&] {
        auto r = read_saved_state(path);
        return !r && r.error().message.find("not a regular file") != std::string::npos;
    }));
    unlink(path.c_str());
    if (geteuid() == 0) {
        REQUIRE(write_saved_state(path, sample()));
        REQUIRE(chown(path.c_str(), 65534, 65534) == 0);
        CHECK_THAT(read_saved_state(path).error().message, Catch::Contains("belongs to uid 65534"));
        unlink(path.c_str());
    }
    rmdir(dir);
}
