// IKEv1 key schedule and message protection (RFC 2409 §5, Appendix B), shared by
// phase 1 and the GDOI exchanges that run under the phase-1 SA.
#pragma once

#include "common/result.h"
#include "gdoi/bytes.h"
#include "gdoi/ike_proposal.h"
#include "gdoi/isakmp.h"
#include "gdoi/secure_bytes.h"

namespace gdoi {

struct IkeSaKeys {
    crypto::HashAlg hash = crypto::HashAlg::Sha256;
    // The prf of HASH_I/HASH_R: the proposal's hash, except with ECDSA (RFC 4754 §3 and
    // strongSwan keymat_v1.c derive_ike_keys, prf_auth: HMAC-SHA-256 for method 9,
    // HMAC-SHA-384 for method 10, HMAC-SHA-512 for method 11, ECDSA-521 with SHA-512).
    crypto::HashAlg auth_hash = crypto::HashAlg::Sha256;
    crypto::Cipher cipher{crypto::CipherAlg::AesCbc, 16};
    SecureBytes skeyid;
    SecureBytes skeyid_d;
    SecureBytes skeyid_a;
    SecureBytes skeyid_e;
    SecureBytes enc_key;  // SKEYID_e expanded/truncated to the cipher's key size

    // Takes the secure memory of every key for any proposal, so that derive_psk_keys into
    // these keys allocates nothing.
    void reserve();
};

// RFC 2409 §5 for pre-shared keys: SKEYID = prf(PSK, Ni_b | Nr_b), then
// SKEYID_d/a/e chained with g^xy | CKY-I | CKY-R | 0/1/2; Appendix B expansion.
IkeSaKeys derive_psk_keys(const IkeProposal& proposal, ByteView psk, ByteView ni_b, ByteView nr_b,
                          ByteView gxy, const isakmp::Cookie& cky_i, const isakmp::Cookie& cky_r);
// The same into `keys`, reusing their storage.
void derive_psk_keys(const IkeProposal& proposal, ByteView psk, ByteView ni_b, ByteView nr_b, ByteView gxy,
                     const isakmp::Cookie& cky_i, const isakmp::Cookie& cky_r, IkeSaKeys& keys);

// RFC 2409 §5 for signatures: SKEYID = prf(Ni_b | Nr_b, g^xy); SKEYID_d/a/e as for
// pre-shared keys. The proposal's auth_method picks auth_hash.
void derive_sig_keys(const IkeProposal& proposal, ByteView ni_b, ByteView nr_b, ByteView gxy,
                     const isakmp::Cookie& cky_i, const isakmp::Cookie& cky_r, IkeSaKeys& keys);

// RFC 2409 Appendix B: Ka = K1 | K2 | ..., K1 = prf(SKEYID_e, 0), Kn = prf(SKEYID_e, Kn-1),
// used when the cipher needs more bits than SKEYID_e has; otherwise its first bytes.
SecureBytes expand_cipher_key(crypto::HashAlg hash, const SecureBytes& skeyid_e, size_t key_size);
void expand_cipher_key(crypto::HashAlg hash, const SecureBytes& skeyid_e, size_t key_size, SecureBytes& out);

// RFC 2409 §5 / Appendix B: phase-1 IV = hash(g^xi | g^xr), truncated to the block size.
Bytes phase1_iv(const IkeSaKeys& keys, ByteView gxi, ByteView gxr);
// Appendix B: IV of a phase-2/informational exchange = hash(last phase-1 CBC block | M-ID).
Bytes phase2_iv(const IkeSaKeys& keys, ByteView last_phase1_block, uint32_t message_id);

// HASH_I = prf(SKEYID, g^xi | g^xr | CKY-I | CKY-R | SAi_b | IDii_b); HASH_R swaps the
// DH values and cookies and uses IDir_b (RFC 2409 §5).
SecureBytes phase1_hash(const IkeSaKeys& keys, ByteView g_own, ByteView g_peer, const isakmp::Cookie& ck_own,
                        const isakmp::Cookie& ck_peer, ByteView sai_b, ByteView id_b);
void phase1_hash(const IkeSaKeys& keys, ByteView g_own, ByteView g_peer, const isakmp::Cookie& ck_own,
                 const isakmp::Cookie& ck_peer, ByteView sai_b, ByteView id_b, SecureBytes& out);

// Encrypts a payload chain (zero padding to the block size; RFC 2408 §3.1 length
// covers the padded ciphertext) and returns the datagram. iv is replaced by the
// last ciphertext block, which chains into the next message of the exchange.
common::Result<Bytes> seal_message(isakmp::Header header, isakmp::PayloadType first, ByteView chain,
                                   const IkeSaKeys& keys, Bytes& iv);

struct OpenedMessage {
    SecureBytes plaintext;  // payload chain plus padding (a KD's keys: secure memory)
    Bytes next_iv;          // commit only after the message authenticated
};
// Decrypts the body of an encrypted message with the exchange's current IV.
common::Result<OpenedMessage> open_message(ByteView ciphertext, const IkeSaKeys& keys, ByteView iv);

}  // namespace gdoi
