// status_json: `gdoictl show ... --json` round-trips, and the strict reader rejects
// everything outside the schema with the byte, line and column.
#include "control/status_json.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <random>
#include <string>

#include "control/gdoictl_json.h"

using namespace member;

namespace member_test {

// A status with every field set, edge values and strings that need escaping; shared by
// the status_* and control_* tests.
MemberStatus full_status() {
    MemberStatus s;
    s.version = "0.1.0";
    s.uptime_seconds = 183600;  // 2d3h

    GroupStatus g;
    g.name = "GROUP_ID-0001";
    g.id = 1;
    g.state = "registered";
    g.detail = "rekey accepted from 198.51.100.10:848 (seq 42)";
    g.server = "198.51.100.10:848";
    g.since_seconds = 86399;         // 23h59m
    g.last_rekey_seconds_ago = 312;  // 5m12s
    g.sequence = 42;
    g.servers = {{"198.51.100.10:848",
                  true,
                  "",
                  0,
                  "ID_FQDN gcks.example",
                  {{"CN=gcks.example,O=Example", "2027-01-04T10:00:00Z", 2592000, ""}}},
                 {"198.51.100.11:848", false, "no reply after 3 retransmissions", 3, "", {}}};
    g.certificate = {{"CN=gm1.example,O=Example", "2026-12-20T00:00:00Z", 1296000,
                      "expires in 15 days, on 2026-12-20T00:00:00Z: renew ike.certificate and reload"}};
    g.kek = {{"0123456789abcdef0123456789abcdef", "AES-256-CBC", "RSA-2048/SHA-256", 86399, true,
              "multicast 239.1.2.3:848 via eth1"}};
    g.teks = {{"0x11111111",
               "AES-256-CBC/HMAC-SHA-256",
               "10.1.0.0/16 -> 10.2.0.0/16 proto any",
               "active",
               28799,
               7,
               {{"inbound", 1200, 1500000}, {"outbound", 1100, UINT64_MAX}}},
              {"0x22222222",
               "AES-GCM-128",
               "10.1.0.0/16 -> 10.2.0.0/16 proto any",
               "inbound-only (activating)",
               3600,
               0,
               {{"inbound", 3, 360}}}};
    g.policies = {{"exclude", "tcp dport 179", "clear"},
                  {"group", "10.1.0.0/16 -> 10.2.0.0/16 proto any", "encrypt"},
                  {"fail-open", "10.1.0.0/16 -> 10.2.0.0/16", "clear while no TEK"},
                  {"fail-closed", "any", "drop"}};
    g.counters.registrations = 12;
    g.counters.registration_failures = 1;
    g.counters.rekeys_accepted = 40;
    g.counters.rekeys_rejected = 3;
    g.counters.rekeys_rejected_by_reason = {{"malformed", 1}, {"unknown-kek", 2}, {"replayed-seq", 0}};
    g.counters.acks_sent = 40;
    g.counters.recovery_probes = 5;
    g.counters.soft_expires = 2;
    g.counters.hard_expires = 1;
    g.counters.replays_dropped = 9;
    g.anti_replay_window = 100;
    s.groups.push_back(g);

    GroupStatus h;
    h.name = "GROUP \"two\" \\ é→😀";
    h.id = UINT32_MAX;
    h.state = "registering";
    h.detail = "line1\nline2\ttab\x01 ctl";
    h.server = "[2001:db8::1]:848";
    h.since_seconds = 7;
    h.sequence = UINT32_MAX;
    h.servers = {{"[2001:db8::1]:848", true, "", 0, "ID_IPV6_ADDR 2001:db8::1", {}}};
    h.counters.registrations = UINT64_MAX;
    s.groups.push_back(h);
    return s;
}

}  // namespace member_test

using member_test::full_status;

namespace {

std::string replace_once(std::string doc, const std::string& from, const std::string& to) {
    const auto at = doc.find(from);
    REQUIRE(at != std::string::npos);
    return doc.replace(at, from.size(), to);
}

std::string error_of(std::string_view doc) {
    auto r = status_from_json(doc);
    REQUIRE_FALSE(r.ok());
    return r.error().message;
}

}  // namespace

