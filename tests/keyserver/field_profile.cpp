#include "field_profile.h"

#include <charconv>

namespace keyserver {

namespace {

bool parse_unsigned(const std::string& text, unsigned max, unsigned& out) {
    unsigned v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size() || v > max) return false;
    out = v;
    return true;
}

void profile_field(FieldOptions& o) {
    o.habits = gcks::FieldHabits{true, true, true, true, true, true};
    o.drop_gdoi_situation = true;
    o.no_delete = true;
    if (o.push_port == 0) o.push_port = kFieldPushPort;
}

}  // namespace

bool parse_field_option(const std::string& a, const std::function<std::string()>& value, FieldOptions& o,
                        std::string& error) {
    if (a == "--profile") {
        const std::string name = value();
        if (name == "field")
            profile_field(o);
        else if (name != "rfc")
            error = "--profile wants field or rfc, not " + name;
        return true;
    }
    if (a == "--drop-gdoi-situation")
        o.drop_gdoi_situation = true;
    else if (a == "--kd-current-kek")
        o.habits.kd_names_current_kek = true;
    else if (a == "--sak-six-octets")
        o.habits.sak_six_octets = true;
    else if (a == "--sat-one-octet-id")
        o.habits.sat_one_octet_id = true;
    else if (a == "--kek-lifetime-basic")
        o.habits.kek_lifetime_basic = true;
    else if (a == "--tek-attrs-zero")
        o.habits.tek_attrs_zero = true;
    else if (a == "--raw-hash-rsa")
        o.habits.raw_hash_rsa = true;
    else if (a == "--no-delete")
        o.no_delete = true;
    else if (a == "--push-port" || a == "--rekey-every" || a == "--kek-rekey-every") {
        const std::string text = value();
        unsigned v = 0;
        const bool port = a == "--push-port";
        if (!parse_unsigned(text, port ? 65535 : 86400, v) || v == 0)
            error = a + " wants " + (port ? "a port 1..65535" : "seconds 1..86400") + ", not " + text;
        else if (port)
            o.push_port = static_cast<uint16_t>(v);
        else
            (a == "--rekey-every" ? o.rekey_every : o.kek_rekey_every) = v;
    } else {
        return false;
    }
    return true;
}

const char* field_usage() {
    return "Field habits, all with --profile field (rfc: none), or one by one:\n"
           "  --drop-gdoi-situation  phase 1: drop DOI 2 with Situation != 0, no notification\n"
           "  --kd-current-kek       a KEK rekey's KD names the current KEK's SPI (not the new one)\n"
           "  --sak-six-octets       6 zero octets after the SAK SPI; --sat-one-octet-id 1-octet SAT ID "
           "lengths\n"
           "  --kek-lifetime-basic   KEK_KEY_LIFETIME as a basic attribute (at most 65535 s)\n"
           "  --tek-attrs-zero       ADDRESS_PRESERVATION and SA_DIRECTION sent as 0\n"
           "  --raw-hash-rsa         RSA push signatures over the bare hash (no DigestInfo)\n"
           "  --no-delete            rekeys without Delete of the old TEKs\n"
           "  --push-port P          pushes from source port P (field profile: 8848), ACKs to it\n"
           "  --rekey-every S, --kek-rekey-every S  periodic TEK / KEK rekeys once a member registered\n";
}

}  // namespace keyserver
