// The configuration loader ("Proofs: Config tests"): the issue's sample parses into
// the expected values, and every kind of bad file gives its documented error with line and
// column. Documents are inline; their first line is line 1.
#include "config/config.h"

#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "finishes_within.h"
#include "gdoi/private_file.h"
#include "temp_dir.h"

using namespace member;
using member_test::TempDir;

namespace {

std::string error_of(std::string_view text) {
    auto r = parse_config(text, "member.toml");
    REQUIRE_FALSE(r.ok());
    return r.error().message;
}

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

MemberConfig parse_ok(std::string_view text, const std::string& source = "member.toml") {
    auto r = parse_config(text, source);
    if (!r.ok()) FAIL(r.error().message);
    return std::move(r).value();
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
    for (auto pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size()))
        s.replace(pos, from.size(), to);
    return s;
}

std::string read_text(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string psk_string(const gdoi::SecureBytes& b) {
    return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// The sample configuration of docs (packaging/member.toml.example style), verbatim but for the key file.
const std::string kIssueSample = R"([member]
local-address = "192.0.2.1"            # source of IKE/GDOI, must be local
wan-interface = "eth1"                 # group-vpn-external-interface
control-socket = "/run/gdoi-member/control.sock"

[[group]]
name = "GROUP_ID-0001"
id = 1                                 # 1..4294967295
servers = ["198.51.100.10", "198.51.100.11:848"]  # 1..4 key servers, tried in order; port defaults to 848
ike.mode = "main"                      # or "aggressive"
ike.proposals = ["aes256-sha256-modp2048", "aes128-sha1-modp1536"]
ike.psk-file = "/etc/gdoi-member/group1.psk"   # or ike.psk; file must not be group/world readable
ike.lifetime = 86400
recovery-probe = true
lan-interfaces = ["eth0"]              # the protected side (the seed's from-zone)
exclude = [ { protocol = "tcp", destination-port = 179 } ]          # at most 10
fail-open = [ { source = "10.1.0.0/16", destination = "10.2.0.0/16" } ] # at most 10
)";

// A valid document to break one line at a time (line numbers are used by the tests below).
const std::string kValid = R"([member]
local-address = "192.0.2.1"
wan-interface = "eth1"

[[group]]
name = "G1"
id = 1
servers = ["198.51.100.10"]
ike.psk = "inline-test-key"
lan-interfaces = ["eth0"]
)";

// kValid with line `n` (1-based) replaced by `text` (which may hold several lines).
std::string with_line(int n, const std::string& text) {
    std::istringstream in(kValid);
    std::string line, out;
    for (int i = 1; std::getline(in, line); ++i) out += (i == n ? text : line) + "\n";
    return out;
}

}  // namespace

TEST_CASE("config: the issue's sample parses into the expected values", "[config]") {
    TempDir dir;
    const auto psk = dir.write("group1.psk", "group-one-secret\n", 0600);
    const auto cfg = parse_ok(replace_all(kIssueSample, "/etc/gdoi-member/group1.psk", psk));

    CHECK(cfg.source == "member.toml");
    CHECK(cfg.local_address.address_string() == "192.0.2.1");
    CHECK(cfg.wan_interface == "eth1");
    CHECK(cfg.control_socket == "/run/gdoi-member/control.sock");
    CHECK(cfg.log_level == gdoi::LogLevel::Info);
    REQUIRE(cfg.groups.size() == 1);

    const auto& g = cfg.groups[0];
    CHECK(g.name == "GROUP_ID-0001");
    CHECK(g.id == 1);
    REQUIRE(g.servers.size() == 2);
    CHECK(g.servers[0].to_string() == "198.51.100.10:848");
    CHECK(g.servers[1].to_string() == "198.51.100.11:848");
    CHECK(g.local_port == 848);
    CHECK(g.ike_mode == gdoi::Phase1Mode::Main);
    REQUIRE(g.ike_proposals.size() == 2);
    CHECK(g.ike_proposals[0] == *gdoi::parse_ike_proposal("aes256-sha256-modp2048"));
    CHECK(g.ike_proposals[1] == *gdoi::parse_ike_proposal("aes128-sha1-modp1536"));
    CHECK(psk_string(g.ike_psk) == "group-one-secret");  // one trailing newline stripped
    CHECK(g.ike_psk_file == psk);
    CHECK(g.ike_lifetime == 86400);
    CHECK(g.ike_doi == 2);
    CHECK(g.recovery_probe);
    CHECK(g.lan_interfaces == std::vector<std::string>{"eth0"});

    REQUIRE(g.exclude.size() == 1);
    const auto& ex = g.exclude[0].selector;
    CHECK(ex.protocol == std::uint8_t{6});
    CHECK(ex.destination_port == policy::PortRange::single(179));
    CHECK_FALSE(ex.source_port);
    CHECK_FALSE(ex.source);
    CHECK_FALSE(ex.destination);

    REQUIRE(g.fail_open.size() == 1);
    const auto& fo = g.fail_open[0].selector;
    CHECK(fo.source == *policy::Prefix::parse("10.1.0.0/16"));
    CHECK(fo.destination == *policy::Prefix::parse("10.2.0.0/16"));
    CHECK_FALSE(fo.protocol);

    CHECK(g.allow_gcm == AllowGcm::warn);
    CHECK(g.gcm_expected_senders == kDefaultGcmExpectedSenders);
    CHECK(cfg.find_group("GROUP_ID-0001") == &g);
    CHECK(cfg.find_group("nope") == nullptr);
}

