// The sections of member.toml: the document's shape ([member], [[group]]), the order a group's
// keys are read in, and the converters of the keys that need real parsing. Type, range and
// unknown-key checks are the schema's (config/schema.cpp, config/toml_reader.cpp).
// Pre-shared keys never appear in a message, and the copies the parser made are wiped.
#include "config/loader.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <span>

#include "config/config_bounds.h"
#include "gdoi/private_file.h"
#include "gdoi/secret_file.h"

namespace member::schema {
namespace {

constexpr std::size_t kMaxGroupNameLength = 64;

const std::string kBadIfname =
    "expected an interface name of 1..15 characters without '/', ':' or spaces, got ";

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
    const auto a = e.address();
    if (a.family == common::IpFamily::ipv4)
        return a.is_any() || (a.bytes[0] >> 4) == 0xe || a == common::IpAddress::ipv4(255, 255, 255, 255);
    return a.is_any() || a.bytes[0] == 0xff;
}

// 1..65535 written in decimal digits only.
std::optional<std::uint16_t> parse_port(std::string_view t) {
    if (t.empty() || t.size() > 5 ||
        !std::all_of(t.begin(), t.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return std::nullopt;
    const unsigned long v = std::stoul(std::string(t));
    if (v < 1 || v > 65535) return std::nullopt;
    return static_cast<std::uint16_t>(v);
}

// "198.51.100.10", "198.51.100.11:848", "2001:db8::1", "[2001:db8::1]:848"
common::Result<ServerAddress> parse_server(const std::string& text) {
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
        const auto p = parse_port(*port_text);
        if (!p)
            return common::make_error("port " + quote(*port_text) + " in " + quote(text) +
                                      " is not a port number 1..65535 (the GDOI port is 848)");
        port = *p;
    }
    auto e = gdoi::Endpoint::parse(host, port);
    if (!e) return bad(quote(host) + " is not an IPv4 or IPv6 address (host names are not resolved)");
    if (is_unspecified_or_multicast(*e)) return bad(quote(host) + " is not a unicast address");
    return e;
}

// 179 or "1024-65535"
std::optional<policy::PortRange> port_range(Context& c, const Item& v) {
    if (!v.text_given) return policy::PortRange::single(static_cast<std::uint16_t>(v.integer));
    const std::string_view s = v.text;
    const auto dash = s.find('-');
    const auto first = parse_port(s.substr(0, dash));
    const auto last = dash == std::string::npos ? first : parse_port(s.substr(dash + 1));
    if (!first || !last) {
        c.reader.error(
            at(v.node), v.where,
            "expected a port 1..65535 such as 179 or a range such as \"1024-65535\", got " + quote(s));
        return std::nullopt;
    }
    if (*first > *last) {
        c.reader.error(at(v.node), v.where,
                       "the range " + quote(s) + " is reversed; write \"" + std::to_string(*last) + "-" +
                           std::to_string(*first) + "\"");
        return std::nullopt;
    }
    return policy::PortRange{*first, *last};
}

void store_prefix(Context& c, const Item& v, std::optional<policy::Prefix>& field) {
    auto p = policy::Prefix::parse(v.text);
    if (!p)
        c.reader.error(at(v.node), v.where, p.error().message);
    else
        field = *p;
}

// One exclude or fail-open rule: its keys, then the checks of the rule as a whole.
std::optional<policy::Selector> read_rule(Context& c, const Item& v, const Section& section,
                                          std::string_view any_of) {
    const toml::table& rule = *v.node.as_table();
    const std::size_t errors_before = c.reader.error_count();
    c.reader.check_keys(rule, section, v.where);
    policy::Selector s;
    c.selector = &s;
    c.reader.read_keys(c, rule, section.keys, Where{v.where.group, v.where.key + ": "});
    c.selector = nullptr;
    if (c.reader.error_count() != errors_before) return std::nullopt;
    if (!s.source && !s.destination && !s.protocol && !s.source_port && !s.destination_port) {
        c.reader.error(
            at(rule), v.where,
            "the rule is empty and would match all traffic; give at least one of " + std::string(any_of));
        return std::nullopt;
    }
    if (auto st = s.validate(); !st) {
        c.reader.error(at(rule), v.where, st.error().message);
        return std::nullopt;
    }
    return s;
}

void wipe_string(std::string& s) {
    gdoi::wipe(std::span<uint8_t>(reinterpret_cast<uint8_t*>(s.data()), s.size()));
}

// The parser's copies of inline keys: wipe them once read.
void wipe_psks(toml::table& doc) {
    auto* groups = doc.get_as<toml::array>("group");
    if (!groups) return;
    for (auto& g : *groups) {
        auto* gt = g.as_table();
        auto* ike = gt ? gt->get_as<toml::table>("ike") : nullptr;
        auto* psk = ike ? ike->get_as<std::string>("psk") : nullptr;
        if (psk) wipe_string(psk->get());
    }
}

}  // namespace

// ike.psk or ike.psk-file: exactly one.
void read_psk(Context& c, const toml::table& ike, const Where& w) {
    const toml::node* inline_node = ike.get("psk");
    const toml::node* file_node = ike.get("psk-file");
    if (inline_node && file_node) {
        c.reader.error(
            at(*file_node), w.sub("psk-file"),
            "both ike.psk and ike.psk-file are set; keep exactly one (ike.psk-file keeps the key out of "
            "this file)");
        return;
    }
    if (!inline_node && !file_node) {
        c.reader.missing(ike.source().begin.line ? static_cast<const toml::node&>(ike) : *c.group_table, w,
                         "psk-file",
                         "the file holding the group's IKE pre-shared key; or ike.psk with the key itself");
        return;
    }
    GroupConfig& g = *c.group;
    const std::string& source = c.reader.source();
    if (inline_node) {
        const auto v = c.reader.read(*inline_node, *ike_section().find("psk"), w.sub("psk"));
        if (!v) return;
        // The parser's string (the Item holds no copy of a secret); load() wipes it.
        const std::string& key = inline_node->as_string()->get();
        if (key.empty()) {
            c.reader.error(at(*inline_node), v->where,
                           "the pre-shared key is empty; give the key, or use ike.psk-file");
        } else if (c.config_mode && (*c.config_mode & (S_IRGRP | S_IROTH))) {
            c.reader.error(at(*inline_node), v->where,
                           "the key is inline but " + source + " has " +
                               gdoi::describe_file_mode(*c.config_mode) + "; run chmod 600 " + source +
                               " or move the key to ike.psk-file");
        } else {
            g.ike_psk = gdoi::SecureBytes(
                std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(key.data()), key.size()));
        }
        return;
    }
    const auto v = c.reader.read(*file_node, *ike_section().find("psk-file"), w.sub("psk-file"));
    if (!v) return;
    if (v->text.empty()) {
        c.reader.error(at(*file_node), v->where,
                       "the path is empty; give the file holding the pre-shared key");
        return;
    }
    std::filesystem::path p(v->text);
    if (p.is_relative() && !c.base_dir.empty()) p = c.base_dir / p;
    // The whole file is the key, without one trailing newline; owner-only (gdoi/secret_file.h).
    auto key = gdoi::read_secret_file(p.string(), true);
    if (!key) {
        c.reader.error(at(*file_node), v->where, key.error().message);
        return;
    }
    g.ike_psk = std::move(*key);
    g.ike_psk_file = p.string();
}

