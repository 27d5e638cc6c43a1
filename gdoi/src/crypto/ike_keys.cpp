#include "gdoi/ike_keys.h"

#include <algorithm>

namespace gdoi {

void IkeSaKeys::reserve() {
    // The cipher key may be expanded by whole prf blocks before it is cut to size.
    for (SecureBytes* k : {&skeyid, &skeyid_d, &skeyid_a, &skeyid_e, &enc_key})
        k->reserve(crypto::kMaxHashSize);
}

IkeSaKeys derive_psk_keys(const IkeProposal& proposal, ByteView psk, ByteView ni_b, ByteView nr_b,
                          ByteView gxy, const isakmp::Cookie& cky_i, const isakmp::Cookie& cky_r) {
    IkeSaKeys k;
    derive_psk_keys(proposal, psk, ni_b, nr_b, gxy, cky_i, cky_r, k);
    return k;
}

namespace {

// SKEYID_d/a/e and the cipher key from k.skeyid (RFC 2409 §5).
void derive_from_skeyid(ByteView gxy, const isakmp::Cookie& cky_i, const isakmp::Cookie& cky_r,
                        IkeSaKeys& k) {
    using crypto::prf;
    const uint8_t zero = 0, one = 1, two = 2;
    prf(k.hash, k.skeyid, {gxy, cky_i, cky_r, ByteView(&zero, 1)}, k.skeyid_d);
    prf(k.hash, k.skeyid, {k.skeyid_d, gxy, cky_i, cky_r, ByteView(&one, 1)}, k.skeyid_a);
    prf(k.hash, k.skeyid, {k.skeyid_a, gxy, cky_i, cky_r, ByteView(&two, 1)}, k.skeyid_e);
    expand_cipher_key(k.hash, k.skeyid_e, k.cipher.key_size, k.enc_key);
}

}  // namespace

void derive_psk_keys(const IkeProposal& proposal, ByteView psk, ByteView ni_b, ByteView nr_b, ByteView gxy,
                     const isakmp::Cookie& cky_i, const isakmp::Cookie& cky_r, IkeSaKeys& k) {
    k.hash = k.auth_hash = proposal.hash;
    k.cipher = proposal.cipher;
    crypto::prf(k.hash, psk, {ni_b, nr_b}, k.skeyid);
    derive_from_skeyid(gxy, cky_i, cky_r, k);
}

void derive_sig_keys(const IkeProposal& proposal, ByteView ni_b, ByteView nr_b, ByteView gxy,
                     const isakmp::Cookie& cky_i, const isakmp::Cookie& cky_r, IkeSaKeys& k) {
    k.hash = proposal.hash;
    k.auth_hash = proposal.auth_method == ike_attr::kAuthEcdsaP256   ? crypto::HashAlg::Sha256
                  : proposal.auth_method == ike_attr::kAuthEcdsaP384 ? crypto::HashAlg::Sha384
                  : proposal.auth_method == ike_attr::kAuthEcdsaP521 ? crypto::HashAlg::Sha512
                                                                     : proposal.hash;
    k.cipher = proposal.cipher;
    Bytes nonces(ni_b.begin(), ni_b.end());
    nonces.insert(nonces.end(), nr_b.begin(), nr_b.end());
    crypto::prf(k.hash, nonces, {gxy}, k.skeyid);
    derive_from_skeyid(gxy, cky_i, cky_r, k);
}

SecureBytes expand_cipher_key(crypto::HashAlg hash, const SecureBytes& skeyid_e, size_t key_size) {
    SecureBytes out;
    expand_cipher_key(hash, skeyid_e, key_size, out);
    return out;
}

void expand_cipher_key(crypto::HashAlg hash, const SecureBytes& skeyid_e, size_t key_size, SecureBytes& out) {
    if (skeyid_e.size() >= key_size) {
        out.resize(key_size);
        std::copy_n(skeyid_e.data(), key_size, out.data());
        return;
    }
    // Whole blocks K1, K2, ... written in place, then cut to the key size.
    const size_t block = crypto::hash_size(hash);
    out.resize((key_size + block - 1) / block * block);
    const uint8_t zero = 0;
    const ByteView first_input(&zero, 1);
    crypto::prf(hash, skeyid_e, std::span(&first_input, 1), out.span().first(block));
    for (size_t at = block; at < out.size(); at += block) {
        const ByteView previous(out.data() + at - block, block);
        crypto::prf(hash, skeyid_e, std::span(&previous, 1), out.span().subspan(at, block));
    }
    out.resize(key_size);
}

Bytes phase1_iv(const IkeSaKeys& keys, ByteView gxi, ByteView gxr) {
    Bytes h = crypto::hash(keys.hash, {gxi, gxr});
    h.resize(keys.cipher.block_size());
    return h;
}

Bytes phase2_iv(const IkeSaKeys& keys, ByteView last_phase1_block, uint32_t message_id) {
    ByteWriter mid;
    mid.u32(message_id);
    Bytes h = crypto::hash(keys.hash, {last_phase1_block, mid.data()});
    h.resize(keys.cipher.block_size());
    return h;
}

SecureBytes phase1_hash(const IkeSaKeys& keys, ByteView g_own, ByteView g_peer, const isakmp::Cookie& ck_own,
                        const isakmp::Cookie& ck_peer, ByteView sai_b, ByteView id_b) {
    SecureBytes out;
    phase1_hash(keys, g_own, g_peer, ck_own, ck_peer, sai_b, id_b, out);
    return out;
}

void phase1_hash(const IkeSaKeys& keys, ByteView g_own, ByteView g_peer, const isakmp::Cookie& ck_own,
                 const isakmp::Cookie& ck_peer, ByteView sai_b, ByteView id_b, SecureBytes& out) {
    crypto::prf(keys.auth_hash, keys.skeyid, {g_own, g_peer, ck_own, ck_peer, sai_b, id_b}, out);
}

common::Result<Bytes> seal_message(isakmp::Header header, isakmp::PayloadType first, ByteView chain,
                                   const IkeSaKeys& keys, Bytes& iv) {
    const size_t block = keys.cipher.block_size();
    if (chain.empty()) return common::make_error("refusing to encrypt a message without payloads");
    Bytes padded(chain.begin(), chain.end());
    padded.resize((padded.size() + block - 1) / block * block, 0);
    auto ct = crypto::cbc_encrypt(keys.cipher, keys.enc_key, iv, padded);
    wipe(padded);
    if (!ct) return ct.error();
    header.next_payload = first;
    header.flags |= isakmp::kFlagEncryption;
    header.length = static_cast<uint32_t>(isakmp::kHeaderSize + ct->size());
    Bytes out = isakmp::encode_header(header);
    out.insert(out.end(), ct->begin(), ct->end());
    iv.assign(ct->end() - static_cast<std::ptrdiff_t>(block), ct->end());
    return out;
}

common::Result<OpenedMessage> open_message(ByteView ciphertext, const IkeSaKeys& keys, ByteView iv) {
    const size_t block = keys.cipher.block_size();
    if (ciphertext.empty() || ciphertext.size() % block != 0)
        return common::make_error("encrypted message body is not a whole number of cipher blocks",
                                  static_cast<int>(isakmp::ParseError::BadLength));
    auto pt = crypto::cbc_decrypt(keys.cipher, keys.enc_key, iv, ciphertext);
    if (!pt) return pt.error();
    return OpenedMessage{std::move(*pt),
                         Bytes(ciphertext.end() - static_cast<std::ptrdiff_t>(block), ciphertext.end())};
}

}  // namespace gdoi