TEST_CASE("config: defaults and the optional fields", "[config]") {
    const auto cfg = parse_ok(kValid);
    REQUIRE(cfg.groups.size() == 1);
    const auto& g = cfg.groups[0];
    CHECK(cfg.control_socket == kDefaultControlSocket);
    REQUIRE(g.ike_proposals.size() == 1);
    CHECK(g.ike_proposals[0].name() == "aes256-sha256-modp2048");
    CHECK(g.ike_mode == gdoi::Phase1Mode::Main);
    CHECK(psk_string(g.ike_psk) == "inline-test-key");
    CHECK(g.ike_psk_file.empty());
    CHECK(g.ike_doi == 2);
    CHECK(g.recovery_probe);
    CHECK(g.allow_gcm == AllowGcm::warn);
    CHECK(g.local_port == 848);

    const auto full = parse_ok(R"([member]
local-address = "2001:db8::1"
wan-interface = "wan0"
control-socket = "/run/gm.sock"
log-level = "debug"

[[group]]
name = "v6"
id = 4294967295
servers = ["2001:db8::10", "[2001:db8::11]:1848"]
local-port = 1848
ike.mode = "aggressive"
ike.proposals = ["aes128-sha256-ecp256", "aes256-sha384-ecp256"]
ike.psk = "k"
ike.lifetime = 3600
ike.doi = 1
recovery-probe = false
lan-interfaces = ["lan0", "lan1"]
exclude = [ { protocol = 89 }, { protocol = "udp", source-port = "1024-65535", destination = "2001:db8:5::/48" } ]
fail-open = [ { source = "2001:db8:1::/48", protocol = "icmpv6" } ]
allow-gcm = "refuse"
gcm-expected-senders = 20
df-bit = "copy"
)");
    CHECK(full.local_address.address_string() == "2001:db8::1");
    CHECK(full.log_level == gdoi::LogLevel::Debug);
    const auto& v6 = full.groups.at(0);
    CHECK(v6.id == 4294967295u);
    CHECK(v6.servers.at(0).to_string() == "[2001:db8::10]:848");
    CHECK(v6.servers.at(1).to_string() == "[2001:db8::11]:1848");
    CHECK(v6.local_port == 1848);
    CHECK(v6.ike_mode == gdoi::Phase1Mode::Aggressive);
    CHECK(v6.ike_lifetime == 3600);
    CHECK(v6.ike_doi == 1);
    CHECK_FALSE(v6.recovery_probe);
    CHECK(v6.lan_interfaces == std::vector<std::string>{"lan0", "lan1"});
    REQUIRE(v6.exclude.size() == 2);
    CHECK(v6.exclude[0].selector.protocol == std::uint8_t{89});
    CHECK(v6.exclude[1].selector.source_port == policy::PortRange{1024, 65535});
    CHECK(v6.exclude[1].selector.destination->to_string() == "2001:db8:5::/48");
    CHECK(v6.fail_open.at(0).selector.protocol == std::uint8_t{58});
    CHECK(v6.allow_gcm == AllowGcm::refuse);
    CHECK(v6.gcm_expected_senders == 20);
    CHECK(v6.df_bit == DfBit::copy);
}

TEST_CASE("config: df-bit is clear unless set", "[config]") {
    CHECK(parse_ok(with_line(10, "lan-interfaces = [\"eth0\"]")).groups.at(0).df_bit == DfBit::clear);
    CHECK(parse_ok(with_line(10, "lan-interfaces = [\"eth0\"]\ndf-bit = \"set\"")).groups.at(0).df_bit ==
          DfBit::set);
    CHECK(error_of(with_line(10, "lan-interfaces = [\"eth0\"]\ndf-bit = \"off\"")) ==
          "member.toml:11:10: group \"G1\": df-bit: expected \"clear\", \"copy\" or \"set\", got \"off\"");
}

TEST_CASE("config: anti-replay-time-window is off, or 60..360 seconds", "[config]") {
    const auto with = [](const std::string& v) {
        return with_line(10, "lan-interfaces = [\"eth0\"]\nanti-replay-time-window = " + v);
    };
    CHECK(parse_ok(with_line(10, "lan-interfaces = [\"eth0\"]")).groups.at(0).anti_replay_window == 0);
    CHECK(parse_ok(with("0")).groups.at(0).anti_replay_window == 0);
    CHECK(parse_ok(with("60")).groups.at(0).anti_replay_window == 60);
    CHECK(parse_ok(with("360")).groups.at(0).anti_replay_window == 360);
    CHECK(error_of(with("30")) ==
          "member.toml:11:27: group \"G1\": anti-replay-time-window: expected 0 (off) or 60..360 seconds, "
          "got 30");
    CHECK(error_of(with("361")) ==
          "member.toml:11:27: group \"G1\": anti-replay-time-window: 361 is out of range; "
          "expected 0..360 (seconds: 0 (off) or 60..360, as Junos' "
          "anti-replay-time-window)");
}