namespace {

void read_member(Context& c, const toml::table& t) {
    c.reader.check_keys(t, member_section(), {});
    c.reader.read_keys(c, t, member_section().keys, {});
}

void read_group(Context& c, toml::table& t, std::size_t index) {
    GroupConfig g;
    c.group = &g;
    c.group_table = &t;
    c.group_where = {"group #" + std::to_string(index + 1), ""};
    const std::size_t errors_before = c.reader.error_count();
    // The name first (the schema's first key): it labels every other message of this group.
    const std::span<const Key> keys = group_section().keys;
    c.reader.read_keys(c, t, keys.first(1), Where(c.group_where));
    c.reader.check_keys(t, group_section(), c.group_where);
    c.reader.read_keys(c, t, keys.subspan(1), Where(c.group_where));
    if (c.reader.error_count() == errors_before) c.config.groups.push_back(std::move(g));
    c.group = nullptr;
    c.group_table = nullptr;
}

void read_document(Context& c, toml::table& doc) {
    c.reader.check_keys(doc, top(), {});
    const toml::node* member_node = doc.get("member");
    if (!member_node) {
        c.reader.error({1, 1}, {}, "missing required table [member] (with local-address and wan-interface)");
    } else if (const auto* mt = member_node->as_table()) {
        read_member(c, *mt);
    } else {
        c.reader.error(at(*member_node), {"", "member"},
                       std::string("expected the table [member], got ") + type_name(member_node->type()));
    }

    toml::node* groups_node = doc.get("group");
    if (!groups_node) {
        c.reader.error({1, 1}, {},
                       "no [[group]] table; add at least one group (name, id, servers, ike.psk-file, "
                       "lan-interfaces)");
        return;
    }
    auto* groups = groups_node->as_array();
    if (groups && groups->empty()) {
        c.reader.error(at(*groups_node), {"", "group"},
                       "the list of groups is empty; add at least one [[group]] table");
        return;
    }
    if (!groups || !groups->is_array_of_tables()) {
        c.reader.error(at(*groups_node), {"", "group"},
                       std::string("expected one [[group]] table per group, got ") +
                           (groups ? "an array of values" : type_name(groups_node->type())) +
                           "; write [[group]] (two brackets) before each group");
        return;
    }
    for (std::size_t i = 0; i < groups->size(); ++i) read_group(c, *(*groups)[i].as_table(), i);
}

}  // namespace

