// status_text: the `gdoictl show` views answer the operator's questions with the right
// values in aligned columns; --group selects; hostile strings cannot drive the terminal.
#include "gdoictl/status_text.h"

#include <catch2/catch.hpp>
#include <sstream>
#include <string>
#include <vector>

using namespace member;

namespace member_test {
MemberStatus full_status();  // status_json_test.cpp
}
using member_test::full_status;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

// The line containing all the given fragments (exactly one such line must exist).
std::string line_with(const std::string& text, std::initializer_list<std::string> fragments) {
    std::vector<std::string> found;
    for (const std::string& line : lines_of(text)) {
        bool all = true;
        for (const std::string& f : fragments) all = all && line.find(f) != std::string::npos;
        if (all) found.push_back(line);
    }
    INFO(text);
    REQUIRE(found.size() == 1);
    return found[0];
}

// The words of a row, split on runs of two or more spaces (cells may contain one space).
std::vector<std::string> cells(const std::string& line) {
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && line[i] == ' ') ++i;
        std::size_t j = i;
        while (j < line.size() && !(line[j] == ' ' && (j + 1 == line.size() || line[j + 1] == ' '))) ++j;
        if (j > i) out.push_back(line.substr(i, j - i));
        i = j;
    }
    return out;
}

void check_no_trailing_blanks(const std::string& text) {
    for (const std::string& line : lines_of(text)) {
        INFO(line);
        CHECK((line.empty() || line.back() != ' '));
    }
}

const ViewFilter kFirst{"GROUP_ID-0001"};

}  // namespace

TEST_CASE("durations are human: two most significant units", "[status_text]") {
    CHECK(format_duration(0) == "0s");
    CHECK(format_duration(59) == "59s");
    CHECK(format_duration(60) == "1m0s");
    CHECK(format_duration(312) == "5m12s");
    CHECK(format_duration(3600) == "1h0m");
    CHECK(format_duration(86399) == "23h59m");
    CHECK(format_duration(86400) == "1d0h");
    CHECK(format_duration(183600) == "2d3h");
    CHECK(format_duration(UINT64_MAX) == "213503982334601d7h");
    CHECK(format_ago(0) == "never");
    CHECK(format_ago(312) == "5m12s ago");
}

TEST_CASE("text tables align columns and pad nothing at the end of a line", "[status_text]") {
    TextTable t({{"Name"}, {"Count", TextTable::Align::right}, {"Note"}});
    t.add_row({"a", "7", "x"});
    t.add_row({"longer-é", "12345", ""});
    CHECK(t.render() ==
          "Name      Count  Note\n"
          "a             7  x\n"
          "longer-é  12345  -\n");
}

TEST_CASE("show groups: state, time in state, key server, last rekey, SEQ per group", "[status_text]") {
    const std::string text = render_groups(full_status());
    CHECK(text.starts_with("gdoi-memberd 0.1.0, up 2d3h\n"));
    const std::string header = line_with(text, {"Group", "State", "Key server", "Last rekey", "SEQ"});
    const std::string row = line_with(text, {"GROUP_ID-0001"});
    CHECK(cells(row) == std::vector<std::string>{"GROUP_ID-0001", "1", "registered", "23h59m",
                                                 "198.51.100.10:848", "5m12s ago", "42", "yes", "2",
                                                 "rekey accepted from 198.51.100.10:848 (seq 42)"});
    // Left-aligned columns start where their title starts.
    CHECK(row.find("registered") == header.find("State"));
    CHECK(row.find("198.51.100.10:848") == header.find("Key server"));
    const std::string second = line_with(text, {"registering"});
    CHECK(second.find("never") != std::string::npos);  // no rekey yet
    CHECK(second.find("4294967295") != std::string::npos);
    check_no_trailing_blanks(text);
}

TEST_CASE("show views select one group with --group", "[status_text]") {
    for (const ShowView& view : show_views()) {
        INFO(view.name);
        const std::string text = view.render(full_status(), kFirst);
        CHECK(text.find("GROUP_ID-0001") != std::string::npos);
        CHECK(text.find("two") == std::string::npos);
        const std::string none = view.render(full_status(), ViewFilter{"nope"});
        CHECK(none.find("No group named \"nope\".") != std::string::npos);
        CHECK(view.render(MemberStatus{}, {}).find("No groups configured.") != std::string::npos);
    }
}

