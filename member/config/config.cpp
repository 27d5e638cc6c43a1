// The TOML configuration loader: toml++ parses, this file checks every key against the
// documented vocabulary (packaging/member.toml.example) and turns each problem into one line
// "<file>:<line>:<column>: <where>: <what is wrong>; <what would be right>".
// Pre-shared keys never appear in a message, and the copies the parser made are wiped.
#include "config/config.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <span>

#include "config/config_bounds.h"
#include "gdoi/private_file.h"
#include "gdoi/secret_file.h"

namespace member {
namespace {

// ---------------------------------------------------------------------------------------------
// Vocabulary: the keys of each table. Kept next to each other so that the example file, the
// man page and this list are easy to compare.

constexpr std::string_view kTopKeys[] = {"member", "group"};
constexpr std::string_view kMemberKeys[] = {"local-address", "wan-interface", "control-socket", "log-level"};
constexpr std::string_view kGroupKeys[] = {
    "name",    "id",        "servers",   "local-port",           "ike",    "recovery-probe", "lan-interfaces",
    "exclude", "fail-open", "allow-gcm", "gcm-expected-senders", "df-bit",
};
constexpr std::string_view kIkeKeys[] = {"mode", "proposals", "psk", "psk-file", "lifetime", "doi"};
// What a misspelt group key may have meant, dotted ike keys included ("ike_mode" -> "ike.mode").
constexpr std::string_view kGroupSuggestions[] = {
    "name",
    "id",
    "servers",
    "local-port",
    "ike",
    "recovery-probe",
    "lan-interfaces",
    "exclude",
    "fail-open",
    "allow-gcm",
    "gcm-expected-senders",
    "df-bit",
    "ike.mode",
    "ike.proposals",
    "ike.psk",
    "ike.psk-file",
    "ike.lifetime",
    "ike.doi",
};
constexpr std::string_view kExcludeKeys[] = {"protocol", "source", "destination", "source-port",
                                             "destination-port"};
constexpr std::string_view kFailOpenKeys[] = {"protocol", "source", "destination"};

constexpr std::size_t kMaxConfigFileSize = 1 << 20;
constexpr std::size_t kMaxGroupNameLength = 64;
constexpr std::size_t kMaxErrors = 20;

// ---------------------------------------------------------------------------------------------
// Small helpers

std::string quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::string join(std::span<const std::string_view> words, std::string_view sep = ", ") {
    std::string out;
    for (const auto& w : words) {
        if (!out.empty()) out += sep;
        out += w;
    }
    return out;
}

const char* type_name(toml::node_type t) {
    switch (t) {
        case toml::node_type::string:
            return "a string";
        case toml::node_type::integer:
            return "an integer";
        case toml::node_type::floating_point:
            return "a floating-point number";
        case toml::node_type::boolean:
            return "a boolean";
        case toml::node_type::table:
            return "a table";
        case toml::node_type::array:
            return "an array";
        case toml::node_type::date:
            return "a date";
        case toml::node_type::time:
            return "a time";
        case toml::node_type::date_time:
            return "a date-time";
        case toml::node_type::none:
            break;
    }
    return "nothing";
}

// Keys compare equal after normalisation when only case, '_' or '.' differ from '-'.
std::string normalise_key(std::string_view key) {
    std::string s;
    for (char c : key) {
        if (c == '_' || c == '.' || c == ' ') c = '-';
        s += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    return s;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        cur[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j)
            cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
        std::swap(prev, cur);
    }
    return prev[b.size()];
}

// The known word closest to `word`, when it is close enough to be a typo.
std::optional<std::string> closest(std::string_view word, std::span<const std::string_view> known) {
    const std::string w = normalise_key(word);
    std::optional<std::string> best;
    std::size_t best_distance = std::max<std::size_t>(1, std::min<std::size_t>(3, w.size() / 3)) + 1;
    for (const auto& k : known) {
        const std::size_t d = edit_distance(w, normalise_key(k));
        if (d < best_distance) best_distance = d, best = std::string(k);
    }
    return best;
}

bool valid_ifname(std::string_view name) {
    // IFNAMSIZ is 16 including the NUL (linux/if.h); dev_valid_name() refuses '/', ':' and spaces.
    if (name.empty() || name.size() > 15 || name == "." || name == "..") return false;
    return std::none_of(name.begin(), name.end(), [](char c) {
        return c == '/' || c == ':' || c == ' ' || c == '\t' || c == '\n' ||
               static_cast<unsigned char>(c) < 0x20;
    });
}

bool valid_group_name(std::string_view name) {
    if (name.empty() || name.size() > kMaxGroupNameLength) return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
               c == '-' || c == '.';
    });
}

bool is_unspecified_or_multicast(const gdoi::Endpoint& e) {
    if (e.family() == AF_INET) {
        const auto a = ntohl(reinterpret_cast<const sockaddr_in*>(&e.addr)->sin_addr.s_addr);
        return a == 0 || (a >> 28) == 0xe || a == 0xffffffffu;
    }
    const auto& a6 = reinterpret_cast<const sockaddr_in6*>(&e.addr)->sin6_addr;
    return IN6_IS_ADDR_UNSPECIFIED(&a6) || IN6_IS_ADDR_MULTICAST(&a6);
}

