// GROUPKEY-PUSH acknowledgement (RFC 8263): when the KEK policy carries
// KEK_ACK_REQUESTED, the member answers an accepted push with
//   HDR, HASH, SEQ, ID        (not encrypted; cookies = the KEK SPI)
// HASH = prf(ack_key, SEQ | ID) with the SIG_HASH_ALGORITHM's HMAC, where
// ack_key = prf(SKEYID_a, "GROUPKEY-PUSH ACK" | I-COOKIE | R-COOKIE) of the phase-1 SA
// under which the member registered (the one secret the GCKS shares with this member).
// NOTE: the derivation follows the IEC 62351-9 profile summary of RFC 8263; the RFC
// text itself was not available while this was written — check it before relying on
// interoperability (see the issue note).
#pragma once

#include "gdoi/group_state.h"
#include "gdoi/isakmp.h"
#include "gdoi/phase1.h"

namespace gdoi {

SecureBytes push_ack_key(const Phase1Sa& registration, crypto::HashAlg hash);
Bytes build_push_ack(const Phase1Sa& registration, const Kek& kek, uint32_t message_id, uint32_t sequence,
                     const isakmp::IdPayload& member_id);
// The GCKS side: checks an ACK and returns its sequence number.
common::Result<uint32_t> verify_push_ack(ByteView datagram, const Phase1Sa& registration, const Kek& kek);

}  // namespace gdoi
