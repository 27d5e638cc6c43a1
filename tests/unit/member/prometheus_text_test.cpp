// gdoictl show --format prometheus: the status as the Prometheus text exposition format
// 0.0.4 — exact lines, escaping of hostile group names, HELP/TYPE once per family before
// its samples, and every line parses under the format's grammar.
#include "gdoictl/prometheus_text.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
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

bool name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool name_char(char c) { return name_start(c) || (c >= '0' && c <= '9'); }

// A metric or label name at `pos` ([a-zA-Z_:][a-zA-Z0-9_:]* for metrics; no ':' in labels).
std::optional<std::string> parse_name(const std::string& s, size_t& pos, bool metric) {
    const size_t start = pos;
    if (pos >= s.size() || !(name_start(s[pos]) || (metric && s[pos] == ':'))) return std::nullopt;
    while (pos < s.size() && (name_char(s[pos]) || (metric && s[pos] == ':'))) ++pos;
    return s.substr(start, pos - start);
}

struct Sample {
    std::string name;
    std::map<std::string, std::string> labels;  // unescaped values
    std::string value;
};

// One sample line under the 0.0.4 grammar: name, optional {label="value",...} with only the
// escapes \\ \" \n in values, one space, a number (no timestamp is written).
std::optional<Sample> parse_sample(const std::string& line) {
    Sample s;
    size_t pos = 0;
    auto name = parse_name(line, pos, true);
    if (!name) return std::nullopt;
    s.name = *name;
    if (pos < line.size() && line[pos] == '{') {
        ++pos;
        while (pos < line.size() && line[pos] != '}') {
            auto label = parse_name(line, pos, false);
            if (!label || s.labels.count(*label) || line.compare(pos, 2, "=\"") != 0) return std::nullopt;
            pos += 2;
            std::string value;
            while (pos < line.size() && line[pos] != '"') {
                if (line[pos] == '\n') return std::nullopt;
                if (line[pos] == '\\') {
                    if (pos + 1 >= line.size()) return std::nullopt;
                    const char e = line[pos + 1];
                    if (e == '\\')
                        value += '\\';
                    else if (e == '"')
                        value += '"';
                    else if (e == 'n')
                        value += '\n';
                    else
                        return std::nullopt;
                    pos += 2;
                } else {
                    value += line[pos++];
                }
            }
            if (pos >= line.size()) return std::nullopt;
            ++pos;  // closing quote
            s.labels[*label] = value;
            if (pos < line.size() && line[pos] == ',') ++pos;
        }
        if (pos >= line.size()) return std::nullopt;
        ++pos;  // '}'
    }
    if (pos >= line.size() || line[pos] != ' ') return std::nullopt;
    s.value = line.substr(pos + 1);
    if (s.value.empty() || s.value.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
    return s;
}

struct Parsed {
    std::vector<Sample> samples;
    std::map<std::string, std::string> types;  // family -> TYPE
};

// Every line must be a HELP, a TYPE or a sample; each family's HELP then TYPE come once, before
// its samples, and its samples are contiguous (the format requires one group per family).
Parsed parse_exposition(const std::string& text) {
    Parsed p;
    REQUIRE((text.empty() || text.back() == '\n'));
    std::set<std::string> helped;
    std::set<std::string> finished;
    std::string current;
    for (const std::string& line : lines_of(text)) {
        INFO(line);
        if (line.starts_with("# HELP ")) {
            size_t pos = 7;
            auto name = parse_name(line, pos, true);
            REQUIRE(name);
            CHECK(pos < line.size());
            CHECK(line[pos] == ' ');
            CHECK(helped.insert(*name).second);  // once
            if (!current.empty()) finished.insert(current);
            current = *name;
            CHECK_FALSE(finished.count(current));
        } else if (line.starts_with("# TYPE ")) {
            size_t pos = 7;
            auto name = parse_name(line, pos, true);
            REQUIRE(name);
            CHECK(*name == current);  // right after its HELP
            CHECK_FALSE(p.types.count(*name));
            const std::string type = line.substr(pos);
            CHECK((type == " counter" || type == " gauge"));
            p.types[*name] = type.substr(1);
        } else {
            auto s = parse_sample(line);
            REQUIRE(s);
            CHECK(s->name == current);  // within its family's group
            CHECK(p.types.count(s->name));
            p.samples.push_back(*s);
        }
    }
    return p;
}

// The value of the one sample with these labels (exactly one must exist).
std::string value_of(const Parsed& p, const std::string& name,
                     const std::map<std::string, std::string>& labels) {
    std::vector<std::string> found;
    for (const Sample& s : p.samples)
        if (s.name == name && s.labels == labels) found.push_back(s.value);
    INFO(name);
    REQUIRE(found.size() == 1);
    return found[0];
}

size_t count_of(const Parsed& p, const std::string& name) {
    size_t n = 0;
    for (const Sample& s : p.samples) n += s.name == name;
    return n;
}

}  // namespace