void wipe_string(std::string& s) {
    gdoi::wipe(std::span<uint8_t>(reinterpret_cast<uint8_t*>(s.data()), s.size()));
}

// ---------------------------------------------------------------------------------------------
// The loader: walks the parsed document, collects one diagnostic per problem.

struct Diagnostic {
    std::uint32_t line = 0;
    std::uint32_t column = 0;
    std::string text;
};

struct Position {
    std::uint32_t line = 1;
    std::uint32_t column = 1;
};

Position at(const toml::node& n) { return {n.source().begin.line, n.source().begin.column}; }
Position at(const toml::key& k) { return {k.source().begin.line, k.source().begin.column}; }

// Where a diagnostic is, in words: the group it belongs to and the key path.
struct Where {
    std::string group;  // "group \"NAME\"" or "group #2", empty at member level
    std::string key;    // "ike.mode", "exclude rule 3: source", "[member]"

    Where sub(std::string_view k) const {
        Where w = *this;
        if (!w.key.empty() && w.key.back() != ' ') w.key += '.';
        w.key += k;
        return w;
    }
};

class Loader {
public:
    Loader(std::string source, std::optional<mode_t> config_mode)
        : source_(std::move(source)), config_mode_(config_mode) {
        const auto dir = std::filesystem::path(source_).parent_path();
        base_dir_ = dir;
    }

    common::Result<MemberConfig> load(std::string_view text) {
        if (auto bounded = check_config_bounds(text, source_); !bounded) return bounded.error();
        toml::table doc;
        try {
            doc = toml::parse(text, std::string_view(source_));
        } catch (const toml::parse_error& e) {
            const auto& b = e.source().begin;
            // toml++ quotes at most one character of the input: no key material leaks here.
            return common::make_error(source_ + ":" + std::to_string(b.line) + ":" +
                                      std::to_string(b.column) +
                                      ": TOML syntax error: " + std::string(e.description()));
        }
        MemberConfig config;
        config.source = source_;
        read_document(doc, config);
        wipe_psks(doc);
        if (!diagnostics_.empty()) return common::make_error(report(), EINVAL);
        return config;
    }

private:
    // --- diagnostics ---

    void error(Position p, const Where& w, const std::string& message) {
        std::string text = source_ + ":" + std::to_string(p.line) + ":" + std::to_string(p.column) + ": ";
        if (!w.group.empty()) text += w.group + ": ";
        if (!w.key.empty()) text += w.key + ": ";
        text += message;
        diagnostics_.push_back({p.line, p.column, std::move(text)});
    }

    std::string report() {
        std::stable_sort(diagnostics_.begin(), diagnostics_.end(), [](const auto& a, const auto& b) {
            return a.line != b.line ? a.line < b.line : a.column < b.column;
        });
        std::string out;
        std::size_t n = 0;
        for (const auto& d : diagnostics_) {
            if (n++ == kMaxErrors) {
                out +=
                    "\n" + source_ + ": " + std::to_string(diagnostics_.size() - kMaxErrors) + " more errors";
                break;
            }
            if (!out.empty()) out += "\n";
            out += d.text;
        }
        return out;
    }

    // Unknown keys are errors; the message suggests the intended key when one is close, or says
    // which table a key belongs in when it is known elsewhere.
    void check_keys(const toml::table& t, std::span<const std::string_view> known, const Where& w,
                    std::string_view table_label) {
        for (auto&& [k, v] : t) {
            const auto key = k.str();
            if (std::find(known.begin(), known.end(), key) != known.end()) continue;
            std::string msg = "unknown key " + quote(key) + " in " + std::string(table_label);
            const auto best =
                closest(key, table_label == "[[group]]" ? std::span<const std::string_view>(kGroupSuggestions)
                                                        : known);
            const auto elsewhere = home_of(key, table_label);
            if (best && (normalise_key(*best) == normalise_key(key) || !elsewhere))
                msg += "; did you mean " + quote(*best) + "?";
            else if (elsewhere)
                msg += "; it belongs in " + *elsewhere;
            else
                msg += "; known keys: " + join(known);
            error(at(k), w, msg);
        }
    }

    // The table a key belongs in when it is a known key of another table (spelling aside).
    static std::optional<std::string> home_of(std::string_view key, std::string_view table_label) {
        const auto find = [&](std::span<const std::string_view> keys) -> std::optional<std::string> {
            for (const auto& k : keys)
                if (normalise_key(k) == normalise_key(key)) return std::string(k);
            return std::nullopt;
        };
        const auto as = [&](const std::string& k) { return k == key ? "" : " (as " + quote(k) + ")"; };
        if (table_label != "the top level") {
            if (normalise_key(key) == "group") return "the top level: start each group with a [[group]] line";
            if (normalise_key(key) == "member") return "the top level: write [member] on a line of its own";
        }
        if (table_label != "[member]")
            if (const auto k = find(kMemberKeys)) return "the [member] table" + as(*k);
        if (table_label != "[[group]]")
            if (const auto k = find(kGroupKeys)) return "a [[group]] table" + as(*k);
        if (table_label != "ike" && key != "mode")
            if (const auto k = find(kIkeKeys)) return "a group, as ike." + *k;
        return std::nullopt;
    }