TEST_CASE("config: the ike keys as a [group.ike] table or an inline table", "[config]") {
    const auto table = parse_ok(with_line(9, "") + "[group.ike]\nmode = \"aggressive\"\npsk = \"k1\"\n");
    CHECK(table.groups.at(0).ike_mode == gdoi::Phase1Mode::Aggressive);
    CHECK(psk_string(table.groups.at(0).ike_psk) == "k1");

    const auto inline_table =
        parse_ok(with_line(9, R"(ike = { mode = "main", psk = "k2", lifetime = 600 })"));
    CHECK(inline_table.groups.at(0).ike_lifetime == 600);
    CHECK(psk_string(inline_table.groups.at(0).ike_psk) == "k2");

    // A misplaced key in [group.ike] is reported where it is, with where it belongs.
    CHECK(error_of(with_line(9, "") + "[group.ike]\npsk = \"k1\"\nrecovery-probe = true\n") ==
          "member.toml:13:1: group \"G1\": unknown key \"recovery-probe\" in ike; it belongs in a [[group]] "
          "table");
}

TEST_CASE("config: packaging/member.toml.example is a valid configuration", "[config]") {
    const auto example =
        std::filesystem::path(__FILE__).parent_path() / "../../../packaging/member.toml.example";
    const auto text = read_text(example);
    REQUIRE_FALSE(text.empty());
    TempDir dir;
    const auto psk = dir.write("group.psk", "example-key\n", 0600);
    // Point every key file at the temporary one: the example's paths exist only on a router.
    std::string patched;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("ike.psk-file", 0) == 0) line = "ike.psk-file = \"" + psk + "\"";
        patched += line + "\n";
    }
    const auto cfg = parse_ok(patched, "member.toml.example");
    CHECK(cfg.groups.size() >= 1);
}

TEST_CASE("config: TOML syntax error names line and column", "[config][errors]") {
    CHECK(error_of(with_line(7, "id = = 1")) ==
          "member.toml:7:6: TOML syntax error: Error while parsing value: could not determine value type");
    CHECK(
        first_line(error_of(with_line(6, "name = \"G1"))).rfind("member.toml:6:11: TOML syntax error: ", 0) ==
        0);
}

TEST_CASE("config: unknown keys are errors with a suggestion", "[config][errors]") {
    SECTION("top level") {
        CHECK(error_of("verbose = true\n" + kValid) ==
              "member.toml:1:1: unknown key \"verbose\" in the top level; known keys: member, group");
        CHECK(error_of(replace_all(kValid, "[[group]]", "[[groups]]")) ==
              "member.toml:1:1: no [[group]] table; add at least one group (name, id, servers, ike.psk-file, "
              "lan-interfaces)\n"
              "member.toml:5:3: unknown key \"groups\" in the top level; did you mean \"group\"?");
    }
    SECTION("in [member]") {
        CHECK(error_of(with_line(3, "wan-interface = \"eth1\"\nlocal_port = 848")) ==
              "member.toml:4:1: unknown key \"local_port\" in [member]; it belongs in a [[group]] table (as "
              "\"local-port\")");
        CHECK(error_of(with_line(3, "wan-interface = \"eth1\"\nlocal_address = \"192.0.2.1\"")) ==
              "member.toml:4:1: unknown key \"local_address\" in [member]; did you mean \"local-address\"?");
        CHECK(error_of(with_line(3, "wan-interface = \"eth1\"\nservers = [\"198.51.100.1\"]")) ==
              "member.toml:4:1: unknown key \"servers\" in [member]; it belongs in a [[group]] table");
    }
    SECTION("in a group") {
        CHECK(error_of(with_line(10, "lan-interfaces = [\"eth0\"]\nrecovery_probe = true")) ==
              "member.toml:11:1: group \"G1\": unknown key \"recovery_probe\" in [[group]]; did you mean "
              "\"recovery-probe\"?");
        CHECK(error_of(with_line(10, "lan-interfaces = [\"eth0\"]\nike-mode = \"main\"")) ==
              "member.toml:11:1: group \"G1\": unknown key \"ike-mode\" in [[group]]; did you mean "
              "\"ike.mode\"?");
        CHECK(error_of(with_line(10, "lan-interfaces = [\"eth0\"]\nike.lifetme = 3600")) ==
              "member.toml:11:5: group \"G1\": unknown key \"lifetme\" in ike; did you mean \"lifetime\"?");
        CHECK(error_of(with_line(10, "lan-interfaces = [\"eth0\"]\ncolour = \"blue\"")) ==
              "member.toml:11:1: group \"G1\": unknown key \"colour\" in [[group]]; known keys: name, id, "
              "servers, "
              "local-port, ike, recovery-probe, lan-interfaces, exclude, fail-open, allow-gcm, "
              "gcm-expected-senders, df-bit, anti-replay-time-window");
    }
    SECTION("in a rule") {
        CHECK(error_of(with_line(
                  10, "lan-interfaces = [\"eth0\"]\nexclude = [ { protocol = \"tcp\", dport = 179 } ]")) ==
              "member.toml:11:33: group \"G1\": exclude rule 1: unknown key \"dport\" in an exclude rule; "
              "known "
              "keys: protocol, source, destination, source-port, destination-port");
        CHECK(error_of(with_line(10,
                                 "lan-interfaces = [\"eth0\"]\n"
                                 "fail-open = [ { source = \"10.1.0.0/16\", destination-port = 80 } ]")) ==
              "member.toml:11:41: group \"G1\": fail-open rule 1: unknown key \"destination-port\" in a "
              "fail-open "
              "rule; fail-open rules match source, destination and protocol only");
    }
}

