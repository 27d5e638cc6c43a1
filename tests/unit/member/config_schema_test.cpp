// The schema table (config/schema.h) against the documentation and the model: every key of
// packaging/member.toml.example is in the table, every key of the table is documented there,
// and writing each optional key's documented default gives the configuration of leaving it out.
#include <toml++/toml.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/schema.h"

using namespace member;

namespace {

std::string example_text() {
    const auto path =
        std::filesystem::path(__FILE__).parent_path() / "../../../packaging/member.toml.example";
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// Every key of `t` must be a key of `s`; sub-tables and rule lists are walked too.
void check_known(const toml::table& t, const schema::Section& s, const std::string& where) {
    for (auto&& [k, v] : t) {
        const std::string key(k.str());
        INFO(where << key);
        const auto* spec = s.find(key);
        REQUIRE(spec != nullptr);
        if (spec->section && v.is_table()) check_known(*v.as_table(), *spec->section, where + key + ".");
        if (spec->element == schema::Type::table && v.is_array())
            for (auto& rule : *v.as_array())
                check_known(
                    *rule.as_table(),
                    key == "exclude" ? schema::exclude_rule_section() : schema::fail_open_rule_section(),
                    where + key + "[].");
    }
}

// `word` stands in the text as a key, not inside a longer one ("psk" in "psk-file").
bool mentions(const std::string& text, const std::string& word) {
    return std::regex_search(text, std::regex("(^|[^a-z-])" + word + "([^a-z-]|$)"));
}

// The example with the keys of `drop` (at the start of a line) left out and every key file
// pointed at `psk`: the example's paths exist only on a router.
std::string example_without(const std::vector<std::string>& drop, const std::string& psk) {
    std::istringstream in(example_text());
    std::string out;
    for (std::string line; std::getline(in, line);) {
        if (std::any_of(drop.begin(), drop.end(), [&](const auto& k) { return line.rfind(k + " ", 0) == 0; }))
            continue;
        if (line.rfind("ike.psk-file", 0) == 0) line = "ike.psk-file = \"" + psk + "\"";
        out += line + "\n";
    }
    return out;
}

}  // namespace

TEST_CASE("config schema: every key of member.toml.example is in the table", "[config][schema]") {
    const auto text = example_text();
    REQUIRE_FALSE(text.empty());
    const auto doc = toml::parse(text);
    check_known(doc, schema::top(), "");
    check_known(*doc["member"].as_table(), schema::member_section(), "member.");
    for (auto& g : *doc["group"].as_array()) check_known(*g.as_table(), schema::group_section(), "group.");
}

TEST_CASE("config schema: every key of the table is documented in member.toml.example", "[config][schema]") {
    const auto text = example_text();
    for (const auto* section : schema::all_sections())
        for (const auto& k : section->keys) {
            INFO(section->label << ": " << k.key);
            CHECK(mentions(text, section->id == schema::SectionId::ike ? "ike\\." + k.key : k.key));
            CHECK_FALSE(k.doc.empty());
            // A key is required or has a default, but for the two ways of giving the key
            // (exactly one is required), the certificate keys (required with signatures, optional
            // otherwise: config/ike_auth.cpp) and the keys of a rule (at least one is required).
            const bool one_of_two =
                section->id == schema::SectionId::ike &&
                (k.key == "psk" || k.key == "psk-file" || k.key == "certificate" || k.key == "private-key" ||
                 k.key == "ca" || k.key == "crl" || k.key == "peer-id");
            const bool rule_key = section->id == schema::SectionId::exclude_rule ||
                                  section->id == schema::SectionId::fail_open_rule;
            if (section->id != schema::SectionId::top && !one_of_two && !rule_key)
                CHECK(k.required.empty() != k.default_text.empty());
        }
}

TEST_CASE("config schema: the documented defaults are the model's", "[config][schema]") {
    // The example's second group gives only the required keys; [member] loses its optional ones.
    const auto psk = std::filesystem::temp_directory_path() / "gdoi-config-schema-test.psk";
    {
        std::ofstream out(psk);
        out << "schema-test-key\n";
    }
    std::filesystem::permissions(psk,
                                 std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    const auto plain_text = example_without({"control-socket", "log-level"}, psk.string());
    std::string member_lines, group_lines;
    for (const auto& k : schema::member_section().keys)
        if (!k.default_text.empty()) member_lines += k.key + " = " + k.default_text + "\n";
    for (const auto& k : schema::group_section().keys)
        if (!k.default_text.empty()) group_lines += k.key + " = " + k.default_text + "\n";
    for (const auto& k : schema::ike_section().keys)
        if (!k.default_text.empty()) group_lines += "ike." + k.key + " = " + k.default_text + "\n";
    auto text = plain_text;
    text.insert(text.find("[member]\n") + 9, member_lines);
    text += group_lines;  // into the last group
    INFO(text);
    const auto plain = parse_config(plain_text, "member.toml");
    const auto explicit_defaults = parse_config(text, "member.toml");
    std::filesystem::remove(psk);
    if (!plain.ok()) FAIL(plain.error().message);
    if (!explicit_defaults.ok()) FAIL(explicit_defaults.error().message);
    CHECK(explicit_defaults->groups.back() == plain->groups.back());
    CHECK(explicit_defaults->control_socket == plain->control_socket);
    CHECK(explicit_defaults->log_level == plain->log_level);
}

TEST_CASE("config schema: the enumerations are named as the file spells them", "[config][schema]") {
    CHECK(std::string(df_bit_name(DfBit::clear)) == "clear");
    CHECK(std::string(df_bit_name(DfBit::copy)) == "copy");
    CHECK(std::string(df_bit_name(DfBit::set)) == "set");
    CHECK(std::string(allow_gcm_name(AllowGcm::accept)) == "accept");
    CHECK(std::string(allow_gcm_name(AllowGcm::warn)) == "warn");
    CHECK(std::string(allow_gcm_name(AllowGcm::refuse)) == "refuse");
}