common::Result<MemberConfig> load(std::string_view text, const std::string& source,
                                  std::optional<mode_t> config_mode) {
    if (auto bounded = check_config_bounds(text, source); !bounded) return bounded.error();
    toml::table doc;
    try {
        doc = toml::parse(text, std::string_view(source));
    } catch (const toml::parse_error& e) {
        const auto& b = e.source().begin;
        // toml++ quotes at most one character of the input: no key material leaks here.
        return common::make_error(source + ":" + std::to_string(b.line) + ":" + std::to_string(b.column) +
                                  ": TOML syntax error: " + std::string(e.description()));
    }
    Context c{.reader = Reader(source),
              .config_mode = config_mode,
              .base_dir = std::filesystem::path(source).parent_path()};
    c.config.source = source;
    read_document(c, doc);
    wipe_psks(doc);
    if (c.reader.error_count() != 0) return common::make_error(c.reader.report(), EINVAL);
    return std::move(c.config);
}

// --- [member] ---

void store_local_address(Context& c, const Item& v) {
    auto e = gdoi::Endpoint::parse(v.text, 0);
    if (!e)
        c.reader.error(at(v.node), v.where,
                       "expected an IPv4 or IPv6 address of this router (e.g. \"192.0.2.1\"), got " +
                           quote(v.text) + "; host names are not resolved");
    else if (is_unspecified_or_multicast(*e))
        c.reader.error(at(v.node), v.where,
                       quote(v.text) + " is not a unicast address; give this router's own address");
    else
        c.config.local_address = *e, c.have_local_address = true;
}

void store_wan_interface(Context& c, const Item& v) {
    if (valid_ifname(v.text))
        c.config.wan_interface = v.text;
    else
        c.reader.error(at(v.node), v.where, kBadIfname + quote(v.text));
}

void store_control_socket(Context& c, const Item& v) {
    if (v.text.empty() || v.text[0] != '/' || v.text.size() >= 108)  // sun_path is 108 bytes
        c.reader.error(at(v.node), v.where,
                       "expected an absolute path shorter than 108 bytes (e.g. \"" +
                           std::string(kDefaultControlSocket) + "\"), got " + quote(v.text));
    else
        c.config.control_socket = v.text;
}

// --- [[group]] ---

void store_group_name(Context& c, const Item& v) {
    if (!valid_group_name(v.text)) {
        c.reader.error(at(v.node), v.where,
                       "expected 1.." + std::to_string(kMaxGroupNameLength) +
                           " letters, digits, '_', '-' or '.', got " + quote(v.text));
        return;
    }
    c.group->name = v.text;
    c.group_where.group = "group " + quote(v.text);
    if (const auto it = c.group_names.find(v.text); it != c.group_names.end())
        c.reader.error(at(v.node), c.group_where.sub("name"),
                       "the name is already used by the group at line " + std::to_string(it->second) +
                           "; group names must be unique");
    else
        c.group_names.emplace(v.text, at(v.node).line);
}

void store_group_id(Context& c, const Item& v) {
    const auto id = static_cast<std::uint32_t>(v.integer);
    c.group->id = id;
    if (const auto it = c.group_ids.find(id); it != c.group_ids.end())
        c.reader.error(at(v.node), v.where,
                       std::to_string(id) + " is already the id of " + it->second.first + " (line " +
                           std::to_string(it->second.second) + "); group ids must be unique");
    else
        c.group_ids.emplace(id, std::make_pair(c.group_where.group, at(v.node).line));
}

void store_server(Context& c, const Item& v) {
    auto server = parse_server(v.text);
    auto& servers = c.group->servers;
    if (!server)
        c.reader.error(at(v.node), v.where, server.error().message);
    else if (c.have_local_address && server->family() != c.config.local_address.family())
        c.reader.error(at(v.node), v.where,
                       server->to_string() + " is not of the address family of local-address " +
                           c.config.local_address.address_string() +
                           "; give key servers reachable from local-address");
    else if (std::find(servers.begin(), servers.end(), *server) != servers.end())
        c.reader.error(at(v.node), v.where,
                       server->to_string() + " is listed twice; list each key server once");
    else
        servers.push_back(*server);
}