    // --- typed getters: each reports a wrong type or range and returns nullopt ---

    bool expect_type(const toml::node& n, toml::node_type t, const Where& w, const std::string& expected,
                     bool secret = false) {
        if (n.type() == t) return true;
        std::string msg = "expected " + expected + ", got " + type_name(n.type());
        if (!secret) {
            if (const auto* i = n.as_integer()) msg += " " + std::to_string(i->get());
            if (const auto* b = n.as_boolean()) msg += b->get() ? " true" : " false";
        }
        error(at(n), w, msg);
        return false;
    }

    std::optional<std::string> get_string(const toml::node& n, const Where& w, const std::string& expected) {
        if (!expect_type(n, toml::node_type::string, w, expected)) return std::nullopt;
        return n.as_string()->get();
    }

    std::optional<std::int64_t> get_integer(const toml::node& n, const Where& w, std::int64_t lo,
                                            std::int64_t hi, const std::string& what) {
        const std::string range = std::to_string(lo) + ".." + std::to_string(hi);
        if (!expect_type(n, toml::node_type::integer, w, "an integer " + range + " (" + what + ")"))
            return std::nullopt;
        const std::int64_t v = n.as_integer()->get();
        if (v < lo || v > hi) {
            error(at(n), w, std::to_string(v) + " is out of range; expected " + range + " (" + what + ")");
            return std::nullopt;
        }
        return v;
    }

    std::optional<bool> get_bool(const toml::node& n, const Where& w) {
        if (!expect_type(n, toml::node_type::boolean, w, "true or false")) return std::nullopt;
        return n.as_boolean()->get();
    }

    // A string that must be one of `choices`.
    template <typename E, std::size_t N>
    std::optional<E> get_choice(const toml::node& n, const Where& w,
                                const std::pair<std::string_view, E> (&choices)[N]) {
        std::vector<std::string_view> names;
        for (const auto& c : choices) names.push_back(c.first);
        std::string expected;
        for (std::size_t i = 0; i < N; ++i)
            expected += (i == 0 ? "" : i + 1 == N ? " or " : ", ") + quote(names[i]);
        const auto s = get_string(n, w, expected);
        if (!s) return std::nullopt;
        for (const auto& c : choices)
            if (*s == c.first) return c.second;
        std::string msg = "expected " + expected + ", got " + quote(*s);
        error(at(n), w, msg);
        return std::nullopt;
    }

    const toml::array* get_array(const toml::node& n, const Where& w, const std::string& expected) {
        if (!expect_type(n, toml::node_type::array, w, expected)) return nullptr;
        return n.as_array();
    }

    void missing(const toml::node& table, const Where& w, std::string_view key, const std::string& hint) {
        error(at(table), w, "missing required key " + quote(key) + " (" + hint + ")");
    }

    // --- the document ---

    void read_document(toml::table& doc, MemberConfig& config) {
        check_keys(doc, kTopKeys, {}, "the top level");
        const toml::node* member_node = doc.get("member");
        if (!member_node) {
            error({1, 1}, {}, "missing required table [member] (with local-address and wan-interface)");
        } else if (const auto* mt = member_node->as_table()) {
            read_member(*mt, config);
        } else {
            error(at(*member_node), {"", "member"},
                  std::string("expected the table [member], got ") + type_name(member_node->type()));
        }

        toml::node* groups_node = doc.get("group");
        if (!groups_node) {
            error({1, 1}, {},
                  "no [[group]] table; add at least one group (name, id, servers, ike.psk-file, "
                  "lan-interfaces)");
            return;
        }
        auto* groups = groups_node->as_array();
        if (groups && groups->empty()) {
            error(at(*groups_node), {"", "group"},
                  "the list of groups is empty; add at least one [[group]] table");
            return;
        }
        if (!groups || !groups->is_array_of_tables()) {
            error(at(*groups_node), {"", "group"},
                  std::string("expected one [[group]] table per group, got ") +
                      (groups ? "an array of values" : type_name(groups_node->type())) +
                      "; write [[group]] (two brackets) before each group");
            return;
        }
        for (std::size_t i = 0; i < groups->size(); ++i) read_group(*(*groups)[i].as_table(), i, config);
    }

