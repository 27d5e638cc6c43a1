// The test GCKS's group side (tests only, not installed): a group's policy and keys,
// the GROUPKEY-PULL responder (RFC 6407 §3.2) under an established phase-1 SA, and
// GROUPKEY-PUSH construction (RFC 6407 §4) — including deliberately broken pushes.
#pragma once

#include <optional>

#include "field_layout.h"
#include "gdoi/crypto.h"
#include "gdoi/gdoi_payloads.h"
#include "gdoi/groupkey_pull.h"
#include "gdoi/phase1.h"

namespace gcks {

using gdoi::Bytes;
using gdoi::ByteView;

// A group as the key server holds it: policies and keys (GroupState) plus the KEK's
// signing key.
struct Group {
    gdoi::GroupState state;
    gdoi::crypto::SigningKey signer;
    gdoi::crypto::HashAlg sig_hash = gdoi::crypto::HashAlg::Sha256;
    FieldHabits habits;  // wire habits of deployed key servers; none by default

    // A group with a KEK (AES-256, RSA or ECDSA signatures) and the given TEKs, with fresh keys.
    static Group make(uint32_t group_id, std::vector<gdoi::Tek> teks, gdoi::crypto::SigAlgorithm sig_alg);
    // Fresh keys for a TEK policy (sizes from the transform: AES-CBC key + HMAC key, or GCM key | salt).
    static void key_tek(gdoi::Tek& tek);
};

// A TEK policy for tests: ESP AES-128-CBC + HMAC-SHA2-256, 10.1.0.0/16 -> 10.2.0.0/16, no keys.
gdoi::Tek example_tek(uint32_t spi, uint32_t lifetime_seconds);

// GROUPKEY-PULL responder for one member, under that member's phase-1 SA.
class PullResponder {
public:
    PullResponder(const gdoi::Phase1Sa& phase1, const Group& group) : phase1_(phase1), group_(group) {}
    // Answers message 1 or 3; nullopt for anything it drops. done() after message 4 was sent.
    std::optional<Bytes> on_datagram(ByteView datagram);
    bool done() const { return done_; }
    uint32_t requested_group() const { return requested_group_; }

private:
    gdoi::Phase1Sa phase1_;
    const Group& group_;
    uint32_t message_id_ = 0;
    Bytes iv_;
    Bytes nonce_i_;
    Bytes nonce_r_;
    Bytes last_answer_;
    uint32_t requested_group_ = 0;
    bool sent_sa_ = false;
    bool done_ = false;
};

// KD body with the keys of the given TEKs and of `kek` (if any), whose key packet names
// `kek_packet_spi` (the KEK's own SPI when null).
Bytes key_download(const std::vector<gdoi::Tek>& teks, const gdoi::Kek* kek,
                   const std::array<uint8_t, 16>* kek_packet_spi = nullptr);

// A fresh KEK replacing the group's: new SPI, key and IV; the same policy and signer.
gdoi::Kek next_kek(const Group& group);

enum class PushFlaw { None, BadSignature, Truncated };
// A GROUPKEY-PUSH carrying new TEKs (and deleting old SPIs) with the given SEQ, under the
// group's KEK; with `new_kek`, a KEK rekey too (its SA KEK and keys in the SA and KD; the
// KD's KEK packet names the current KEK's SPI when group.habits.kd_names_current_kek).
Bytes build_push(const Group& group, uint32_t sequence, const std::vector<gdoi::Tek>& new_teks,
                 const std::vector<uint32_t>& delete_spis, PushFlaw flaw = PushFlaw::None,
                 const gdoi::Kek* new_kek = nullptr);

}  // namespace gcks
