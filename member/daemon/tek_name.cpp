#include "daemon/tek_name.h"

#include "xfrm/algorithm.h"

namespace member {

std::string tek_algorithm_name(const gdoi::Tek& t) {
    const auto* c = xfrm::find_cipher(static_cast<xfrm::EspTransformId>(t.transform_id));
    std::string s = c ? std::string(c->ike_name) : "transform " + std::to_string(t.transform_id);
    if (t.key_bits != 0) s += "-" + std::to_string(t.key_bits);
    if (t.auth_algorithm != 0) {
        const auto* a = xfrm::find_auth(static_cast<xfrm::AuthAlgorithmId>(t.auth_algorithm));
        s += "/" + (a ? std::string(a->ike_name) : "auth " + std::to_string(t.auth_algorithm));
    }
    return s;
}

std::string tek_role_text(const TekRole& role) {
    switch (role.kind) {
        case TekRole::Kind::unknown:
            return {};
        case TekRole::Kind::activating:
            return "inbound-only (activating)";
        case TekRole::Kind::active:
            return "active";
        case TekRole::Kind::inbound_only:
            return "inbound-only";
        case TekRole::Kind::deactivating:
            return "inbound-only (deactivating)";
        case TekRole::Kind::refused:
            return "refused: " + role.reason;
        case TekRole::Kind::not_installed:
            return "not installed (" + role.reason + ")";
    }
    return {};
}

}  // namespace member