TEST_CASE("prometheus: a counter with a reason label, exact lines, every reason listed", "[prometheus]") {
    const std::string text = render_prometheus(full_status(), {"GROUP_ID-0001"});
    const std::string block =
        "# HELP gdoi_member_rekeys_rejected_total GROUPKEY-PUSH messages rejected since the daemon started, "
        "by "
        "reason.\n"
        "# TYPE gdoi_member_rekeys_rejected_total counter\n"
        "gdoi_member_rekeys_rejected_total{group=\"GROUP_ID-0001\",group_id=\"1\",reason=\"malformed\"} 1\n"
        "gdoi_member_rekeys_rejected_total{group=\"GROUP_ID-0001\",group_id=\"1\",reason=\"unknown-kek\"} 2\n"
        "gdoi_member_rekeys_rejected_total{group=\"GROUP_ID-0001\",group_id=\"1\",reason=\"replayed-seq\"} "
        "0\n"
        "# HELP ";
    INFO(text);
    CHECK(text.find(block) != std::string::npos);
    CHECK(text.find("\ngdoi_member_registrations_total{group=\"GROUP_ID-0001\",group_id=\"1\"} 12\n") !=
          std::string::npos);
    CHECK(text.starts_with("# HELP gdoi_member_build_info "));
    CHECK(text.find("\ngdoi_member_build_info{version=\"0.1.0\"} 1\n") != std::string::npos);
    CHECK(text.find("\ngdoi_member_uptime_seconds 183600\n") != std::string::npos);
    CHECK(text.find("two") == std::string::npos);  // --group: that group only
}

TEST_CASE("prometheus: label values escape backslash, double quote and newline", "[prometheus]") {
    CHECK(prometheus_label_value("plain é→😀") == "plain é→😀");
    CHECK(prometheus_label_value("a\"b\\c\nd") == "a\\\"b\\\\c\\nd");
    CHECK(prometheus_help_text("a\\b\nc\"") == "a\\\\b\\nc\"");

    MemberStatus status = full_status();
    const std::string text = render_prometheus(status);
    INFO(text);
    // full_status's second group is named GROUP "two" \ é→😀
    CHECK(
        text.find(
            "\ngdoi_member_registrations_total{group=\"GROUP \\\"two\\\" \\\\ é→😀\",group_id=\"4294967295\"} "
            "18446744073709551615\n") != std::string::npos);

    status.groups[1].name = "evil\"} 1\nfake_metric 1\n# TYPE";
    const Parsed p = parse_exposition(render_prometheus(status));
    CHECK(value_of(p, "gdoi_member_registrations_total",
                   {{"group", status.groups[1].name}, {"group_id", "4294967295"}}) == "18446744073709551615");
    CHECK(count_of(p, "fake_metric") == 0);
}