void store_lan_interface(Context& c, const Item& v) {
    auto& lans = c.group->lan_interfaces;
    if (!valid_ifname(v.text))
        c.reader.error(at(v.node), v.where, kBadIfname + quote(v.text));
    else if (v.text == c.config.wan_interface)
        c.reader.error(at(v.node), v.where,
                       quote(v.text) + " is the wan-interface; a LAN interface is on the protected side");
    else if (std::find(lans.begin(), lans.end(), v.text) != lans.end())
        c.reader.error(at(v.node), v.where, quote(v.text) + " is listed twice");
    else
        lans.push_back(v.text);
}

// exclude = [ { protocol = "tcp", destination-port = 179 }, ... ]
void store_anti_replay_window(Context& c, const Item& v) {
    if (v.integer != 0 && (v.integer < kMinAntiReplayWindow || v.integer > kMaxAntiReplayWindow)) {
        c.reader.error(at(v.node), v.where,
                       "expected 0 (off) or " + std::to_string(kMinAntiReplayWindow) + ".." +
                           std::to_string(kMaxAntiReplayWindow) + " seconds, got " +
                           std::to_string(v.integer));
        return;
    }
    c.group->anti_replay_window = static_cast<std::uint32_t>(v.integer);
}

void store_exclude_rule(Context& c, const Item& v) {
    if (auto s = read_rule(c, v, exclude_rule_section(),
                           "protocol, source, destination, source-port, destination-port"))
        c.group->exclude.push_back({*s});
}

// fail-open = [ { source = "10.1.0.0/16", destination = "10.2.0.0/16" }, ... ]
void store_fail_open_rule(Context& c, const Item& v) {
    if (auto s = read_rule(c, v, fail_open_rule_section(), "source, destination, protocol"))
        c.group->fail_open.push_back({*s});
}

void store_ike(Context& c, const Item& v) {
    const toml::table& ike = *v.node.as_table();
    c.ike_auth = {};
    c.reader.check_keys(ike, ike_section(), c.group_where);
    c.reader.read_keys(c, ike, ike_section().keys, v.where);
    // Aggressive mode sends the KE payload in its first message, before the responder has
    // chosen a proposal (RFC 2409 §5.4), so every proposal must use that one DH group.
    const GroupConfig& g = *c.group;
    if (g.ike_mode == gdoi::Phase1Mode::Aggressive && g.ike_proposals.size() > 1) {
        const auto& first = g.ike_proposals.front();
        const auto* proposals = ike.get("proposals");
        for (const auto& p : g.ike_proposals)
            if (p.group != first.group) {
                c.reader.error(proposals ? at(*proposals) : at(*c.group_table), v.where.sub("proposals"),
                               "aggressive mode sends its Diffie-Hellman value in the first message, so all "
                               "proposals must use one DH group; " +
                                   quote(first.name()) + " and " + quote(p.name()) +
                                   " differ; use one group in every proposal or ike.mode = \"main\"");
                break;
            }
    }
    read_ike_auth(c, ike, v.where);
}

// --- ike ---

void store_proposal(Context& c, const Item& v) {
    auto p = gdoi::parse_ike_proposal(v.text);
    if (!p)
        c.reader.error(at(v.node), v.where, p.error().message);
    else
        c.group->ike_proposals.push_back(*p);
}

void default_proposals(Context& c) {
    c.group->ike_proposals.push_back(*gdoi::parse_ike_proposal(kDefaultIkeProposal));
}

// --- a rule ---

void store_protocol(Context& c, const Item& v) {
    if (!v.text_given) {
        c.selector->protocol = static_cast<std::uint8_t>(v.integer);
        return;
    }
    auto p = policy::parse_protocol(v.text);
    if (!p)
        c.reader.error(at(v.node), v.where, p.error().message);
    else
        c.selector->protocol = *p;
}

void store_source(Context& c, const Item& v) { store_prefix(c, v, c.selector->source); }
void store_destination(Context& c, const Item& v) { store_prefix(c, v, c.selector->destination); }

void store_source_port(Context& c, const Item& v) {
    if (auto r = port_range(c, v)) c.selector->source_port = *r;
}

void store_destination_port(Context& c, const Item& v) {
    if (auto r = port_range(c, v)) c.selector->destination_port = *r;
}

}  // namespace member::schema