TEST_CASE("status JSON round-trips a fully populated status", "[status_json]") {
    const MemberStatus s = full_status();
    const std::string doc = to_json(s);
    auto back = status_from_json(doc);
    REQUIRE(back.ok());
    CHECK(*back == s);
    CHECK(to_json(*back) == doc);  // stable: same status, same bytes
}

TEST_CASE("status JSON round-trips an empty status and a group with nothing installed", "[status_json]") {
    MemberStatus empty;
    auto back = status_from_json(to_json(empty));
    REQUIRE(back.ok());
    CHECK(*back == empty);

    MemberStatus one;
    one.groups.emplace_back();
    back = status_from_json(to_json(one));
    REQUIRE(back.ok());
    CHECK(*back == one);
}

TEST_CASE("status JSON uses the documented snake_case field names", "[status_json]") {
    const std::string doc = to_json(full_status());
    CHECK(doc.starts_with("{\n  \"schema\": 2,\n  \"version\": \"0.1.0\",\n  \"uptime_seconds\": 183600,\n"));
    for (const char* field : {"\"groups\": [",
                              "\"name\": \"GROUP_ID-0001\"",
                              "\"id\": 1,",
                              "\"state\": \"registered\"",
                              "\"detail\": ",
                              "\"server\": \"198.51.100.10:848\"",
                              "\"since_seconds\": 86399",
                              "\"last_rekey_seconds_ago\": 312",
                              "\"sequence\": 42",
                              "\"servers\": [",
                              "\"address\": ",
                              "\"in_use\": true",
                              "\"last_error\": \"\"",
                              "\"failures\": 3",
                              "\"identity\": \"ID_FQDN gcks.example\"",
                              "\"certificate\": [",
                              "\"subject\": \"CN=gcks.example,O=Example\"",
                              "\"not_after\": \"2026-12-20T00:00:00Z\"",
                              "\"seconds_left\": 2592000",
                              "\"warning\": \"expires in 15 days",
                              "\"kek\": [",
                              "\"spi\": \"0123456789abcdef0123456789abcdef\"",
                              "\"algorithm\": \"AES-256-CBC\"",
                              "\"signature\": \"RSA-2048/SHA-256\"",
                              "\"remaining_seconds\": 86399",
                              "\"ack_requested\": true",
                              "\"rekey_via\": \"multicast 239.1.2.3:848 via eth1\"",
                              "\"teks\": [",
                              "\"selector\": ",
                              "\"role\": \"inbound-only (activating)\"",
                              "\"sas\": [",
                              "\"direction\": \"outbound\"",
                              "\"packets\": 1100",
                              "\"bytes\": 18446744073709551615",
                              "\"policies\": [",
                              "\"kind\": \"exclude\"",
                              "\"action\": \"clear while no TEK\"",
                              "\"counters\": {",
                              "\"registrations\": 12",
                              "\"registration_failures\": 1",
                              "\"rekeys_accepted\": 40",
                              "\"rekeys_rejected\": 3",
                              "\"rekeys_rejected_by_reason\": [",
                              "\"reason\": \"unknown-kek\"",
                              "\"count\": 2",
                              "\"acks_sent\": 40",
                              "\"recovery_probes\": 5",
                              "\"soft_expires\": 2",
                              "\"hard_expires\": 1",
                              "\"registrations\": 18446744073709551615",
                              "\"id\": 4294967295"}) {
        INFO(field);
        CHECK(doc.find(field) != std::string::npos);
    }
}