    void read_member(const toml::table& t, MemberConfig& config) {
        const Where base{"", ""};
        check_keys(t, kMemberKeys, {"", ""}, "[member]");
        if (const auto* n = t.get("local-address")) {
            const Where w = base.sub("local-address");
            if (auto s = get_string(*n, w, "an IP address such as \"192.0.2.1\" or \"2001:db8::1\"")) {
                auto e = gdoi::Endpoint::parse(*s, 0);
                if (!e)
                    error(at(*n), w,
                          "expected an IPv4 or IPv6 address of this router (e.g. \"192.0.2.1\"), got " +
                              quote(*s) + "; host names are not resolved");
                else if (is_unspecified_or_multicast(*e))
                    error(at(*n), w, quote(*s) + " is not a unicast address; give this router's own address");
                else
                    config.local_address = *e, have_local_address_ = true;
            }
        } else {
            missing(t, base, "local-address",
                    "this router's address, the source of IKE/GDOI, e.g. \"192.0.2.1\"");
        }
        if (const auto* n = t.get("wan-interface")) {
            const Where w = base.sub("wan-interface");
            if (auto s = get_string(*n, w, "an interface name such as \"eth1\"")) {
                if (valid_ifname(*s))
                    config.wan_interface = *s;
                else
                    error(at(*n), w,
                          "expected an interface name of 1..15 characters without '/', ':' or spaces, "
                          "got " +
                              quote(*s));
            }
        } else {
            missing(t, base, "wan-interface", "the interface towards the key servers, e.g. \"eth1\"");
        }
        if (const auto* n = t.get("control-socket")) {
            const Where w = base.sub("control-socket");
            if (auto s = get_string(*n, w, "an absolute path such as \"/run/gdoi-member/control.sock\"")) {
                if (s->empty() || (*s)[0] != '/' || s->size() >= 108)  // sun_path is 108 bytes
                    error(at(*n), w,
                          "expected an absolute path shorter than 108 bytes (e.g. \"" +
                              std::string(kDefaultControlSocket) + "\"), got " + quote(*s));
                else
                    config.control_socket = *s;
            }
        }
        if (const auto* n = t.get("log-level")) {
            static constexpr std::pair<std::string_view, gdoi::LogLevel> kLevels[] = {
                {"debug", gdoi::LogLevel::Debug},
                {"info", gdoi::LogLevel::Info},
                {"warning", gdoi::LogLevel::Warning},
                {"error", gdoi::LogLevel::Error},
            };
            if (auto v = get_choice(*n, base.sub("log-level"), kLevels)) config.log_level = *v;
        }
    }

    void read_group(toml::table& t, std::size_t index, MemberConfig& config) {
        GroupConfig g;
        Where w{"group #" + std::to_string(index + 1), ""};
        const std::size_t errors_before = diagnostics_.size();

        // The name first: it labels every other message of this group.
        if (const auto* n = t.get("name")) {
            if (auto s = get_string(*n, w.sub("name"), "a group name such as \"GROUP_ID-0001\"")) {
                if (!valid_group_name(*s)) {
                    error(at(*n), w.sub("name"),
                          "expected 1.." + std::to_string(kMaxGroupNameLength) +
                              " letters, digits, '_', '-' or '.', got " + quote(*s));
                } else {
                    g.name = *s;
                    w.group = "group " + quote(*s);
                    if (const auto it = group_names_.find(*s); it != group_names_.end())
                        error(at(*n), w.sub("name"),
                              "the name is already used by the group at line " + std::to_string(it->second) +
                                  "; group names must be unique");
                    else
                        group_names_.emplace(*s, at(*n).line);
                }
            }
        } else {
            missing(t, w, "name", "the group's name for logs and gdoictl, e.g. \"GROUP_ID-0001\"");
        }
        check_keys(t, kGroupKeys, w, "[[group]]");

        if (const auto* n = t.get("id")) {
            if (auto v = get_integer(*n, w.sub("id"), 1, 4294967295LL, "the GDOI group id")) {
                g.id = static_cast<std::uint32_t>(*v);
                if (const auto it = group_ids_.find(g.id); it != group_ids_.end())
                    error(at(*n), w.sub("id"),
                          std::to_string(g.id) + " is already the id of " + it->second.first + " (line " +
                              std::to_string(it->second.second) + "); group ids must be unique");
                else
                    group_ids_.emplace(g.id, std::make_pair(w.group, at(*n).line));
            }
        } else {
            missing(t, w, "id", "the GDOI group id, 1..4294967295");
        }

        if (const auto* n = t.get("local-port"))
            if (auto v = get_integer(*n, w.sub("local-port"), 1, 65535, "UDP port, 848 by default"))
                g.local_port = static_cast<std::uint16_t>(*v);

        if (const auto* n = t.get("servers"))
            read_servers(*n, w.sub("servers"), config, g);
        else
            missing(t, w, "servers",
                    "1.." + std::to_string(kMaxServers) +
                        " key server addresses, e.g. servers = [\"198.51.100.10\"]");

        read_ike(t, w, g);

        if (const auto* n = t.get("recovery-probe"))
            if (auto v = get_bool(*n, w.sub("recovery-probe"))) g.recovery_probe = *v;

        if (const auto* n = t.get("lan-interfaces"))
            read_lan_interfaces(*n, w.sub("lan-interfaces"), config, g);
        else
            missing(t, w, "lan-interfaces",
                    "the protected-side interfaces, e.g. lan-interfaces = [\"eth0\"]");

        if (const auto* n = t.get("exclude")) read_rules(*n, w.sub("exclude"), true, g);
        if (const auto* n = t.get("fail-open")) read_rules(*n, w.sub("fail-open"), false, g);

        if (const auto* n = t.get("allow-gcm")) {
            static constexpr std::pair<std::string_view, AllowGcm> kChoices[] = {
                {"accept", AllowGcm::accept}, {"warn", AllowGcm::warn}, {"refuse", AllowGcm::refuse}};
            if (auto v = get_choice(*n, w.sub("allow-gcm"), kChoices)) g.allow_gcm = *v;
        }
        if (const auto* n = t.get("gcm-expected-senders"))
            if (auto v = get_integer(*n, w.sub("gcm-expected-senders"), 1, kMaxGcmExpectedSenders,
                                     "members sending under one AES-GCM key"))
                g.gcm_expected_senders = static_cast<std::uint32_t>(*v);
        if (const auto* n = t.get("df-bit")) {
            static constexpr std::pair<std::string_view, DfBit> kChoices[] = {
                {"clear", DfBit::clear}, {"copy", DfBit::copy}, {"set", DfBit::set}};
            if (auto v = get_choice(*n, w.sub("df-bit"), kChoices)) g.df_bit = *v;
        }

        if (diagnostics_.size() == errors_before) config.groups.push_back(std::move(g));
    }