TEST_CASE("config: wrong type", "[config][errors]") {
    CHECK(error_of(with_line(7, "id = \"1\"")) ==
          "member.toml:7:6: group \"G1\": id: expected an integer 1..4294967295 (the GDOI group id), got a "
          "string");
    CHECK(error_of(with_line(8, "servers = \"198.51.100.10\"")) ==
          "member.toml:8:11: group \"G1\": servers: expected a list of 1..4 key server addresses, e.g. "
          "[\"198.51.100.10\", \"198.51.100.11:848\"], got a string");
    CHECK(error_of(with_line(10, "lan-interfaces = [\"eth0\"]\nrecovery-probe = \"yes\"")) ==
          "member.toml:11:18: group \"G1\": recovery-probe: expected true or false, got a string");
    CHECK(error_of(with_line(5, "[group]")) ==
          "member.toml:5:1: group: expected one [[group]] table per group, got a table; write [[group]] (two "
          "brackets) before each group");
}

TEST_CASE("config: group id out of range", "[config][errors]") {
    CHECK(error_of(with_line(7, "id = 0")) ==
          "member.toml:7:6: group \"G1\": id: 0 is out of range; expected 1..4294967295 (the GDOI group id)");
    CHECK(error_of(with_line(7, "id = 4294967296")) ==
          "member.toml:7:6: group \"G1\": id: 4294967296 is out of range; expected 1..4294967295 (the GDOI "
          "group id)");
    CHECK(parse_ok(with_line(7, "id = 4294967295")).groups.at(0).id == 4294967295u);
}

TEST_CASE("config: at most four key servers", "[config][errors]") {
    CHECK(
        error_of(with_line(
            8,
            R"(servers = ["198.51.100.1", "198.51.100.2", "198.51.100.3", "198.51.100.4", "198.51.100.5"])")) ==
        "member.toml:8:76: group \"G1\": servers: 5 key servers; at most 4 are allowed (tried in order)");
    CHECK(error_of(with_line(8, "servers = []")) ==
          "member.toml:8:11: group \"G1\": servers: the list is empty; give 1..4 key server addresses, e.g. "
          "[\"198.51.100.10\"]");
}

TEST_CASE("config: bad key server address or port", "[config][errors]") {
    CHECK(error_of(with_line(8, R"(servers = ["198.51.100.10", "ks.example.net"])")) ==
          "member.toml:8:29: group \"G1\": servers: \"ks.example.net\" is not an IPv4 or IPv6 address (host "
          "names "
          "are not resolved); expected an IP address with an optional port, e.g. \"198.51.100.10\", "
          "\"198.51.100.11:848\" or \"[2001:db8::1]:848\"");
    CHECK(error_of(with_line(8, R"(servers = ["198.51.100.10:70000"])")) ==
          "member.toml:8:12: group \"G1\": servers: port \"70000\" in \"198.51.100.10:70000\" is not a port "
          "number "
          "1..65535 (the GDOI port is 848)");
    CHECK(error_of(with_line(8, R"(servers = ["198.51.100.10:"])")) ==
          "member.toml:8:12: group \"G1\": servers: port \"\" in \"198.51.100.10:\" is not a port number "
          "1..65535 "
          "(the GDOI port is 848)");
    CHECK(first_line(error_of(with_line(8, R"(servers = ["[2001:db8::1:848"])")))
              .rfind("member.toml:8:12: group \"G1\": servers: \"[2001:db8::1:848\" lacks the closing ']'",
                     0) == 0);
    CHECK(error_of(with_line(8, R"(servers = ["2001:db8::10"])")) ==
          "member.toml:8:12: group \"G1\": servers: [2001:db8::10]:848 is not of the address family of "
          "local-address 192.0.2.1; give key servers reachable from local-address");
    CHECK(error_of(with_line(8, R"(servers = ["198.51.100.10", "198.51.100.10:848"])")) ==
          "member.toml:8:29: group \"G1\": servers: 198.51.100.10:848 is listed twice; list each key server "
          "once");
}

TEST_CASE("config: local-address must be an IP literal", "[config][errors]") {
    CHECK(error_of(with_line(2, "local-address = \"router1\"")) ==
          "member.toml:2:17: local-address: expected an IPv4 or IPv6 address of this router (e.g. "
          "\"192.0.2.1\"), "
          "got \"router1\"; host names are not resolved");
    CHECK(error_of(with_line(2, "local-address = \"0.0.0.0\"")) ==
          "member.toml:2:17: local-address: \"0.0.0.0\" is not a unicast address; give this router's own "
          "address");
}

TEST_CASE("config: duplicate group name or id", "[config][errors]") {
    const std::string second = R"(
[[group]]
name = "%NAME%"
id = %ID%
servers = ["198.51.100.20"]
ike.psk = "other-key"
lan-interfaces = ["eth2"]
)";
    // The second group starts on line 12 of kValid + second.
    CHECK(
        error_of(kValid + replace_all(replace_all(second, "%NAME%", "G1"), "%ID%", "2")) ==
        "member.toml:13:8: group \"G1\": name: the name is already used by the group at line 6; group names "
        "must be unique");
    CHECK(
        error_of(kValid + replace_all(replace_all(second, "%NAME%", "G2"), "%ID%", "1")) ==
        "member.toml:14:6: group \"G2\": id: 1 is already the id of group \"G1\" (line 7); group ids must be "
        "unique");
    const auto two = parse_ok(kValid + replace_all(replace_all(second, "%NAME%", "G2"), "%ID%", "2"));
    CHECK(two.groups.size() == 2);
}

