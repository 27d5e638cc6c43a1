// TEK acceptance, transform and lifetimes (see dataplane_tek.h).
#include "dataplane/dataplane_tek.h"

#include "dataplane/dataplane_selectors.h"

namespace member {
namespace {

constexpr uint16_t kEncapsulationTunnel = 1;  // RFC 2407 §4.5 Encapsulation Mode
// RFC 6407 §5.4.1 Address Preservation: 4 = source and destination.
constexpr uint16_t kPreserveBoth = 4;
// RFC 6407 §5.4.1 SA Direction: 3 = symmetric.
constexpr uint16_t kDirectionSymmetric = 3;

}  // namespace

uint64_t gcm_packet_limit(uint32_t expected_senders) {
    const uint64_t n = expected_senders < 2 ? 2 : expected_senders;
    const unsigned __int128 pairs2 = static_cast<unsigned __int128>(n) * (n - 1);  // n(n-1)
    const unsigned __int128 budget = static_cast<unsigned __int128>(1) << 33;
    // Largest m with n(n-1) * 2^m < 2^33 (m <= 32: the 32-bit sequence number without ESN).
    int m = -1;
    for (int k = 0; k <= 32; ++k)
        if (pairs2 * (static_cast<unsigned __int128>(1) << k) < budget) m = k;
    if (m < 0) return 0;
    return (uint64_t{1} << m) - 1;
}

uint64_t gcm_soft_packet_limit(uint64_t hard) { return hard - hard / 4; }

bool is_gcm(const xfrm::EspTransform& t) { return t.cipher == xfrm::EspTransformId::esp_aes_gcm_16; }

common::Result<xfrm::EspTransform> tek_transform(const gdoi::Tek& tek) {
    xfrm::EspTransform t;
    t.cipher = static_cast<xfrm::EspTransformId>(tek.transform_id);
    const xfrm::CipherInfo* cipher = xfrm::find_cipher(t.cipher);
    if (!cipher) {
        std::string known;
        for (const auto& c : xfrm::all_ciphers())
            known += (known.empty() ? "" : ", ") + std::string(c.ike_name) + " (" +
                     std::to_string(static_cast<int>(c.id)) + ")";
        return common::make_error("ESP transform id " + std::to_string(tek.transform_id) +
                                  " is not supported (supported: " + known + ")");
    }
    t.auth = static_cast<xfrm::AuthAlgorithmId>(tek.auth_algorithm);
    if (tek.auth_algorithm != 0 && !xfrm::find_auth(t.auth))
        return common::make_error("authentication algorithm " + std::to_string(tek.auth_algorithm) +
                                  " is not supported");
    t.key_bits = tek.key_bits;
    if (t.key_bits == 0) {
        // 3DES has one size; AES without Key Length: take it from the key material.
        if (t.cipher == xfrm::EspTransformId::esp_3des)
            t.key_bits = 192;
        else
            t.key_bits = static_cast<uint16_t>((tek.encryption_key.size() * 8) - cipher->salt_bits);
    }
    if (auto why = xfrm::validate(t); !why.empty())
        return common::make_error(
            std::string(cipher->ike_name) + " " + std::to_string(t.key_bits) + " bits" +
            (tek.auth_algorithm ? " with auth " + std::to_string(tek.auth_algorithm) : "") + ": " +
            std::string(why));
    return t;
}

std::string accept_tek(const gdoi::Tek& tek, const GroupConfig& group) {
    auto t = tek_transform(tek);
    if (!t) return t.error().message;
    const auto sizes = xfrm::key_sizes(*t);
    // The pull checks the policy before the keys exist (RFC 6407 §3.2: SA in message 2, KD in
    // message 4): key sizes are checked once keys are there (apply()).
    const bool keyed = !tek.encryption_key.empty();
    if (keyed && tek.encryption_key.size() != sizes.encryption_bytes)
        return "encryption key is " + std::to_string(tek.encryption_key.size()) + " bytes, " +
               transform_name(*t) + " needs " + std::to_string(sizes.encryption_bytes);
    if (keyed && tek.integrity_key.size() != sizes.integrity_bytes)
        return "integrity key is " + std::to_string(tek.integrity_key.size()) + " bytes, " +
               transform_name(*t) + " needs " + std::to_string(sizes.integrity_bytes);
    if (is_gcm(*t)) {
        if (group.anti_replay_window != 0)
            return "AES-GCM TEKs cannot be used with anti-replay-time-window: time-based anti-replay "
                   "sets the kernel's ESP sequence counter, which is GCM's nonce (RFC 4106 §3), and "
                   "the kernel cannot set it without risking a repeat; use an AES-CBC transform on "
                   "the key server, or turn anti-replay off for this group";
        if (group.allow_gcm == AllowGcm::refuse)
            return "AES-GCM TEKs are refused by allow-gcm = refuse (members sharing a GCM key can repeat "
                   "nonces)";
        if (gcm_packet_limit(group.gcm_expected_senders) == 0)
            return "AES-GCM with " + std::to_string(group.gcm_expected_senders) +
                   " expected senders: no packet limit keeps the nonce collision probability below 2^-32";
    }
    if (tek.encapsulation_mode != kEncapsulationTunnel)
        return "encapsulation mode " + std::to_string(tek.encapsulation_mode) +
               " is not supported: the dataplane carries tunnel mode with address preservation";
    if (tek.address_preservation != 0 && tek.address_preservation != kPreserveBoth)
        return "address preservation " + std::to_string(tek.address_preservation) +
               " is not supported: the dataplane preserves source and destination (4)";
    if (tek.sa_direction != 0 && tek.sa_direction != kDirectionSymmetric)
        return "SA direction " + std::to_string(tek.sa_direction) + " is not supported: only symmetric (3)";
    if (auto sel = to_policy_selectors(tek.selector); !sel) return sel.error().message;
    return {};
}

// to_policy_selectors (accept_tek) refuses a selector whose ends differ in family.
common::IpFamily tek_family(const gdoi::Tek& tek) {
    return tek.selector.source.is_ipv6() ? common::IpFamily::ipv6 : common::IpFamily::ipv4;
}

TekLifetimes tek_lifetimes(const gdoi::Tek& tek, const xfrm::EspTransform& transform,
                           uint32_t expected_senders) {
    TekLifetimes l;
    const uint64_t seconds = tek.lifetime_seconds;
    l.inbound_hard.seconds = seconds;
    l.inbound_soft.seconds = seconds - seconds / 10;
    l.outbound_hard.seconds = seconds;
    l.outbound_soft.seconds = seconds - seconds / 10;
    if (tek.lifetime_kilobytes) {
        l.outbound_hard.bytes = tek.lifetime_kilobytes * 1024;
        l.outbound_soft.bytes = l.outbound_hard.bytes - l.outbound_hard.bytes / 10;
    }
    if (is_gcm(transform)) {
        l.outbound_hard.packets = gcm_packet_limit(expected_senders);
        l.outbound_soft.packets = gcm_soft_packet_limit(l.outbound_hard.packets);
    }
    return l;
}

std::string transform_name(const xfrm::EspTransform& t) {
    const auto bits = std::to_string(t.key_bits);
    std::string cipher;
    switch (t.cipher) {
        case xfrm::EspTransformId::esp_aes_gcm_16:
            return "AES-GCM-" + bits;
        case xfrm::EspTransformId::esp_aes_cbc:
            cipher = "AES-" + bits + "-CBC";
            break;
        case xfrm::EspTransformId::esp_3des:
            cipher = "3DES-CBC";
            break;
        default:
            cipher = "transform " + std::to_string(static_cast<int>(t.cipher));
    }
    switch (t.auth) {
        case xfrm::AuthAlgorithmId::hmac_sha1:
            return cipher + "/HMAC-SHA-1";
        case xfrm::AuthAlgorithmId::hmac_sha2_256:
            return cipher + "/HMAC-SHA-256";
        case xfrm::AuthAlgorithmId::hmac_sha2_384:
            return cipher + "/HMAC-SHA-384";
        case xfrm::AuthAlgorithmId::hmac_sha2_512:
            return cipher + "/HMAC-SHA-512";
        default:
            return cipher;
    }
}

}  // namespace member