    // "198.51.100.10", "198.51.100.11:848", "2001:db8::1", "[2001:db8::1]:848"
    static common::Result<ServerAddress> parse_server(const std::string& text) {
        const auto bad = [&](const std::string& why) {
            return common::make_error(why +
                                      "; expected an IP address with an optional port, e.g. "
                                      "\"198.51.100.10\", \"198.51.100.11:848\" or \"[2001:db8::1]:848\"");
        };
        std::string host = text;
        std::optional<std::string> port_text;
        if (!text.empty() && text[0] == '[') {
            const auto close = text.find(']');
            if (close == std::string::npos) return bad(quote(text) + " lacks the closing ']'");
            host = text.substr(1, close - 1);
            const std::string rest = text.substr(close + 1);
            if (!rest.empty()) {
                if (rest[0] != ':') return bad("unexpected " + quote(rest) + " after ']'");
                port_text = rest.substr(1);
            }
        } else if (const auto colon = text.find(':');
                   colon != std::string::npos && text.find(':', colon + 1) == std::string::npos) {
            host = text.substr(0, colon);
            port_text = text.substr(colon + 1);
        }
        std::uint16_t port = gdoi::kGdoiPort;
        if (port_text) {
            unsigned long v = 0;
            const bool digits = !port_text->empty() && port_text->size() <= 5 &&
                                std::all_of(port_text->begin(), port_text->end(),
                                            [](char c) { return c >= '0' && c <= '9'; });
            if (digits) v = std::stoul(*port_text);
            if (!digits || v < 1 || v > 65535)
                return common::make_error("port " + quote(*port_text) + " in " + quote(text) +
                                          " is not a port number 1..65535 (the GDOI port is 848)");
            port = static_cast<std::uint16_t>(v);
        }
        auto e = gdoi::Endpoint::parse(host, port);
        if (!e) return bad(quote(host) + " is not an IPv4 or IPv6 address (host names are not resolved)");
        if (is_unspecified_or_multicast(*e)) return bad(quote(host) + " is not a unicast address");
        return e;
    }

    void read_servers(const toml::node& n, const Where& w, const MemberConfig& config, GroupConfig& g) {
        const auto* a =
            get_array(n, w,
                      "a list of 1.." + std::to_string(kMaxServers) +
                          " key server addresses, e.g. [\"198.51.100.10\", \"198.51.100.11:848\"]");
        if (!a) return;
        if (a->empty()) {
            error(at(n), w,
                  "the list is empty; give 1.." + std::to_string(kMaxServers) +
                      " key server addresses, e.g. [\"198.51.100.10\"]");
            return;
        }
        for (std::size_t i = 0; i < a->size(); ++i) {
            const toml::node& e = *a->get(i);
            if (i == kMaxServers) {
                error(at(e), w,
                      std::to_string(a->size()) + " key servers; at most " + std::to_string(kMaxServers) +
                          " are allowed (tried in order)");
                return;
            }
            const auto s = get_string(e, w, "a key server address such as \"198.51.100.10\"");
            if (!s) continue;
            auto server = parse_server(*s);
            if (!server) {
                error(at(e), w, server.error().message);
                continue;
            }
            if (have_local_address_ && server->family() != config.local_address.family()) {
                error(at(e), w,
                      server->to_string() + " is not of the address family of local-address " +
                          config.local_address.address_string() +
                          "; give key servers reachable from local-address");
                continue;
            }
            if (std::find(g.servers.begin(), g.servers.end(), *server) != g.servers.end()) {
                error(at(e), w, server->to_string() + " is listed twice; list each key server once");
                continue;
            }
            g.servers.push_back(*server);
        }
    }