TEST_CASE("config: at most ten exclude and fail-open rules", "[config][errors]") {
    std::string rules = "exclude = [";
    for (int i = 0; i < 11; ++i)
        rules += std::string(i ? ", " : " ") + "{ destination-port = " + std::to_string(1000 + i) +
                 ", protocol = \"tcp\" }";
    rules += " ]";
    // Each rule with its ", " is 47 characters wide; the eleventh starts at column 13 + 10 * 47.
    CHECK(
        error_of(with_line(10, "lan-interfaces = [\"eth0\"]\n" + rules)) ==
        "member.toml:11:483: group \"G1\": exclude: 11 rules; at most 10 are allowed (merge rules with wider "
        "prefixes or port ranges)");

    std::string fail_open = "fail-open = [\n";
    for (int i = 0; i < 11; ++i) fail_open += "  { source = \"10." + std::to_string(i) + ".0.0/16\" },\n";
    fail_open += "]";
    CHECK(
        error_of(with_line(10, "lan-interfaces = [\"eth0\"]\n" + fail_open)) ==
        "member.toml:22:3: group \"G1\": fail-open: 11 rules; at most 10 are allowed (merge rules with wider "
        "prefixes or port ranges)");
}

TEST_CASE("config: bad prefixes, ports and protocols in rules", "[config][errors]") {
    const auto rule = [](const std::string& r) { return with_line(10, "lan-interfaces = [\"eth0\"]\n" + r); };
    CHECK(error_of(rule(R"(fail-open = [ { source = "10.1.0.1/16" } ])")) ==
          "member.toml:11:26: group \"G1\": fail-open rule 1: source: bad prefix '10.1.0.1/16': host bits "
          "are set "
          "(did you mean 10.1.0.0/16?)");
    CHECK(error_of(rule(R"(exclude = [ { destination = "10.2.0.0/33" } ])")) ==
          "member.toml:11:29: group \"G1\": exclude rule 1: destination: bad prefix '10.2.0.0/33': length 33 "
          "exceeds 32");
    CHECK(
        error_of(rule(R"(exclude = [ { protocol = "tpc" } ])")) ==
        "member.toml:11:26: group \"G1\": exclude rule 1: protocol: unknown protocol 'tpc': use a name (tcp, "
        "udp, icmp, ospf, ...) or a number 0-255");
    CHECK(error_of(rule(R"(exclude = [ { protocol = "tcp", destination-port = "2000-1000" } ])")) ==
          "member.toml:11:52: group \"G1\": exclude rule 1: destination-port: the range \"2000-1000\" is "
          "reversed; "
          "write \"1000-2000\"");
    CHECK(error_of(rule(R"(exclude = [ { protocol = "tcp", destination-port = 0 } ])")) ==
          "member.toml:11:52: group \"G1\": exclude rule 1: destination-port: 0 is out of range; expected "
          "1..65535 "
          "(a port)");
    CHECK(error_of(rule(R"(exclude = [ { protocol = "icmp", destination-port = 179 } ])")) ==
          "member.toml:11:13: group \"G1\": exclude rule 1: ports need protocol tcp, udp, sctp, dccp or "
          "udplite "
          "(protocol is icmp)");
    CHECK(error_of(rule(R"(exclude = [ { } ])")) ==
          "member.toml:11:13: group \"G1\": exclude rule 1: the rule is empty and would match all traffic; "
          "give at "
          "least one of protocol, source, destination, source-port, destination-port");
    CHECK(error_of(rule(R"(fail-open = [ { source = "10.1.0.0/16", destination = "2001:db8::/32" } ])")) ==
          "member.toml:11:15: group \"G1\": fail-open rule 1: source 10.1.0.0/16 and destination "
          "2001:db8::/32 are "
          "of different address families");
}