TEST_CASE("show servers: order, server in use, failures, identity, certificate expiry, last error",
          "[status_text]") {
    const std::string text = render_servers(full_status(), kFirst);
    CHECK(cells(line_with(text, {"198.51.100.10:848"})) ==
          std::vector<std::string>{"GROUP_ID-0001", "1", "198.51.100.10:848", "yes", "0",
                                   "ID_FQDN gcks.example", "2027-01-04 (30d0h)", "-"});
    CHECK(cells(line_with(text, {"198.51.100.11:848"})) ==
          std::vector<std::string>{"GROUP_ID-0001", "2", "198.51.100.11:848", "no", "3", "-", "-",
                                   "no reply after 3 retransmissions"});
    // Under the table: our certificate, and its warning (expiring within 30 days).
    CHECK(text.find(
              "\nGROUP_ID-0001: our certificate 'CN=gm1.example,O=Example' expires 2026-12-20 (15d0h)\n") !=
          std::string::npos);
    CHECK(text.find("\nGROUP_ID-0001: WARNING: our certificate expires in 15 days, on 2026-12-20T00:00:00Z: "
                    "renew ike.certificate and reload\n") != std::string::npos);
    check_no_trailing_blanks(text);
}

TEST_CASE("show servers: a key server certificate's warning; no certificate lines with a PSK",
          "[status_text]") {
    MemberStatus s = full_status();
    auto& cert = s.groups[0].servers[0].certificate.at(0);
    cert.seconds_left = 0;
    cert.warning = "expired on 2027-01-04T10:00:00Z: the next registration with this key server fails";
    const std::string text = render_servers(s, kFirst);
    CHECK(cells(line_with(text, {"198.51.100.10:848", "ID_FQDN"}))[6] == "2027-01-04 (expired)");
    CHECK(text.find("GROUP_ID-0001: WARNING: key server 198.51.100.10:848 certificate "
                    "'CN=gcks.example,O=Example' expired "
                    "on 2027-01-04T10:00:00Z") != std::string::npos);
    const std::string psk = render_servers(s, ViewFilter{s.groups[1].name});
    CHECK(psk.find("certificate") == std::string::npos);
    CHECK(cells(line_with(psk, {"[2001:db8::1]:848"}))[5] == "ID_IPV6_ADDR 2001:db8::1");
}

TEST_CASE(
    "show kek: SPI, algorithm, signature, remaining lifetime, ACK, rekey path; none before registration",
    "[status_text]") {
    const std::string text = render_kek(full_status());
    CHECK(cells(line_with(text, {"GROUP_ID-0001"})) ==
          std::vector<std::string>{"GROUP_ID-0001", "0123456789abcdef0123456789abcdef", "AES-256-CBC",
                                   "RSA-2048/SHA-256", "23h59m", "requested",
                                   "multicast 239.1.2.3:848 via eth1"});
    CHECK(line_with(text, {"two"}).find("none (registering)") != std::string::npos);
    check_no_trailing_blanks(text);
}

