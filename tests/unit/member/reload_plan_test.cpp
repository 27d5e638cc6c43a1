// SIGHUP reload: a group whose configuration changed in any key — a rule's
// port or prefix included, the rule count unchanged — is restarted under the new
// configuration; an unchanged group is left alone; a removed one is stopped.
#include "config/reload_plan.h"

#include <catch2/catch.hpp>
#include <string>
#include <utility>
#include <vector>

using namespace member;

namespace {

const std::string kMember = R"([member]
local-address = "192.0.2.1"
wan-interface = "eth1"
)";

const std::string kGroup = R"([[group]]
name = "G1"
id = 1001
servers = ["198.51.100.10"]
local-port = 848
ike.mode = "main"
ike.proposals = ["aes256-sha256-modp2048"]
ike.psk = "first-psk"
ike.lifetime = 3600
ike.doi = 2
recovery-probe = true
lan-interfaces = ["eth0"]
exclude = [ { protocol = "tcp", destination-port = 179 }, { source = "10.9.0.0/24" } ]
fail-open = [ { source = "10.1.0.0/16", destination = "10.2.0.0/16" } ]
allow-gcm = "warn"
gcm-expected-senders = 100
)";

const std::string kOther = R"([[group]]
name = "G2"
id = 2002
servers = ["198.51.100.20"]
ike.psk = "other-psk"
lan-interfaces = ["eth2"]
)";

MemberConfig parse(const std::string& text) {
    auto r = parse_config(text, "member.toml");
    if (!r.ok()) FAIL(r.error().message);
    return std::move(r).value();
}

std::string replaced(std::string s, const std::string& from, const std::string& to) {
    const auto pos = s.find(from);
    REQUIRE(pos != std::string::npos);
    return s.replace(pos, from.size(), to);
}

std::vector<const GroupConfig*> running_of(const MemberConfig& c) {
    std::vector<const GroupConfig*> v;
    for (const auto& g : c.groups) v.push_back(&g);
    return v;
}

}  // namespace

TEST_CASE("reload: an identical configuration stops no group") {
    const auto running = parse(kMember + kGroup + kOther);
    const auto fresh = parse(kMember + kGroup + kOther);
    CHECK(groups_to_stop(running_of(running), fresh.groups).empty());
}

TEST_CASE("reload: a change of any one key restarts that group only") {
    // Each edit keeps the number of rules, servers, proposals and interfaces.
    const std::vector<std::pair<std::string, std::string>> edits = {
        {"id = 1001", "id = 1002"},
        {"\"198.51.100.10\"", "\"198.51.100.11\""},
        {"local-port = 848", "local-port = 849"},
        {"ike.mode = \"main\"", "ike.mode = \"aggressive\""},
        {"aes256-sha256-modp2048", "aes128-sha256-modp2048"},
        {"first-psk", "other-psk"},
        {"ike.lifetime = 3600", "ike.lifetime = 7200"},
        {"ike.doi = 2", "ike.doi = 1"},
        {"recovery-probe = true", "recovery-probe = false"},
        {"[\"eth0\"]", "[\"eth3\"]"},
        {"destination-port = 179", "destination-port = 180"},
        {"protocol = \"tcp\"", "protocol = \"udp\""},
        {"source = \"10.9.0.0/24\"", "source = \"10.9.1.0/24\""},
        {"source = \"10.1.0.0/16\"", "source = \"10.3.0.0/16\""},
        {"destination = \"10.2.0.0/16\"", "destination = \"10.2.0.0/24\""},
        {"allow-gcm = \"warn\"", "allow-gcm = \"refuse\""},
        {"gcm-expected-senders = 100", "gcm-expected-senders = 200"},
    };
    const auto running = parse(kMember + kGroup + kOther);
    for (const auto& [from, to] : edits) {
        INFO(from << " -> " << to);
        const auto fresh = parse(kMember + replaced(kGroup, from, to) + kOther);
        const auto stops = groups_to_stop(running_of(running), fresh.groups);
        REQUIRE(stops.size() == 1);
        CHECK(stops[0].name == "G1");
        REQUIRE(stops[0].replacement != nullptr);
        CHECK(stops[0].replacement == &fresh.groups[0]);
    }
}

TEST_CASE("reload: a changed psk-file path restarts the group") {
    auto running = parse(kMember + kGroup);
    auto fresh = parse(kMember + kGroup);
    fresh.groups[0].ike_psk_file = "/etc/gdoi-member/other.psk";
    CHECK(groups_to_stop(running_of(running), fresh.groups).size() == 1);
}

TEST_CASE("reload: a group missing from the new file is stopped without replacement") {
    const auto running = parse(kMember + kGroup + kOther);
    const auto fresh = parse(kMember + kGroup);
    const auto stops = groups_to_stop(running_of(running), fresh.groups);
    REQUIRE(stops.size() == 1);
    CHECK(stops[0].name == "G2");
    CHECK(stops[0].replacement == nullptr);
}
