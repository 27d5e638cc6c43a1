// GDOI payload codec (RFC 6407 §5): the GDOI SA with its nested SA KEK, GAP and
// SA TEK payloads, Key Download, SEQ and the KEY_ID group identity. Parsing is
// bounds-checked with typed isakmp::ParseError codes. Wire details that public
// implementations disagree on are decoded liberally (see each function).
#pragma once

#include <optional>
#include <span>
#include <vector>

#include "common/result.h"
#include "gdoi/group_state.h"
#include "gdoi/isakmp.h"

namespace gdoi::wire {

using common::Result;

inline constexpr uint32_t kDoiGdoi = 2;
inline constexpr uint8_t kProtocolEsp = 1;  // SA TEK Protocol-ID PROTO_IPSEC_ESP
inline constexpr uint8_t kKekProtocolUdp = 17;

// RFC 6407 §5.3.1-§5.3.x KEK attributes.
namespace kek_attr {
inline constexpr uint16_t kManagementAlgorithm = 1;
inline constexpr uint16_t kAlgorithm = 2;
inline constexpr uint16_t kKeyLength = 3;
inline constexpr uint16_t kKeyLifetime = 4;
inline constexpr uint16_t kSigHashAlgorithm = 5;
inline constexpr uint16_t kSigAlgorithm = 6;
inline constexpr uint16_t kSigKeyLength = 7;
inline constexpr uint16_t kAckRequested = 9;  // RFC 8263 (number to be confirmed against the RFC text)
}  // namespace kek_attr

// RFC 2407 §4.5 IPsec SA attributes and the two GDOI additions (RFC 6407 §5.4.1).
namespace tek_attr {
inline constexpr uint16_t kLifeType = 1;
inline constexpr uint16_t kLifeDuration = 2;
inline constexpr uint16_t kEncapsulationMode = 4;
inline constexpr uint16_t kAuthAlgorithm = 5;
inline constexpr uint16_t kKeyLength = 6;
inline constexpr uint16_t kAddressPreservation = 14;
inline constexpr uint16_t kSaDirection = 15;
inline constexpr uint16_t kLifeSeconds = 1;
inline constexpr uint16_t kLifeKilobytes = 2;
}  // namespace tek_attr

// GAP attributes (RFC 6407 §5.6).
namespace gap_attr {
inline constexpr uint16_t kActivationTimeDelay = 1;
inline constexpr uint16_t kDeactivationTimeDelay = 2;
inline constexpr uint16_t kSenderIdRequest = 3;
}  // namespace gap_attr

// Key Download (RFC 6407 §5.5): key packet types and their attributes.
namespace kd {
inline constexpr uint8_t kTypeTek = 1;
inline constexpr uint8_t kTypeKek = 2;
inline constexpr uint8_t kTypeLkh = 3;
inline constexpr uint8_t kTypeSid = 4;
inline constexpr uint16_t kTekAlgorithmKey = 1;
inline constexpr uint16_t kTekIntegrityKey = 2;
inline constexpr uint16_t kTekSourceAuthKey = 3;
inline constexpr uint16_t kKekAlgorithmKey = 1;  // IV | key (RFC 6407 §5.5.2.1)
inline constexpr uint16_t kSigAlgorithmKey = 2;  // DER SubjectPublicKeyInfo
}  // namespace kd

// What a GDOI SA payload carries: policies only, no keys (keys come in KD).
struct GdoiSa {
    uint32_t situation = 0;
    std::optional<Kek> kek;
    std::optional<Gap> gap;
    std::vector<Tek> teks;
};

// SA payload body (after the generic header). RFC 6407 §5.2: DOI, Situation,
// SA Attribute Next Payload (2 octets), RESERVED2 (2), then SAK/GAP/SAT payloads
// nested inside the SA payload's length, chained by their own next-payload fields.
Result<GdoiSa> parse_gdoi_sa(ByteView body);
Bytes encode_gdoi_sa(const GdoiSa& sa);

// Individual nested payload bodies.
Result<Kek> parse_sak(ByteView body);
Bytes encode_sak(const Kek& kek);
Result<Tek> parse_sat(ByteView body);
Bytes encode_sat(const Tek& tek);
Result<Gap> parse_gap(ByteView body);
Bytes encode_gap(const Gap& gap);

// One key packet of a KD payload. Attribute values are views into the caller's
// (decrypted) buffer: copy them into SecureBytes, then wipe the buffer.
struct KeyPacket {
    uint8_t type = 0;
    Bytes spi;
    struct Attr {
        uint16_t type;
        ByteView value;
    };
    std::vector<Attr> attributes;
    const Attr* find(uint16_t attr_type) const;
};
Result<std::vector<KeyPacket>> parse_key_download(ByteView body);

// Builds a KD body; values are key material: the caller wipes the result after use.
struct KeyPacketOut {
    uint8_t type = 0;
    Bytes spi;
    std::vector<std::pair<uint16_t, std::span<const uint8_t>>> attributes;
};
Bytes encode_key_download(const std::vector<KeyPacketOut>& packets);

// SEQ (RFC 6407 §5.7): a 4-octet sequence number.
Result<uint32_t> parse_seq(ByteView body);
Bytes encode_seq(uint32_t sequence);

// Group identity (RFC 6407 §5.1): ID_KEY_ID with the 4-octet group id, protocol and port 0.
isakmp::IdPayload group_id_payload(uint32_t group_id);
std::optional<uint32_t> group_id_of(const isakmp::IdPayload& id);

}  // namespace gdoi::wire