TEST_CASE("show tek: SPI, algorithm, role, remaining lifetime, SA counters and selector of each TEK",
          "[status_text]") {
    MemberStatus status = full_status();
    status.groups[0].teks.push_back(status.groups[0].teks[1]);
    status.groups[0].teks.back().spi = "0x33333333";
    status.groups[0].teks.back().sas.clear();  // no kernel SA (no kernel dataplane)
    const std::string text = render_tek(status);
    const std::string header = line_with(
        text, {"SPI", "Algorithm", "Role", "Lifetime", "Packets in/out", "Bytes in/out", "Selector"});
    const std::string active = line_with(text, {"0x11111111"});
    CHECK(cells(active) == std::vector<std::string>{"GROUP_ID-0001", "0x11111111", "AES-256-CBC/HMAC-SHA-256",
                                                    "active", "7h59m", "1200/1100",
                                                    "1500000/18446744073709551615",
                                                    "10.1.0.0/16 -> 10.2.0.0/16 proto any"});
    CHECK(cells(line_with(text, {"0x22222222"})) ==
          std::vector<std::string>{"GROUP_ID-0001", "0x22222222", "AES-GCM-128", "inbound-only (activating)",
                                   "1h0m", "3/-", "360/-", "10.1.0.0/16 -> 10.2.0.0/16 proto any"});
    CHECK(cells(line_with(text, {"0x33333333"})) ==
          std::vector<std::string>{"GROUP_ID-0001", "0x33333333", "AES-GCM-128", "inbound-only (activating)",
                                   "1h0m", "-", "-", "10.1.0.0/16 -> 10.2.0.0/16 proto any"});
    // Right-aligned lifetimes and counters end where their titles end.
    CHECK(active.find("7h59m") + 5 == header.find("Lifetime") + 8);
    CHECK(active.find("1200/1100") + 9 == header.find("Packets in/out") + 14);
    CHECK(line_with(text, {"two"}).find("none (registering)") != std::string::npos);
    check_no_trailing_blanks(text);
}

TEST_CASE("show policy: rules in evaluation order with kind, action, selector", "[status_text]") {
    const std::string text = render_policy(full_status(), kFirst);
    CHECK(cells(line_with(text, {"exclude"})) ==
          std::vector<std::string>{"GROUP_ID-0001", "1", "exclude", "clear", "tcp dport 179"});
    CHECK(cells(line_with(text, {"fail-open"})) == std::vector<std::string>{"GROUP_ID-0001", "3", "fail-open",
                                                                            "clear while no TEK",
                                                                            "10.1.0.0/16 -> 10.2.0.0/16"});
    CHECK(cells(line_with(text, {"fail-closed"})) ==
          std::vector<std::string>{"GROUP_ID-0001", "4", "fail-closed", "drop", "any"});
    CHECK(text.find("exclude") < text.find("encrypt"));
    check_no_trailing_blanks(text);
}

TEST_CASE("show stats: registrations, rekeys accepted and rejected by reason, ACKs, probes",
          "[status_text]") {
    const std::string text = render_stats(full_status());
    CHECK(text.starts_with("Group GROUP_ID-0001 (id 1)\n"));
    const auto value = [&](const std::string& counter, const std::string& in) {
        const auto block = text.find(in);
        REQUIRE(block != std::string::npos);
        const auto end = text.find("\n\n", block);
        const std::string part =
            text.substr(block, end == std::string::npos ? std::string::npos : end - block);
        return cells(line_with(part, {counter})).back();
    };
    CHECK(value("Registrations", "GROUP_ID-0001") == "12");
    CHECK(value("Registration failures", "GROUP_ID-0001") == "1");
    CHECK(value("Rekeys accepted", "GROUP_ID-0001") == "40");
    CHECK(value("Rekeys rejected", "GROUP_ID-0001") == "3");
    CHECK(value("unknown-kek", "GROUP_ID-0001") == "2");
    CHECK(value("malformed", "GROUP_ID-0001") == "1");
    CHECK(value("ACKs sent", "GROUP_ID-0001") == "40");
    CHECK(value("Recovery probes", "GROUP_ID-0001") == "5");
    CHECK(value("SA soft expires", "GROUP_ID-0001") == "2");
    CHECK(value("SA hard expires", "GROUP_ID-0001") == "1");
    CHECK(value("Registrations", "(id 4294967295)") == "18446744073709551615");
    check_no_trailing_blanks(text);
}

TEST_CASE("show views replace control characters from the daemon", "[status_text]") {
    MemberStatus s = full_status();
    s.groups[0].detail = "\x1b[2J\x1b]0;owned\x07";
    s.groups[1].name = "evil\rname";
    const std::string text = render_groups(s);
    CHECK(text.find('\x1b') == std::string::npos);
    CHECK(text.find('\r') == std::string::npos);
    CHECK(text.find("?[2J?]0;owned?") != std::string::npos);
    CHECK(render_stats(s).find("Group evil?name") != std::string::npos);
    // The multi-line detail of the second fixture group stays on its row.
    CHECK(render_groups(full_status()).find("line1?line2?tab? ctl") != std::string::npos);
}
