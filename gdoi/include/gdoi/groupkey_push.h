// GROUPKEY-PUSH receiver (RFC 6407 §4):  <-- HDR*, SEQ, [D,] SA, KD, [CERT,] SIG
// The header's cookie pair is the KEK SPI; the payloads are encrypted with the KEK
// (CBC, the static IV delivered with the KEK key, RFC 6407 §5.5.2.1); the SIG covers
// "rekey" | HDR | the plaintext payloads before SIG (RFC 6407 §4.1), signed by the
// GCKS key delivered in the KD. A rejected push leaves the group state untouched.
#pragma once

#include <array>
#include <string>

#include "gdoi/group_state.h"
#include "gdoi/isakmp.h"
#include "gdoi/log.h"

namespace gdoi {

enum class PushReject {
    None,
    Malformed,      // not a parseable GROUPKEY-PUSH
    UnknownKek,     // cookies name no KEK we hold
    DecryptFailed,  // does not decrypt to a payload chain
    BadSignature,   // SIG missing or does not verify
    Replay,         // SEQ not greater than the last accepted one
    BadPolicy,      // SA/KD/D content unusable
    // The KEK came from a key server whose certificate the reloaded CA/CRL files no longer
    // trust (revoked): refused by the member's session, never by process_push.
    UntrustedServer,
};
inline constexpr size_t kPushRejectReasons = 8;
const char* push_reject_name(PushReject r);

struct PushOutcome {
    PushReject reject = PushReject::None;
    std::string message;  // why, for the log
    GroupState state;     // the new state when accepted
    std::string note{};   // accepted: what the log should add (a KEK rekey and how it was keyed)
    bool accepted() const { return reject == PushReject::None; }
};

// Processes one datagram against the current state (which must hold a KEK).
PushOutcome process_push(ByteView datagram, const GroupState& current);

// RFC 6407 §5.3: the KEK SPI is the cookie pair of the rekey messages' ISAKMP header, its
// first 8 octets the Initiator Cookie and its last 8 the Responder Cookie (GROUPKEY-PUSH;
// the RFC 8263 acknowledgement is sent under the same pair).
void set_kek_cookies(isakmp::Header& header, const Kek& kek);
std::array<uint8_t, 16> kek_spi_of(const isakmp::Header& header);

// The bytes the GCKS signs (RFC 6407 §4.1): "rekey" | header | payloads before SIG.
SecureBytes push_signed_data(ByteView header, ByteView payloads_before_sig);

}  // namespace gdoi