TEST_CASE("config: IKE proposals and mode", "[config][errors]") {
    const auto ike = [](const std::string& lines) {
        return with_line(9, "ike.psk = \"inline-test-key\"\n" + lines);
    };
    CHECK(
        first_line(error_of(ike(R"(ike.proposals = ["aes256-sha256-modp2048", "aes256-md5-modp2048"])")))
            .rfind(
                "member.toml:10:44: group \"G1\": ike.proposals: IKE proposal 'aes256-md5-modp2048': unknown "
                "hash 'md5' (supported ",
                0) == 0);
    CHECK(
        error_of(ike(R"(ike.mode = "agressive")")) ==
        "member.toml:10:12: group \"G1\": ike.mode: expected \"main\" or \"aggressive\", got \"agressive\"");
    CHECK(error_of(ike("ike.mode = \"aggressive\"\n"
                       R"(ike.proposals = ["aes256-sha256-modp2048", "aes128-sha1-modp1536"])")) ==
          "member.toml:11:17: group \"G1\": ike.proposals: aggressive mode sends its Diffie-Hellman value in "
          "the "
          "first message, so all proposals must use one DH group; \"aes256-sha256-modp2048\" and "
          "\"aes128-sha1-modp1536\" differ; use one group in every proposal or ike.mode = \"main\"");
    CHECK(error_of(ike("ike.lifetime = 30")) ==
          "member.toml:10:16: group \"G1\": ike.lifetime: 30 is out of range; expected 60..604800 (seconds "
          "of the "
          "phase-1 SA, 86400 by default)");
    CHECK(error_of(ike("ike.doi = 3"))
              .rfind("member.toml:10:11: group \"G1\": ike.doi: 3 is out of range; expected 1..2", 0) == 0);
    CHECK(error_of(with_line(10, "lan-interfaces = [\"eth0\"]\nallow-gcm = \"yes\"")) ==
          "member.toml:11:13: group \"G1\": allow-gcm: expected \"accept\", \"warn\" or \"refuse\", got "
          "\"yes\"");
}

TEST_CASE("config: missing required keys are named", "[config][errors]") {
    CHECK(error_of(with_line(3, "")) ==
          "member.toml:1:1: missing required key \"wan-interface\" (the interface towards the key servers, "
          "e.g. "
          "\"eth1\")");
    CHECK(error_of(with_line(8, "")) ==
          "member.toml:5:1: group \"G1\": missing required key \"servers\" (1..4 key server addresses, e.g. "
          "servers "
          "= [\"198.51.100.10\"])");
    CHECK(error_of(with_line(9, "")) ==
          "member.toml:5:1: group \"G1\": missing required key \"ike.psk-file\" (the file holding the "
          "group's IKE "
          "pre-shared key; or ike.psk)");
    CHECK(error_of(with_line(9, "ike.mode = \"main\"")) ==
          "member.toml:9:1: group \"G1\": ike: missing required key \"psk-file\" (the file holding the "
          "group's IKE "
          "pre-shared key; or ike.psk with the key itself)");
    CHECK(error_of(with_line(6, "")) ==
          "member.toml:5:1: group #1: missing required key \"name\" (the group's name for logs and gdoictl, "
          "e.g. "
          "\"GROUP_ID-0001\")");
    CHECK(error_of("[[group]]\nname = \"G1\"\nid = 1\nservers = [\"198.51.100.10\"]\nike.psk = \"k\"\n"
                   "lan-interfaces = [\"eth0\"]\n") ==
          "member.toml:1:1: missing required table [member] (with local-address and wan-interface)");
}

TEST_CASE("config: ike.psk and ike.psk-file together", "[config][errors][psk]") {
    CHECK(
        error_of(with_line(9, "ike.psk = \"inline-test-key\"\nike.psk-file = \"/etc/gdoi-member/g1.psk\"")) ==
        "member.toml:10:16: group \"G1\": ike.psk-file: both ike.psk and ike.psk-file are set; keep exactly "
        "one "
        "(ike.psk-file keeps the key out of this file)");
}

