// GROUPKEY-PUSH acknowledgement (RFC 8263): when the KEK policy carries
// KEK_ACK_REQUESTED, the member answers an accepted push with
//   HDR, HASH, SEQ, ID        (not encrypted; cookies = the KEK SPI, RFC 6407 §5.3)
// HASH = prf(ack_key, SEQ | ID) with the SIG_HASH_ALGORITHM's HMAC, covering the SEQ and ID
// payloads with their generic headers, where
// ack_key = prf(SKEYID_a, "GROUPKEY-PUSH ACK" | I-COOKIE | R-COOKIE) of the phase-1 SA
// under which the member registered (the one secret the GCKS shares with this member).
// NOTE: unverified against the RFC. The derivation follows an IEC 62351-9 profile summary
// of RFC 8263; only the RFC's first page (title, abstract) could be retrieved, not its
// body. The same summary writes ack_key = prf(base_key, "GROUPKEY-PUSH ACK" | SPI | L) with
// L = 512 for SHA-256 or 1024 for SHA-512 and does not name base_key, and the IETF secdir
// review of draft-weis-gdoi-rekey-ack-05 quotes its §2.2 key as "a private key" that also
// encrypts: the key, the L term and the exchange type number must be checked against
// RFC 8263's text before relying on interoperability.
// tests/unit/gdoi/groupkey_push_ack_test.cpp pins this derivation byte for byte.
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
