// The loader's state while it reads one file, and the converters of the keys that need real
// parsing (addresses, interface names, proposals, rules, pre-shared keys). The schema
// (config/schema.cpp) names them as the keys' stores; config/loader.cpp defines them.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "config/config.h"
#include "config/toml_reader.h"

namespace member::schema {

struct Context {
    Reader reader;
    std::optional<mode_t> config_mode{};  // of the configuration file, when it was read from one
    std::filesystem::path base_dir{};     // resolves relative ike.psk-file paths
    MemberConfig config{};
    bool have_local_address = false;
    std::map<std::string, std::uint32_t> group_names{};                          // name -> line
    std::map<std::uint32_t, std::pair<std::string, std::uint32_t>> group_ids{};  // id -> (label, line)

    // The group being read: its model, where its messages point, its table.
    GroupConfig* group = nullptr;
    Where group_where{};
    toml::table* group_table = nullptr;
    // The rule being read.
    policy::Selector* selector = nullptr;
    // The group's ike.auth, ike.certificate, ... as given (config/ike_auth.cpp), positions kept
    // for its messages.
    struct IkeAuthInput {
        std::optional<IkeAuth> auth;
        const toml::node* auth_node = nullptr;
        std::string certificate, private_key, ca;
        const toml::node *certificate_node = nullptr, *private_key_node = nullptr, *ca_node = nullptr;
        std::vector<std::string> crl;
        const toml::node* crl_node = nullptr;
        gdoi::isakmp::IdType id_type = gdoi::isakmp::IdType::DerAsn1Dn;
        const toml::node* peer_id_node = nullptr;
        std::string peer_id;
    } ike_auth{};
};

// Parses, checks and converts `text`; the result or every problem found.
common::Result<MemberConfig> load(std::string_view text, const std::string& source,
                                  std::optional<mode_t> config_mode);

// [member]
void store_local_address(Context& c, const Item& v);
void store_wan_interface(Context& c, const Item& v);
void store_control_socket(Context& c, const Item& v);
// [[group]]
void store_group_name(Context& c, const Item& v);
void store_group_id(Context& c, const Item& v);
void store_server(Context& c, const Item& v);
void store_lan_interface(Context& c, const Item& v);
void store_anti_replay_window(Context& c, const Item& v);  // 0, or 60..360
void store_exclude_rule(Context& c, const Item& v);
void store_fail_open_rule(Context& c, const Item& v);
void store_ike(Context& c, const Item& v);
// ike
void store_proposal(Context& c, const Item& v);
void default_proposals(Context& c);
void store_ike_auth(Context& c, const Item& v);
void store_ike_certificate(Context& c, const Item& v);
void store_ike_private_key(Context& c, const Item& v);
void store_ike_ca(Context& c, const Item& v);
void store_ike_crl(Context& c, const Item& v);
void store_ike_id_type(Context& c, const Item& v);
void store_ike_peer_id(Context& c, const Item& v);
// After the ike table's keys: signatures (ike_sig, the files loaded) or the pre-shared key.
void read_ike_auth(Context& c, const toml::table& ike, const Where& w);
void read_psk(Context& c, const toml::table& ike, const Where& w);
// a rule
void store_protocol(Context& c, const Item& v);
void store_source(Context& c, const Item& v);
void store_destination(Context& c, const Item& v);
void store_source_port(Context& c, const Item& v);
void store_destination_port(Context& c, const Item& v);

}  // namespace member::schema