    void read_ike(toml::table& group, const Where& gw, GroupConfig& g) {
        toml::node* ike_node = group.get("ike");
        if (!ike_node) {
            missing(group, gw, "ike.psk-file", "the file holding the group's IKE pre-shared key; or ike.psk");
            return;
        }
        toml::table* ike = ike_node->as_table();
        if (!ike) {
            error(at(*ike_node), gw.sub("ike"),
                  std::string("expected a table (ike.mode = ..., ike.psk-file = ...), got ") +
                      type_name(ike_node->type()));
            return;
        }
        const Where w = gw.sub("ike");
        check_keys(*ike, kIkeKeys, gw, "ike");

        if (const auto* n = ike->get("mode")) {
            static constexpr std::pair<std::string_view, gdoi::Phase1Mode> kModes[] = {
                {"main", gdoi::Phase1Mode::Main}, {"aggressive", gdoi::Phase1Mode::Aggressive}};
            if (auto v = get_choice(*n, w.sub("mode"), kModes)) g.ike_mode = *v;
        }

        const toml::node* proposals_node = ike->get("proposals");
        if (proposals_node) {
            const Where pw = w.sub("proposals");
            if (const auto* a = get_array(*proposals_node, pw,
                                          "a list of proposals such as [\"aes256-sha256-modp2048\"]")) {
                if (a->empty())
                    error(at(*proposals_node), pw,
                          "the list is empty; give at least one proposal, e.g. [\"" +
                              std::string(kDefaultIkeProposal) + "\"]");
                for (const auto& e : *a) {
                    const auto s = get_string(e, pw, "a proposal name such as \"aes256-sha256-modp2048\"");
                    if (!s) continue;
                    auto p = gdoi::parse_ike_proposal(*s);
                    if (!p)
                        error(at(e), pw, p.error().message);
                    else
                        g.ike_proposals.push_back(*p);
                }
            }
        } else {
            g.ike_proposals.push_back(*gdoi::parse_ike_proposal(kDefaultIkeProposal));
        }
        // Aggressive mode sends the KE payload in its first message, before the responder has
        // chosen a proposal (RFC 2409 §5.4), so every proposal must use that one DH group.
        if (g.ike_mode == gdoi::Phase1Mode::Aggressive && g.ike_proposals.size() > 1) {
            const auto& first = g.ike_proposals.front();
            for (const auto& p : g.ike_proposals)
                if (p.group != first.group) {
                    error(proposals_node ? at(*proposals_node) : at(group), w.sub("proposals"),
                          "aggressive mode sends its Diffie-Hellman value in the first message, so all "
                          "proposals "
                          "must use one DH group; " +
                              quote(first.name()) + " and " + quote(p.name()) +
                              " differ; use one group in every proposal or ike.mode = \"main\"");
                    break;
                }
        }

        if (const auto* n = ike->get("lifetime"))
            if (auto v = get_integer(*n, w.sub("lifetime"), kMinIkeLifetime, kMaxIkeLifetime,
                                     "seconds of the phase-1 SA, 86400 by default"))
                g.ike_lifetime = static_cast<std::uint32_t>(*v);

        if (const auto* n = ike->get("doi"))
            if (auto v = get_integer(*n, w.sub("doi"), 1, 2,
                                     "2 = GDOI per RFC 6407 §2.1, 1 for peers that want the IPsec DOI"))
                g.ike_doi = static_cast<std::uint32_t>(*v);

        read_psk(*ike, group, w, g);
    }