TEST_CASE("config: the PSK file must not be group or world readable", "[config][errors][psk]") {
    TempDir dir;
    const auto psk = dir.write("g1.psk", "file-secret-42\r\n", 0644);
    const auto doc = with_line(9, "ike.psk-file = \"" + psk + "\"");
    CHECK(error_of(doc) ==
          "member.toml:9:16: group \"G1\": ike.psk-file: " + psk +
              " has mode 0644, group-readable and world-readable; the key file must be readable by "
              "its owner only: run chmod 600 " +
              psk);

    REQUIRE(::chmod(psk.c_str(), 0600) == 0);
    const auto cfg = parse_ok(doc);
    CHECK(psk_string(cfg.groups.at(0).ike_psk) == "file-secret-42");

    REQUIRE(::chmod(psk.c_str(), 0620) == 0);
    CHECK(error_of(doc).find("has mode 0620, group-writable;") != std::string::npos);

    // Relative paths are relative to the configuration file's directory.
    REQUIRE(::chmod(psk.c_str(), 0400) == 0);
    const auto rel =
        parse_ok(with_line(9, "ike.psk-file = \"g1.psk\""), (dir.path() / "member.toml").string());
    CHECK(rel.groups.at(0).ike_psk_file == psk);

    CHECK(error_of(with_line(9, "ike.psk-file = \"" + (dir.path() / "missing.psk").string() + "\"")) ==
          "member.toml:9:16: group \"G1\": ike.psk-file: cannot open " +
              (dir.path() / "missing.psk").string() + ": No such file or directory; give the key file");
    const auto empty = dir.write("empty.psk", "\n", 0600);
    CHECK(error_of(with_line(9, "ike.psk-file = \"" + empty + "\"")) ==
          "member.toml:9:16: group \"G1\": ike.psk-file: " + empty +
              " holds no key (only a newline); write the pre-shared key into it");
}

TEST_CASE("config: an inline PSK needs a configuration file only its owner can read",
          "[config][errors][psk]") {
    TempDir dir;
    const auto path = dir.write("member.toml", kValid, 0644);
    auto r = load_config(path);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == path + ":9:11: group \"G1\": ike.psk: the key is inline but " + path +
                                   " has mode 0644, group-readable and world-readable; run chmod 600 " +
                                   path + " or move the key to ike.psk-file");
    REQUIRE(::chmod(path.c_str(), 0600) == 0);
    auto ok = load_config(path);
    REQUIRE(ok.ok());
    CHECK(psk_string(ok->groups.at(0).ike_psk) == "inline-test-key");
    CHECK(ok->source == path);

    auto missing = load_config((dir.path() / "nope.toml").string());
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().message.find(
              "nope.toml: No such file or directory; give the configuration file (-c FILE") !=
          std::string::npos);
}

TEST_CASE("config: a pre-shared key never appears in an error", "[config][errors][psk]") {
    // Many errors in one file, the key among them in every shape the loader looks at.
    const auto doc =
        with_line(9, "ike.psk = \"S3cr3t-PSK-value\"\nike.psk-file = \"/nonexistent\"\nike.mood = 1") +
        "[[group]]\nname = \"G2\"\nike.psk = 987654321\n";
    const auto msg = error_of(doc);
    CHECK(msg.find("S3cr3t") == std::string::npos);
    CHECK(msg.find("987654321") == std::string::npos);
    CHECK(
        msg.find("member.toml:15:11: group \"G2\": ike.psk: expected the pre-shared key as a string, got an "
                 "integer") != std::string::npos);
}

TEST_CASE("config: errors come in file order, one per line", "[config][errors]") {
    const auto msg = error_of(with_line(7, "id = 0") + "[[group]]\nname = \"bad name\"\n");
    CHECK(
        msg ==
        "member.toml:7:6: group \"G1\": id: 0 is out of range; expected 1..4294967295 (the GDOI group id)\n"
        "member.toml:11:1: group #2: missing required key \"id\" (the GDOI group id, 1..4294967295)\n"
        "member.toml:11:1: group #2: missing required key \"servers\" (1..4 key server addresses, e.g. "
        "servers = "
        "[\"198.51.100.10\"])\n"
        "member.toml:11:1: group #2: missing required key \"ike.psk-file\" (the file holding the group's IKE "
        "pre-shared key; or ike.psk)\n"
        "member.toml:11:1: group #2: missing required key \"lan-interfaces\" (the protected-side interfaces, "
        "e.g. "
        "lan-interfaces = [\"eth0\"])\n"
        "member.toml:12:8: group #2: name: expected 1..64 letters, digits, '_', '-' or '.', got \"bad "
        "name\"");
}

TEST_CASE("config: groups and rules of the wrong shape", "[config][errors]") {
    CHECK(error_of("group = []\n[member]\nlocal-address = \"192.0.2.1\"\nwan-interface = \"eth1\"\n") ==
          "member.toml:1:9: group: the list of groups is empty; add at least one [[group]] table");
    CHECK(error_of("[member]\nlocal-address = \"192.0.2.1\"\nwan-interface = \"eth1\"\ngroup = []\n") ==
          "member.toml:1:1: no [[group]] table; add at least one group (name, id, servers, ike.psk-file, "
          "lan-interfaces)\n"
          "member.toml:4:1: unknown key \"group\" in [member]; it belongs in the top level: start each group "
          "with a "
          "[[group]] line");
    CHECK(error_of(with_line(10, "lan-interfaces = [\"eth0\"]\nexclude = [\"tcp/179\"]")) ==
          "member.toml:11:12: group \"G1\": exclude rule 1: expected a table such as { source = "
          "\"10.1.0.0/16\" }, "
          "got a string");
    CHECK(error_of(with_line(9, R"(ike.psk = "")")) ==
          "member.toml:9:11: group \"G1\": ike.psk: the pre-shared key is empty; give the key, or use "
          "ike.psk-file");
}

