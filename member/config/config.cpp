// The public face of the configuration loader: the file checks of load_config and the names of
// the enumerations. The loading itself: config/loader.cpp (sections and converters),
// config/schema.cpp (the table of keys) and config/toml_reader.cpp (the generic checks).
#include "config/config.h"

#include <optional>
#include <string_view>

#include "config/loader.h"
#include "gdoi/private_file.h"

namespace member {
namespace {

constexpr std::size_t kMaxConfigFileSize = 1 << 20;

// The names are the schema's allowed values (config/schema.cpp): one spelling for both directions.
const char* choice_name(std::string_view key, int value) {
    for (const auto& c : schema::group_section().find(key)->choices)
        if (c.value == value) return c.name.data();  // string literals: NUL-terminated
    return "?";
}

}  // namespace

const char* df_bit_name(DfBit value) { return choice_name("df-bit", static_cast<int>(value)); }

const char* allow_gcm_name(AllowGcm value) { return choice_name("allow-gcm", static_cast<int>(value)); }

bool IkeSignatureConfig::operator==(const IkeSignatureConfig& o) const {
    return certificate == o.certificate && private_key == o.private_key && ca == o.ca && crl == o.crl &&
           id_type == o.id_type && peer_id == o.peer_id && credentials.method == o.credentials.method;
}

bool IkeSignatureConfig::same_credentials(const IkeSignatureConfig& o) const {
    return gdoi::crypto::same_certificate_chain(credentials, o.credentials) && local_id == o.local_id &&
           credentials.trust->fingerprint() == o.credentials.trust->fingerprint();
}

const GroupConfig* MemberConfig::find_group(std::string_view group_name) const {
    for (const auto& g : groups)
        if (g.name == group_name) return &g;
    return nullptr;
}

common::Result<MemberConfig> parse_config(std::string_view text, const std::string& source_name) {
    return schema::load(text, source_name, std::nullopt);
}

common::Result<MemberConfig> load_config(const std::string& path) {
    // Not a FIFO, device or symlink, root's or the daemon's user's (gdoi/private_file.h); the
    // text stays in secure memory (it may hold an inline key).
    const std::string what =
        std::string("the configuration file (-c FILE; the default is ") + kDefaultConfigPath + ")";
    auto file = gdoi::read_private_file(path, {what, kMaxConfigFileSize, 0});
    if (!file) return common::make_error(file.error().message, file.error().code);
    const auto& text = file->content;
    return schema::load(std::string_view(reinterpret_cast<const char*>(text.data()), text.size()), path,
                        file->mode);
}

}  // namespace member