TEST_CASE("status JSON escapes quotes, backslashes and control characters, keeps UTF-8", "[status_json]") {
    const std::string doc = to_json(full_status());
    CHECK(doc.find(R"("name": "GROUP \"two\" \\ é→😀")") != std::string::npos);
    CHECK(doc.find(R"("detail": "line1\nline2\ttab\u0001 ctl")") != std::string::npos);
    for (char c : doc) CHECK((static_cast<unsigned char>(c) >= 0x20 || c == '\n'));
}

TEST_CASE("status JSON writer replaces invalid UTF-8 so its output always parses", "[status_json]") {
    MemberStatus s;
    s.version = std::string("bad\xff\xc3(", 6);
    auto back = status_from_json(to_json(s));
    REQUIRE(back.ok());
    CHECK(back->version == "bad\xEF\xBF\xBD\xEF\xBF\xBD(");
}

TEST_CASE("status JSON reader accepts u-escapes, surrogate pairs, escaped slash and compact input",
          "[status_json]") {
    std::string doc = to_json(MemberStatus{});
    doc = replace_once(doc, "\"version\": \"\"", R"("version":"\u0041\u00e9\ud83d\ude00\/\b\f\r")");
    auto back = status_from_json(doc);
    REQUIRE(back.ok());
    CHECK(back->version == "A\xC3\xA9\xF0\x9F\x98\x80/\b\f\r");
}

TEST_CASE("status JSON errors name byte, line, column and field path", "[status_json]") {
    const std::string good = to_json(full_status());
    const std::string bad = replace_once(good, "\"id\": 1,", "\"id\": true,");
    const auto at = bad.find("true");
    const auto line = 1 + std::count(bad.begin(), bad.begin() + static_cast<std::ptrdiff_t>(at), '\n');
    const auto column = at - bad.rfind('\n', at);
    const std::string msg = error_of(bad);
    CHECK(msg == "status JSON at byte " + std::to_string(at) + " (line " + std::to_string(line) +
                     ", column " + std::to_string(column) +
                     "): groups[0].id: expected an unsigned integer, found a boolean");
}

TEST_CASE("status JSON rejects malformed documents and values outside the schema", "[status_json]") {
    const std::string good = to_json(full_status());
    const std::string empty = R"({"schema":2,"version":"v","uptime_seconds":5,"groups":[]})";
    struct Case {
        std::string doc;
        std::string expected;
    };
    const Case cases[] = {
        {"", "byte 0 (line 1, column 1): expected a value, found end of input"},
        {"   \n", "byte 4 (line 2, column 1): expected a value, found end of input"},
        {"{", "expected a string key, found end of input"},
        {empty + " x", "unexpected 'x' after the JSON value"},
        {empty + "{}", "unexpected '{' after the JSON value"},
        {replace_once(empty, "5", "null"), "byte 43 (line 1, column 44): null is not accepted"},
        {replace_once(empty, "5", "-1"), "byte 43 (line 1, column 44): negative numbers are not accepted"},
        {replace_once(empty, "5", "1.5"), "byte 44 (line 1, column 45): only unsigned integers are accepted"},
        {replace_once(empty, "5", "1e3"), "only unsigned integers are accepted"},
        {replace_once(empty, "5", "05"), "numbers must not have leading zeros"},
        {replace_once(empty, "5", "18446744073709551616"), "number does not fit in 64 bits"},
        {replace_once(empty, "5", "18446744073709551615"), ""},  // the maximum is fine
        {replace_once(good, "\"id\": 1,", "\"id\": 4294967296,"),
         "groups[0].id: 4294967296 does not fit in 32 bits"},
        {replace_once(empty, "5", "\"5\""), "uptime_seconds: expected an unsigned integer, found a string"},
        {replace_once(empty, "[]", "{}"), "groups: expected an array, found an object"},
        {replace_once(empty, "[]", "[1]"), "groups[0]: expected an object, found an unsigned integer"},
        {replace_once(empty, "\"version\":\"v\",", ""), "document: missing field \"version\""},
        {replace_once(empty, "\"groups\"", "\"extra\":true,\"groups\""), "document: unknown field \"extra\""},
        {replace_once(good, "\"acks_sent\": 40,", ""), "groups[0].counters: missing field \"acks_sent\""},
        {replace_once(good, "\"in_use\": true,", "\"in_use\": true, \"weight\": 1,"),
         "groups[0].servers[0]: unknown field \"weight\""},
        {replace_once(empty, "\"schema\":2", "\"schema\":1"), "schema: this gdoictl reads status schema 2"},
        {replace_once(empty, "\"schema\":2,", ""), "document: missing field \"schema\""},
        {replace_once(empty, "\"version\":\"v\"", "\"version\":\"v\",\"version\":\"w\""),
         "byte 26 (line 1, column 27): duplicate key \"version\""},
        {replace_once(empty, "\"v\"", "'v'"), "expected a value, found '''"},
        {replace_once(empty, "\"v\"", "\"a\\xb\""), "invalid escape \\x"},
        {replace_once(empty, "\"v\"", "\"\\ud800\""), "high surrogate not followed by a \\u low surrogate"},
        {replace_once(empty, "\"v\"", "\"\\udc00\""), "lone low surrogate"},
        {replace_once(empty, "\"v\"", "\"\\u12g4\""), "expected a hex digit in \\u escape, found 'g'"},
        {R"({"schema":2,"version":"\u12)", "truncated \\u escape"},
        {replace_once(empty, "\"v\"", "\"a\tb\""), "control character byte 0x09 in string"},
        {replace_once(empty, "\"v\"", "\"\xff\""), "invalid UTF-8 in string"},
        {replace_once(empty, "\"v\"", "\"\xc0\xaf\""), "invalid UTF-8 in string"},      // overlong '/'
        {replace_once(empty, "\"v\"", "\"\xed\xa0\x80\""), "invalid UTF-8 in string"},  // UTF-8 surrogate
        {R"({"schema":2,"version":"unterminated)", "byte 22 (line 1, column 23): unterminated string"},
        {replace_once(empty, "[]", "[{},]"), "expected a value, found ']'"},
        {replace_once(empty, "\"groups\":[]", "\"groups\":[],"), "expected a string key, found '}'"},
        {replace_once(empty, ":5,", ":5 "), "expected ',' or '}' in object, found '\"'"},
        {replace_once(empty, "[]", "[{} {}]"), "expected ',' or ']' in array, found '{'"},
        {replace_once(good, "\"ack_requested\": true", "\"ack_requested\": tru"),
         "expected a value, found 't'"},
        {"[]", "document: expected an object, found an array"},
        {std::string(20, '[') + std::string(20, ']'), "nesting deeper than 16 levels"},
        {"\"" + std::string(1, '\0') + "\"", "control character byte 0x00 in string"},
    };
    for (const Case& c : cases) {
        INFO("document: " << c.doc);
        auto r = status_from_json(c.doc);
        if (c.expected.empty()) {
            CHECK(r.ok());
            continue;
        }
        REQUIRE_FALSE(r.ok());
        INFO("error: " << r.error().message);
        CHECK(r.error().message.find(c.expected) != std::string::npos);
    }
}

TEST_CASE("status JSON reader rejects every truncation and survives random corruption", "[status_json]") {
    const std::string good = to_json(full_status());
    for (std::size_t n = 0; n + 1 < good.size(); ++n) {
        // Dropping the final newline keeps the document complete; anything shorter does not.
        auto r = status_from_json(std::string_view(good).substr(0, n));
        if (r.ok()) FAIL("prefix of " << n << " bytes parsed");
    }
    std::mt19937 rng(6407);
    int rejected = 0;
    for (int round = 0; round < 2000; ++round) {
        std::string doc = good;
        for (int k = 0; k < 3; ++k) doc[rng() % doc.size()] = static_cast<char>(rng() & 0xFF);
        auto r = status_from_json(doc);  // must not crash; ASan/UBSan builds check the bounds
        rejected += r.ok() ? 0 : 1;
    }
    CHECK(rejected > 1000);
}

TEST_CASE("JSON documents larger than the limit are refused before parsing", "[status_json]") {
    const std::string huge(json::kJsonMaxBytes + 1, ' ');
    const std::string msg = error_of(huge);
    CHECK(msg.find("larger than the limit") != std::string::npos);
}