TEST_CASE("config: interfaces", "[config][errors]") {
    CHECK(error_of(with_line(10, R"(lan-interfaces = ["eth1"])")) ==
          "member.toml:10:19: group \"G1\": lan-interfaces: \"eth1\" is the wan-interface; a LAN interface "
          "is on the "
          "protected side");
    CHECK(
        error_of(with_line(3, R"(wan-interface = "a-very-long-interface")")) ==
        "member.toml:3:17: wan-interface: expected an interface name of 1..15 characters without '/', ':' or "
        "spaces, got \"a-very-long-interface\"");
}

// files that hung or crashed the daemon.

TEST_CASE("config: a dotted key of 40,000 parts is refused with file:line, not a crash",
          "[config][errors][bounds]") {
    std::string key = "k";
    for (int i = 0; i < 40000; ++i) key += ".k";
    const auto doc = with_line(9, key + " = 1");
    std::string message;
    // In a child: on a loader without the bound, toml++ overflows the stack.
    CHECK(member_test::finishes_within(std::chrono::seconds(20), [&] {
        auto r = parse_config(doc, "member.toml");
        return !r.ok() && r.error().message.rfind("member.toml:9:", 0) == 0 &&
               r.error().message.find("dotted parts") != std::string::npos;
    }));
    CHECK_THAT(error_of(with_line(9, "a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q = 1")),
               Catch::StartsWith("member.toml:9:32: a key of more than 16 dotted parts;"));
    // Dots inside strings and comments are no key parts; a real file is unaffected.
    parse_ok(with_line(8, "servers = [\"198.51.100.10\"]  # a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r"));
    parse_ok(with_line(9, "ike.psk = \"a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s\""));
}

TEST_CASE("config: nesting and line length are bounded before the parser", "[config][errors][bounds]") {
    const std::string deep = "x = " + std::string(5000, '[') + std::string(5000, ']');
    CHECK_THAT(error_of(with_line(9, deep)),
               Catch::StartsWith("member.toml:9:21: arrays or tables nested more than 16"));
    const std::string inline_deep = "x = " + std::string(40, '{');
    CHECK_THAT(error_of(with_line(9, inline_deep)),
               Catch::StartsWith("member.toml:9:21: arrays or tables nested"));
    CHECK_THAT(error_of(with_line(9, "# " + std::string(5000, 'x'))),
               Catch::StartsWith("member.toml:9:4097: line longer than 4096 characters"));
}

TEST_CASE("config: a FIFO or a symlink as the configuration is refused at once", "[config][errors][files]") {
    TempDir dir;
    const auto fifo = (dir.path() / "member.toml").string();
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    CHECK(member_test::finishes_within(std::chrono::seconds(5), [&] {
        auto r = load_config(fifo);
        return !r.ok() && r.error().message.find("is not a regular file (a FIFO") != std::string::npos;
    }));
    const auto real = dir.write("real.toml", kValid, 0600);
    const auto link = (dir.path() / "link.toml").string();
    REQUIRE(::symlink(real.c_str(), link.c_str()) == 0);
    auto r = load_config(link);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Catch::Contains("it is a symbolic link"));
}

TEST_CASE("config: a PSK file or configuration of another user is refused", "[config][errors][psk][files]") {
    if (::geteuid() != 0) {
        WARN("skipped: needs root to give a file away");
        return;
    }
    TempDir dir;
    const auto psk = dir.write("g1.psk", "file-secret-42\n", 0600);
    REQUIRE(::chown(psk.c_str(), 65534, 65534) == 0);  // nobody
    const auto doc = with_line(9, "ike.psk-file = \"" + psk + "\"");
    CHECK(error_of(doc) ==
          "member.toml:9:16: group \"G1\": ike.psk-file: " + psk +
              " belongs to uid 65534; the key file must belong to root or to the daemon's user: "
              "run chown root " +
              psk);
    REQUIRE(::chown(psk.c_str(), 0, 0) == 0);
    CHECK(psk_string(parse_ok(doc).groups.at(0).ike_psk) == "file-secret-42");
    // The user named by --user is trusted like root.
    REQUIRE(::chown(psk.c_str(), 65534, 65534) == 0);
    gdoi::set_trusted_file_owner(65534);
    CHECK(psk_string(parse_ok(doc).groups.at(0).ike_psk) == "file-secret-42");
    gdoi::set_trusted_file_owner(static_cast<uid_t>(-1));

    const auto cfg = dir.write("member.toml", kValid, 0600);
    REQUIRE(::chown(cfg.c_str(), 65534, 65534) == 0);
    auto r = load_config(cfg);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Catch::Contains("belongs to uid 65534"));
}