TEST_CASE("prometheus: every line parses, HELP and TYPE once per family, names follow the conventions",
          "[prometheus]") {
    MemberStatus status = full_status();
    status.groups[1].state = "brand-new-state";  // from a newer daemon
    status.groups[0].anti_replay_window = 100;   // anti-replay on in the first group only
    status.groups[0].counters.replays_dropped = 9;
    status.groups[0].teks[0].replays_dropped = 7;
    const std::string text = render_prometheus(status);
    INFO(text);
    const Parsed p = parse_exposition(text);
    const std::map<std::string, std::string> want_types{
        {"gdoi_member_build_info", "gauge"},
        {"gdoi_member_uptime_seconds", "gauge"},
        {"gdoi_member_group_state", "gauge"},
        {"gdoi_member_registrations_total", "counter"},
        {"gdoi_member_registration_failures_total", "counter"},
        {"gdoi_member_rekeys_accepted_total", "counter"},
        {"gdoi_member_rekeys_rejected_total", "counter"},
        {"gdoi_member_acks_sent_total", "counter"},
        {"gdoi_member_recovery_probes_total", "counter"},
        {"gdoi_member_sa_soft_expires_total", "counter"},
        {"gdoi_member_sa_hard_expires_total", "counter"},
        {"gdoi_member_replays_dropped_total", "counter"},
        {"gdoi_member_tek_replays_dropped_total", "counter"},
        {"gdoi_member_kek_remaining_seconds", "gauge"},
        {"gdoi_member_tek_remaining_seconds", "gauge"},
        {"gdoi_member_certificate_remaining_seconds", "gauge"},
        {"gdoi_member_sa_packets_total", "counter"},
        {"gdoi_member_sa_bytes_total", "counter"},
    };
    CHECK(p.types == want_types);
    for (const auto& [name, type] : p.types) {
        INFO(name);
        CHECK(name.starts_with("gdoi_member_"));
        CHECK(name.ends_with("_total") == (type == "counter"));
    }

    const std::map<std::string, std::string> g1{{"group", "GROUP_ID-0001"}, {"group_id", "1"}};
    const auto with = [](std::map<std::string, std::string> l, const std::string& k, const std::string& v) {
        l[k] = v;
        return l;
    };
    // One-hot state: every known state listed, the current one 1.
    for (std::string_view state : kGroupStates)
        CHECK(value_of(p, "gdoi_member_group_state", with(g1, "state", std::string(state))) ==
              (state == "registered" ? "1" : "0"));
    const std::map<std::string, std::string> g2{{"group", status.groups[1].name}, {"group_id", "4294967295"}};
    CHECK(value_of(p, "gdoi_member_group_state", with(g2, "state", "brand-new-state")) == "1");
    CHECK(value_of(p, "gdoi_member_group_state", with(g2, "state", "registered")) == "0");
    CHECK(count_of(p, "gdoi_member_group_state") == 2 * kGroupStates.size() + 1);

    CHECK(value_of(p, "gdoi_member_registration_failures_total", g1) == "1");
    CHECK(value_of(p, "gdoi_member_rekeys_accepted_total", g1) == "40");
    CHECK(value_of(p, "gdoi_member_acks_sent_total", g1) == "40");
    CHECK(value_of(p, "gdoi_member_recovery_probes_total", g1) == "5");
    CHECK(value_of(p, "gdoi_member_sa_soft_expires_total", g1) == "2");
    CHECK(value_of(p, "gdoi_member_sa_hard_expires_total", g1) == "1");
    CHECK(value_of(p, "gdoi_member_replays_dropped_total", g1) == "9");
    CHECK(value_of(p, "gdoi_member_tek_replays_dropped_total", with(g1, "spi", "0x11111111")) == "7");
    CHECK(value_of(p, "gdoi_member_tek_replays_dropped_total", with(g1, "spi", "0x22222222")) == "0");
    // Per TEK only where anti-replay is on (the second group has it off).
    CHECK(count_of(p, "gdoi_member_tek_replays_dropped_total") == status.groups[0].teks.size());
    CHECK(value_of(p, "gdoi_member_kek_remaining_seconds", g1) == "86399");
    CHECK(count_of(p, "gdoi_member_kek_remaining_seconds") == 1);  // the second group has no KEK
    CHECK(value_of(p, "gdoi_member_tek_remaining_seconds",
                   with(with(g1, "spi", "0x11111111"), "role", "active")) == "28799");
    CHECK(value_of(p, "gdoi_member_tek_remaining_seconds",
                   with(with(g1, "spi", "0x22222222"), "role", "inbound-only (activating)")) == "3600");
    // Certificates: ours and the key server's that phase 1 verified (none for the server not reached,
    // none in the second group, which has a pre-shared key).
    CHECK(value_of(p, "gdoi_member_certificate_remaining_seconds", with(g1, "owner", "member")) == "1296000");
    CHECK(value_of(p, "gdoi_member_certificate_remaining_seconds",
                   with(with(g1, "owner", "key-server"), "server", "198.51.100.10:848")) == "2592000");
    CHECK(count_of(p, "gdoi_member_certificate_remaining_seconds") == 2);
    // Per SA: only the SAs the kernel holds (the activating TEK has no outbound SA yet).
    CHECK(value_of(p, "gdoi_member_sa_packets_total",
                   with(with(g1, "spi", "0x11111111"), "direction", "inbound")) == "1200");
    CHECK(value_of(p, "gdoi_member_sa_packets_total",
                   with(with(g1, "spi", "0x11111111"), "direction", "outbound")) == "1100");
    CHECK(value_of(p, "gdoi_member_sa_bytes_total",
                   with(with(g1, "spi", "0x11111111"), "direction", "inbound")) == "1500000");
    CHECK(value_of(p, "gdoi_member_sa_bytes_total",
                   with(with(g1, "spi", "0x11111111"), "direction", "outbound")) == "18446744073709551615");
    CHECK(value_of(p, "gdoi_member_sa_bytes_total",
                   with(with(g1, "spi", "0x22222222"), "direction", "inbound")) == "360");
    CHECK(count_of(p, "gdoi_member_sa_packets_total") == 3);
    CHECK(count_of(p, "gdoi_member_sa_bytes_total") == 3);
}