    void read_psk(toml::table& ike, const toml::table& group, const Where& w, GroupConfig& g) {
        toml::node* inline_node = ike.get("psk");
        const toml::node* file_node = ike.get("psk-file");
        if (inline_node && file_node) {
            error(
                at(*file_node), w.sub("psk-file"),
                "both ike.psk and ike.psk-file are set; keep exactly one (ike.psk-file keeps the key out of "
                "this file)");
            return;
        }
        if (!inline_node && !file_node) {
            missing(ike.source().begin.line ? static_cast<const toml::node&>(ike) : group, w, "psk-file",
                    "the file holding the group's IKE pre-shared key; or ike.psk with the key itself");
            return;
        }
        if (inline_node) {
            const Where pw = w.sub("psk");
            if (!expect_type(*inline_node, toml::node_type::string, pw, "the pre-shared key as a string",
                             true))
                return;
            const std::string& key = inline_node->as_string()->get();
            if (key.empty()) {
                error(at(*inline_node), pw, "the pre-shared key is empty; give the key, or use ike.psk-file");
                return;
            }
            if (config_mode_ && (*config_mode_ & (S_IRGRP | S_IROTH))) {
                error(at(*inline_node), pw,
                      "the key is inline but " + source_ + " has " + gdoi::describe_file_mode(*config_mode_) +
                          "; run chmod 600 " + source_ + " or move the key to ike.psk-file");
                return;
            }
            g.ike_psk = gdoi::SecureBytes(
                std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(key.data()), key.size()));
            return;
        }
        const Where fw = w.sub("psk-file");
        const auto path = get_string(*file_node, fw, "a path such as \"/etc/gdoi-member/group1.psk\"");
        if (!path) return;
        if (path->empty()) {
            error(at(*file_node), fw, "the path is empty; give the file holding the pre-shared key");
            return;
        }
        std::filesystem::path p(*path);
        if (p.is_relative() && !base_dir_.empty()) p = base_dir_ / p;
        auto key = read_psk_file(p.string());
        if (!key) {
            error(at(*file_node), fw, key.error().message);
            return;
        }
        g.ike_psk = std::move(*key);
        g.ike_psk_file = p.string();
    }

    // The whole file is the key, without one trailing newline; owner-only (gdoi/secret_file.h).
    static common::Result<gdoi::SecureBytes> read_psk_file(const std::string& path) {
        return gdoi::read_secret_file(path, true);
    }

    void read_lan_interfaces(const toml::node& n, const Where& w, const MemberConfig& config,
                             GroupConfig& g) {
        const auto* a = get_array(n, w, "a list of interface names such as [\"eth0\"]");
        if (!a) return;
        if (a->empty())
            error(at(n), w, "the list is empty; give the protected-side interfaces, e.g. [\"eth0\"]");
        for (const auto& e : *a) {
            const auto s = get_string(e, w, "an interface name such as \"eth0\"");
            if (!s) continue;
            if (!valid_ifname(*s))
                error(at(e), w,
                      "expected an interface name of 1..15 characters without '/', ':' or spaces, got " +
                          quote(*s));
            else if (*s == config.wan_interface)
                error(at(e), w,
                      quote(*s) + " is the wan-interface; a LAN interface is on the protected side");
            else if (std::find(g.lan_interfaces.begin(), g.lan_interfaces.end(), *s) !=
                     g.lan_interfaces.end())
                error(at(e), w, quote(*s) + " is listed twice");
            else
                g.lan_interfaces.push_back(*s);
        }
    }

    // exclude = [ { protocol = "tcp", destination-port = 179 }, ... ]
    // fail-open = [ { source = "10.1.0.0/16", destination = "10.2.0.0/16" }, ... ]
    void read_rules(const toml::node& n, const Where& w, bool is_exclude, GroupConfig& g) {
        const std::string what = is_exclude ? "exclude" : "fail-open";
        const std::size_t limit = is_exclude ? policy::kMaxExcludeRules : policy::kMaxFailOpenRules;
        const auto* a = get_array(
            n, w,
            "a list of rules such as [ { " +
                std::string(is_exclude ? "protocol = \"tcp\", destination-port = 179"
                                       : "source = \"10.1.0.0/16\", destination = \"10.2.0.0/16\"") +
                " } ]");
        if (!a) return;
        for (std::size_t i = 0; i < a->size(); ++i) {
            const toml::node& e = *a->get(i);
            if (i == limit) {
                error(at(e), w,
                      std::to_string(a->size()) + " rules; at most " + std::to_string(limit) +
                          " are allowed (merge rules with wider prefixes or port ranges)");
                return;
            }
            const Where rw{w.group, what + " rule " + std::to_string(i + 1) + ": "};
            const auto* rule = e.as_table();
            if (!rule) {
                error(at(e), Where{w.group, what + " rule " + std::to_string(i + 1)},
                      std::string("expected a table such as { source = \"10.1.0.0/16\" }, got ") +
                          type_name(e.type()));
                continue;
            }
            auto selector = read_selector(*rule, rw, is_exclude);
            if (!selector) continue;
            if (is_exclude)
                g.exclude.push_back({*selector});
            else
                g.fail_open.push_back({*selector});
        }
    }

    std::optional<policy::Selector> read_selector(const toml::table& rule, const Where& w, bool is_exclude) {
        const std::size_t errors_before = diagnostics_.size();
        const Where label{w.group, w.key.substr(0, w.key.size() - 2)};  // without the trailing ": "
        if (is_exclude) {
            check_keys(rule, kExcludeKeys, label, "an exclude rule");
        } else {
            for (auto&& [k, v] : rule) {
                const auto key = k.str();
                if (std::find(std::begin(kFailOpenKeys), std::end(kFailOpenKeys), key) !=
                    std::end(kFailOpenKeys))
                    continue;
                if (key == "source-port" || key == "destination-port")
                    error(at(k), label,
                          "unknown key " + quote(key) +
                              " in a fail-open rule; fail-open rules match source, destination and "
                              "protocol only");
                else if (const auto best = closest(key, kFailOpenKeys))
                    error(at(k), label,
                          "unknown key " + quote(key) + " in a fail-open rule; did you mean " + quote(*best) +
                              "?");
                else
                    error(at(k), label,
                          "unknown key " + quote(key) +
                              " in a fail-open rule; known keys: " + join(kFailOpenKeys));
            }
        }
        policy::Selector s;
        if (const auto* n = rule.get("protocol")) {
            const Where pw = w.sub("protocol");
            if (n->is_integer()) {
                if (auto v = get_integer(*n, pw, 0, 255, "IP protocol number"))
                    s.protocol = static_cast<std::uint8_t>(*v);
            } else if (auto t = get_string(
                           *n, pw, "a protocol name such as \"tcp\", \"udp\", \"icmp\" or a number")) {
                auto p = policy::parse_protocol(*t);
                if (!p)
                    error(at(*n), pw, p.error().message);
                else
                    s.protocol = *p;
            }
        }
        for (const auto& [key, field] :
             {std::pair{"source", &s.source}, std::pair{"destination", &s.destination}}) {
            const auto* n = rule.get(key);
            if (!n) continue;
            const Where aw = w.sub(key);
            if (auto t = get_string(*n, aw, "a prefix such as \"10.1.0.0/16\"")) {
                auto p = policy::Prefix::parse(*t);
                if (!p)
                    error(at(*n), aw, p.error().message);
                else
                    *field = *p;
            }
        }
        if (is_exclude) {
            for (const auto& [key, field] : {std::pair{"source-port", &s.source_port},
                                             std::pair{"destination-port", &s.destination_port}}) {
                const auto* n = rule.get(key);
                if (!n) continue;
                if (auto r = read_port_range(*n, w.sub(key))) *field = *r;
            }
        }
        if (diagnostics_.size() != errors_before) return std::nullopt;
        if (!s.source && !s.destination && !s.protocol && !s.source_port && !s.destination_port) {
            error(at(rule), label,
                  std::string("the rule is empty and would match all traffic; give at least one of ") +
                      (is_exclude ? "protocol, source, destination, source-port, destination-port"
                                  : "source, destination, protocol"));
            return std::nullopt;
        }
        if (auto st = s.validate(); !st) {
            error(at(rule), label, st.error().message);
            return std::nullopt;
        }
        return s;
    }

    // 179 or "1024-65535"
    std::optional<policy::PortRange> read_port_range(const toml::node& n, const Where& w) {
        if (n.is_integer()) {
            if (auto v = get_integer(n, w, 1, 65535, "a port"))
                return policy::PortRange::single(static_cast<std::uint16_t>(*v));
            return std::nullopt;
        }
        const auto s = get_string(n, w, "a port such as 179 or a range such as \"1024-65535\"");
        if (!s) return std::nullopt;
        const auto parse_port = [](std::string_view t) -> std::optional<std::uint16_t> {
            if (t.empty() || t.size() > 5 ||
                !std::all_of(t.begin(), t.end(), [](char c) { return c >= '0' && c <= '9'; }))
                return std::nullopt;
            const unsigned long v = std::stoul(std::string(t));
            if (v < 1 || v > 65535) return std::nullopt;
            return static_cast<std::uint16_t>(v);
        };
        const auto dash = s->find('-');
        const auto first = parse_port(std::string_view(*s).substr(0, dash));
        const auto last =
            dash == std::string::npos ? first : parse_port(std::string_view(*s).substr(dash + 1));
        if (!first || !last) {
            error(at(n), w,
                  "expected a port 1..65535 such as 179 or a range such as \"1024-65535\", got " + quote(*s));
            return std::nullopt;
        }
        if (*first > *last) {
            error(at(n), w,
                  "the range " + quote(*s) + " is reversed; write \"" + std::to_string(*last) + "-" +
                      std::to_string(*first) + "\"");
            return std::nullopt;
        }
        return policy::PortRange{*first, *last};
    }

    // The parser's copies of inline keys: wipe them once read.
    static void wipe_psks(toml::table& doc) {
        auto* groups = doc.get_as<toml::array>("group");
        if (!groups) return;
        for (auto& g : *groups) {
            auto* gt = g.as_table();
            auto* ike = gt ? gt->get_as<toml::table>("ike") : nullptr;
            auto* psk = ike ? ike->get_as<std::string>("psk") : nullptr;
            if (psk) wipe_string(psk->get());
        }
    }

    std::string source_;
    std::optional<mode_t> config_mode_;
    std::filesystem::path base_dir_;
    std::vector<Diagnostic> diagnostics_;
    bool have_local_address_ = false;
    std::map<std::string, std::uint32_t> group_names_;                          // name -> line
    std::map<std::uint32_t, std::pair<std::string, std::uint32_t>> group_ids_;  // id -> (label, line)
};

}  // namespace

