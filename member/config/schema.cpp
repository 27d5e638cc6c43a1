// The tables: the same keys, in the same order, as packaging/member.toml.example.
#include "config/schema.h"

#include "config/loader.h"

namespace member::schema {
namespace {

std::string servers_range() { return "1.." + std::to_string(kMaxServers); }

Section make_member() {
    return {
        .id = SectionId::member,
        .label = "[member]",
        .keys =
            {
                {.key = "local-address",
                 .expected = "an IP address such as \"192.0.2.1\" or \"2001:db8::1\"",
                 .store = store_local_address,
                 .required = "this router's address, the source of IKE/GDOI, e.g. \"192.0.2.1\"",
                 .doc = "this router's IPv4 or IPv6 address: source of IKE and GDOI, phase-1 identity"},
                {.key = "wan-interface",
                 .expected = "an interface name such as \"eth1\"",
                 .store = store_wan_interface,
                 .required = "the interface towards the key servers, e.g. \"eth1\"",
                 .doc = "the interface towards the key servers (group-vpn-external-interface)"},
                {.key = "control-socket",
                 .expected = "an absolute path such as \"/run/gdoi-member/control.sock\"",
                 .store = store_control_socket,
                 .default_text = quote(kDefaultControlSocket),
                 .doc = "the Unix socket gdoictl talks to, absolute, shorter than 108 bytes"},
                {.key = "log-level",
                 .type = Type::choice,
                 .choices = {{"debug", static_cast<int>(gdoi::LogLevel::Debug)},
                             {"info", static_cast<int>(gdoi::LogLevel::Info)},
                             {"warning", static_cast<int>(gdoi::LogLevel::Warning)},
                             {"error", static_cast<int>(gdoi::LogLevel::Error)}},
                 .store = [](Context& c, const Item& v) { c.config.log_level = gdoi::LogLevel(v.choice); },
                 .default_text = "\"info\"",
                 .doc = "lowest level logged; --log-level overrides it"},
            },
    };
}

Section make_ike() {
    return {
        .id = SectionId::ike,
        .label = "ike",
        .keys =
            {
                {.key = "mode",
                 .type = Type::choice,
                 .choices = {{"main", static_cast<int>(gdoi::Phase1Mode::Main)},
                             {"aggressive", static_cast<int>(gdoi::Phase1Mode::Aggressive)}},
                 .store = [](Context& c, const Item& v) { c.group->ike_mode = gdoi::Phase1Mode(v.choice); },
                 .default_text = "\"main\"",
                 .doc = "phase-1 exchange: main (6 messages) or aggressive (3, one DH group)"},
                {.key = "proposals",
                 .type = Type::list,
                 .expected = "a list of proposals such as [\"aes256-sha256-modp2048\"]",
                 .store = store_proposal,
                 .absent = default_proposals,
                 .default_text = "[\"" + std::string(kDefaultIkeProposal) + "\"]",
                 .doc = "phase-1 proposals CIPHER-HASH-DHGROUP, offered in this order",
                 .element_expected = "a proposal name such as \"aes256-sha256-modp2048\"",
                 .empty = "the list is empty; give at least one proposal, e.g. [\"" +
                          std::string(kDefaultIkeProposal) + "\"]"},
                // psk and psk-file: exactly one of them; read by store_ike (no store here).
                {.key = "psk",
                 .expected = "the pre-shared key as a string",
                 .doc = "the pre-shared key itself (only in a file readable by its owner only)",
                 .secret = true},
                {.key = "psk-file",
                 .expected = "a path such as \"/etc/gdoi-member/group1.psk\"",
                 .doc = "the file holding the pre-shared key, owner-only, relative to this file"},
                // Signatures (config/ike_auth.cpp decides between them and the pre-shared key).
                {.key = "auth",
                 .type = Type::choice,
                 .choices = {{"psk", static_cast<int>(IkeAuth::psk)},
                             {"rsa-sig", static_cast<int>(IkeAuth::rsa_sig)},
                             {"ecdsa-sig", static_cast<int>(IkeAuth::ecdsa_sig)}},
                 .store = store_ike_auth,
                 .default_text = "\"psk\"",
                 .doc = "phase-1 authentication: psk, or rsa-sig / ecdsa-sig with certificates (the "
                        "default with ike.certificate: the key's type)"},
                {.key = "certificate",
                 .expected = "a path such as \"/etc/gdoi-member/member.crt\"",
                 .store = store_ike_certificate,
                 .doc = "this member's X.509 certificate (PEM or DER), relative to this file"},
                {.key = "private-key",
                 .expected = "a path such as \"/etc/gdoi-member/member.key\"",
                 .store = store_ike_private_key,
                 .doc = "the certificate's private key (PEM or DER, unencrypted), owner-only"},
                {.key = "ca",
                 .expected = "a path such as \"/etc/gdoi-member/ca.pem\"",
                 .store = store_ike_ca,
                 .doc = "the CA certificate(s) (PEM) that issue the key servers' certificates"},
                {.key = "crl",
                 .type = Type::list,
                 .expected = "a list of paths such as [\"/etc/gdoi-member/ca.crl\"]",
                 .store = store_ike_crl,
                 .doc =
                     "certificate revocation lists (PEM or DER) of the CA: a revoked key server is refused",
                 .element_expected = "a path such as \"/etc/gdoi-member/ca.crl\""},
                {.key = "id-type",
                 .type = Type::choice,
                 .choices = {{"dn", static_cast<int>(gdoi::isakmp::IdType::DerAsn1Dn)},
                             {"fqdn", static_cast<int>(gdoi::isakmp::IdType::Fqdn)},
                             {"address", static_cast<int>(gdoi::isakmp::IdType::Ipv4Addr)}},
                 .store = store_ike_id_type,
                 .default_text = "\"dn\"",
                 .doc = "this member's identity with certificates: its subject (dn), its certificate's DNS "
                        "name (fqdn) or its local-address"},
                {.key = "peer-id",
                 .expected = "the key server's DNS name or address, as in its certificate",
                 .store = store_ike_peer_id,
                 .doc = "with certificates: the identity the key server must present (a DNS name or an "
                        "address of its certificate); not given: its certificate must name its address"},
                {.key = "lifetime",
                 .type = Type::integer,
                 .expected = "seconds of the phase-1 SA, 86400 by default",
                 .min = kMinIkeLifetime,
                 .max = kMaxIkeLifetime,
                 .store = [](Context& c, const Item& v) { c.group->ike_lifetime = std::uint32_t(v.integer); },
                 .default_text = std::to_string(kDefaultIkeLifetime),
                 .doc = "lifetime of the phase-1 SA in seconds"},
                {.key = "doi",
                 .type = Type::integer,
                 .expected = "2 = GDOI per RFC 6407 §2.1, 1 for peers that want the IPsec DOI",
                 .min = 1,
                 .max = 2,
                 .store = [](Context& c, const Item& v) { c.group->ike_doi = std::uint32_t(v.integer); },
                 .default_text = "2",
                 .doc = "DOI of the phase-1 SA payload: 2 (GDOI) or 1 (IPsec)"},
            },
    };
}

// exclude and fail-open rules share their address keys.
std::vector<Key> rule_keys(bool with_ports) {
    std::vector<Key> keys = {
        {.key = "protocol",
         .type = Type::integer_or_string,
         .expected = "a protocol name such as \"tcp\", \"udp\", \"icmp\" or a number",
         .min = 0,
         .max = 255,
         .store = store_protocol,
         .doc = "a protocol name or number 0..255",
         .what = "IP protocol number"},
        {.key = "source",
         .expected = "a prefix such as \"10.1.0.0/16\"",
         .store = store_source,
         .doc = "an IPv4 or IPv6 prefix or address"},
        {.key = "destination",
         .expected = "a prefix such as \"10.1.0.0/16\"",
         .store = store_destination,
         .doc = "an IPv4 or IPv6 prefix or address"},
    };
    if (!with_ports) return keys;
    for (const auto& [key, store] :
         {std::pair<const char*, Store>{"source-port", store_source_port},
          std::pair<const char*, Store>{"destination-port", store_destination_port}})
        keys.push_back({.key = key,
                        .type = Type::integer_or_string,
                        .expected = "a port such as 179 or a range such as \"1024-65535\"",
                        .min = 1,
                        .max = 65535,
                        .store = store,
                        .doc = "a port 1..65535 or a range \"1024-65535\" (tcp, udp, sctp, dccp, udplite)",
                        .what = "a port"});
    return keys;
}

Key rule_list(const std::string& key, const std::string& example, Store store, std::size_t limit,
              const std::string& doc) {
    return {.key = key,
            .type = Type::list,
            .expected = "a list of rules such as [ { " + example + " } ]",
            .store = store,
            .default_text = "[]",
            .doc = doc,
            .element = Type::table,
            .element_expected = "a table such as { source = \"10.1.0.0/16\" }",
            .element_label = key + " rule",
            .max_items = limit,
            .too_many = "rules",
            .too_many_why = "merge rules with wider prefixes or port ranges"};
}

Section make_group() {
    return {
        .id = SectionId::group,
        .label = "[[group]]",
        .keys =
            {
                // The name first: it labels every other message of the group (loader.cpp).
                {.key = "name",
                 .expected = "a group name such as \"GROUP_ID-0001\"",
                 .store = store_group_name,
                 .required = "the group's name for logs and gdoictl, e.g. \"GROUP_ID-0001\"",
                 .doc = "the group's name in logs and gdoictl, unique"},
                {.key = "id",
                 .type = Type::integer,
                 .expected = "the GDOI group id",
                 .min = 1,
                 .max = 4294967295LL,
                 .store = store_group_id,
                 .required = "the GDOI group id, 1..4294967295",
                 .doc = "the GDOI group id, unique"},
                {.key = "servers",
                 .type = Type::list,
                 .expected = "a list of " + servers_range() +
                             " key server addresses, e.g. [\"198.51.100.10\", \"198.51.100.11:848\"]",
                 .store = store_server,
                 .required = servers_range() + " key server addresses, e.g. servers = [\"198.51.100.10\"]",
                 .doc = "key servers, IP literal with optional port, tried in order",
                 .element_expected = "a key server address such as \"198.51.100.10\"",
                 .empty = "the list is empty; give " + servers_range() +
                          " key server addresses, e.g. [\"198.51.100.10\"]",
                 .max_items = kMaxServers,
                 .too_many = "key servers",
                 .too_many_why = "tried in order"},
                {.key = "local-port",
                 .type = Type::integer,
                 .expected = "UDP port, 848 by default",
                 .min = 1,
                 .max = 65535,
                 .store = [](Context& c, const Item& v) { c.group->local_port = std::uint16_t(v.integer); },
                 .default_text = std::to_string(gdoi::kGdoiPort),
                 .doc = "UDP source port towards the key servers"},
                {.key = "ike",
                 .type = Type::table,
                 .expected = "a table (ike.mode = ..., ike.psk-file = ...)",
                 .store = store_ike,
                 .required = "the file holding the group's IKE pre-shared key; or ike.psk",
                 .required_as = "ike.psk-file",
                 .doc = "phase 1 (IKEv1 with a pre-shared key)",
                 .section = &ike_section()},
                {.key = "recovery-probe",
                 .type = Type::boolean,
                 .store = [](Context& c, const Item& v) { c.group->recovery_probe = v.boolean; },
                 .default_text = "true",
                 .doc = "register again on unknown SPIs or outbound-only traffic"},
                {.key = "lan-interfaces",
                 .type = Type::list,
                 .expected = "a list of interface names such as [\"eth0\"]",
                 .store = store_lan_interface,
                 .required = "the protected-side interfaces, e.g. lan-interfaces = [\"eth0\"]",
                 .doc = "the protected side: interfaces whose traffic the group encrypts",
                 .element_expected = "an interface name such as \"eth0\"",
                 .empty = "the list is empty; give the protected-side interfaces, e.g. [\"eth0\"]"},
                rule_list("exclude", "protocol = \"tcp\", destination-port = 179", store_exclude_rule,
                          policy::kMaxExcludeRules, "traffic that stays in clear"),
                rule_list("fail-open", "source = \"10.1.0.0/16\", destination = \"10.2.0.0/16\"",
                          store_fail_open_rule, policy::kMaxFailOpenRules,
                          "traffic that may pass in clear while the group has no key"),
                {.key = "allow-gcm",
                 .type = Type::choice,
                 .choices = {{"accept", static_cast<int>(AllowGcm::accept)},
                             {"warn", static_cast<int>(AllowGcm::warn)},
                             {"refuse", static_cast<int>(AllowGcm::refuse)}},
                 .store = [](Context& c, const Item& v) { c.group->allow_gcm = AllowGcm(v.choice); },
                 .default_text = "\"warn\"",
                 .doc = "what to do with an AES-GCM TEK"},
                {.key = "gcm-expected-senders",
                 .type = Type::integer,
                 .expected = "members sending under one AES-GCM key",
                 .min = 1,
                 .max = kMaxGcmExpectedSenders,
                 .store = [](Context& c,
                             const Item& v) { c.group->gcm_expected_senders = std::uint32_t(v.integer); },
                 .default_text = std::to_string(kDefaultGcmExpectedSenders),
                 .doc = "members expected to send under one GCM key (sizes the packet limit)"},
                {.key = "df-bit",
                 .type = Type::choice,
                 .choices = {{"clear", static_cast<int>(DfBit::clear)},
                             {"copy", static_cast<int>(DfBit::copy)},
                             {"set", static_cast<int>(DfBit::set)}},
                 .store = [](Context& c, const Item& v) { c.group->df_bit = DfBit(v.choice); },
                 .default_text = "\"clear\"",
                 .doc = "Don't Fragment on the outer header of the group's ESP"},
                {.key = "anti-replay-time-window",
                 .type = Type::integer,
                 .expected = "seconds: 0 (off) or 60..360, as Junos' anti-replay-time-window",
                 .min = 0,
                 .max = kMaxAntiReplayWindow,
                 .store = store_anti_replay_window,
                 .default_text = "0",
                 .doc = "drop group ESP older (or newer) than this many seconds: time-based anti-replay"},
            },
    };
}

}  // namespace

const Key* Section::find(std::string_view key) const {
    for (const auto& k : keys)
        if (k.key == key) return &k;
    return nullptr;
}

std::vector<std::string> Section::suggestions() const {
    std::vector<std::string> out;
    for (const auto& k : keys) out.push_back(k.key);
    for (const auto& k : keys)
        if (k.section)
            for (const auto& sub : k.section->keys) out.push_back(k.key + "." + sub.key);
    return out;
}

const Section& top() {
    // [member] and [[group]] are read by loader.cpp: their shapes need messages of their own.
    static const Section s{.id = SectionId::top,
                           .label = "the top level",
                           .keys = {{.key = "member", .type = Type::table, .doc = "settings of this router"},
                                    {.key = "group", .type = Type::list, .doc = "one [[group]] per group"}}};
    return s;
}

const Section& member_section() {
    static const Section s = make_member();
    return s;
}

const Section& group_section() {
    static const Section s = make_group();
    return s;
}

const Section& ike_section() {
    static const Section s = make_ike();
    return s;
}

const Section& exclude_rule_section() {
    static const Section s{
        .id = SectionId::exclude_rule, .label = "an exclude rule", .keys = rule_keys(true)};
    return s;
}

const Section& fail_open_rule_section() {
    static const Section s{.id = SectionId::fail_open_rule,
                           .label = "a fail-open rule",
                           .keys = rule_keys(false),
                           .misplaced = {"source-port", "destination-port"},
                           .misplaced_reason = "fail-open rules match source, destination and protocol only",
                           .explain_elsewhere = false};
    return s;
}

std::span<const Section* const> all_sections() {
    static const Section* const sections[] = {
        &top(),         &member_section(),       &group_section(),
        &ike_section(), &exclude_rule_section(), &fail_open_rule_section()};
    return sections;
}

}  // namespace member::schema