TEST_CASE("prometheus: families without samples are left out, the member-wide ones stay", "[prometheus]") {
    MemberStatus status;
    status.version = "9.9.9";
    status.uptime_seconds = 5;
    CHECK(render_prometheus(status) ==
          "# HELP gdoi_member_build_info The gdoi-memberd version, as a label; always 1.\n"
          "# TYPE gdoi_member_build_info gauge\n"
          "gdoi_member_build_info{version=\"9.9.9\"} 1\n"
          "# HELP gdoi_member_uptime_seconds Time since gdoi-memberd started.\n"
          "# TYPE gdoi_member_uptime_seconds gauge\n"
          "gdoi_member_uptime_seconds 5\n");

    // A group registering: no KEK, no TEK, no SA yet.
    GroupStatus g;
    g.name = "g";
    g.id = 7;
    g.state = "registering";
    g.counters.rekeys_rejected_by_reason = {{"malformed", 0}};
    status.groups.push_back(g);
    const std::string text = render_prometheus(status);
    const Parsed p = parse_exposition(text);
    CHECK(p.types.count("gdoi_member_kek_remaining_seconds") == 0);
    CHECK(p.types.count("gdoi_member_tek_remaining_seconds") == 0);
    CHECK(p.types.count("gdoi_member_sa_packets_total") == 0);
    CHECK(value_of(p, "gdoi_member_rekeys_rejected_total",
                   {{"group", "g"}, {"group_id", "7"}, {"reason", "malformed"}}) == "0");
    CHECK(value_of(p, "gdoi_member_registrations_total", {{"group", "g"}, {"group_id", "7"}}) == "0");
}