const char* df_bit_name(DfBit value) {
    switch (value) {
        case DfBit::clear:
            return "clear";
        case DfBit::copy:
            return "copy";
        case DfBit::set:
            return "set";
    }
    return "?";
}

const char* allow_gcm_name(AllowGcm value) {
    switch (value) {
        case AllowGcm::accept:
            return "accept";
        case AllowGcm::warn:
            return "warn";
        case AllowGcm::refuse:
            return "refuse";
    }
    return "?";
}

const GroupConfig* MemberConfig::find_group(std::string_view group_name) const {
    for (const auto& g : groups)
        if (g.name == group_name) return &g;
    return nullptr;
}

common::Result<MemberConfig> parse_config(std::string_view text, const std::string& source_name) {
    return Loader(source_name, std::nullopt).load(text);
}

common::Result<MemberConfig> load_config(const std::string& path) {
    // Not a FIFO, device or symlink, root's or the daemon's user's (gdoi/private_file.h); the
    // text stays in secure memory (it may hold an inline key).
    const std::string what =
        std::string("the configuration file (-c FILE; the default is ") + kDefaultConfigPath + ")";
    auto file = gdoi::read_private_file(path, {what, kMaxConfigFileSize, 0});
    if (!file) return common::make_error(file.error().message, file.error().code);
    const auto& text = file->content;
    return Loader(path, file->mode)
        .load(std::string_view(reinterpret_cast<const char*>(text.data()), text.size()));
}

}  // namespace member
