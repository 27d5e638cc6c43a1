// Phase-1 proposals: one table maps names ("aes256-sha256-modp2048"), IKE
// attribute values (RFC 2409 Appendix A, RFC 3602 for AES) and crypto types.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "gdoi/crypto.h"
#include "gdoi/isakmp.h"

namespace gdoi {

// RFC 2409 Appendix A attribute classes.
namespace ike_attr {
inline constexpr uint16_t kEncryptionAlgorithm = 1;
inline constexpr uint16_t kHashAlgorithm = 2;
inline constexpr uint16_t kAuthenticationMethod = 3;
inline constexpr uint16_t kGroupDescription = 4;
inline constexpr uint16_t kLifeType = 11;
inline constexpr uint16_t kLifeDuration = 12;
inline constexpr uint16_t kKeyLength = 14;
inline constexpr uint16_t kAuthPreSharedKey = 1;
inline constexpr uint16_t kAuthRsaSig = 3;      // RFC 2409 Appendix A
inline constexpr uint16_t kAuthEcdsaP256 = 9;   // RFC 4754 §3: ECDSA with SHA-256 on P-256
inline constexpr uint16_t kAuthEcdsaP384 = 10;  // RFC 4754 §3: ECDSA with SHA-384 on P-384
inline constexpr uint16_t kAuthEcdsaP521 = 11;  // RFC 4754 §3: ECDSA with SHA-512 on P-521
inline constexpr uint16_t kLifeSeconds = 1;
inline constexpr uint8_t kTransformKeyIke = 1;  // RFC 2407 §4.4.2
inline constexpr uint8_t kProtocolIsakmp = 1;
}  // namespace ike_attr

struct IkeProposal {
    crypto::Cipher cipher{crypto::CipherAlg::AesCbc, 16};
    crypto::HashAlg hash = crypto::HashAlg::Sha256;
    crypto::DhGroup group = crypto::DhGroup::Modp2048;
    // Authentication Method attribute: pre-shared key, or a signature method (set by the
    // phase-1 configuration, not by the name).
    uint16_t auth_method = ike_attr::kAuthPreSharedKey;

    std::string name() const;
    // The transform offered for this proposal, with its authentication method and a lifetime in seconds.
    isakmp::Transform to_transform(uint8_t number, uint32_t lifetime_seconds) const;
    bool operator==(const IkeProposal&) const = default;
};

// Parses "aes128-sha1-modp2048", "3des-sha384-ecp256", ... (strongSwan's spelling).
common::Result<IkeProposal> parse_ike_proposal(const std::string& name);
// Reads a transform received from a peer; error names what is unsupported.
common::Result<IkeProposal> ike_proposal_from_transform(const isakmp::Transform& t);
// Lifetime in seconds from a transform (nullopt when absent or not in seconds).
std::optional<uint64_t> ike_lifetime_seconds(const isakmp::Transform& t);

}  // namespace gdoi
