#include "gdoi/ike_keys.h"

#include <algorithm>

namespace gdoi {

IkeSaKeys derive_psk_keys(const IkeProposal& proposal, ByteView psk, ByteView ni_b, ByteView nr_b,
                          ByteView gxy, const isakmp::Cookie& cky_i, const isakmp::Cookie& cky_r) {
    using crypto::prf;
    IkeSaKeys k;
    k.hash = proposal.hash;
    k.cipher = proposal.cipher;
    const uint8_t zero = 0, one = 1, two = 2;
    k.skeyid = prf(k.hash, psk, {ni_b, nr_b});
    k.skeyid_d = prf(k.hash, k.skeyid, {gxy, cky_i, cky_r, ByteView(&zero, 1)});
    k.skeyid_a = prf(k.hash, k.skeyid, {k.skeyid_d, gxy, cky_i, cky_r, ByteView(&one, 1)});
    k.skeyid_e = prf(k.hash, k.skeyid, {k.skeyid_a, gxy, cky_i, cky_r, ByteView(&two, 1)});
    k.enc_key = expand_cipher_key(k.hash, k.skeyid_e, k.cipher.key_size);
    return k;
}

SecureBytes expand_cipher_key(crypto::HashAlg hash, const SecureBytes& skeyid_e, size_t key_size) {
    if (skeyid_e.size() >= key_size) return skeyid_e.prefix(key_size);
    SecureBytes out(key_size);
    const uint8_t zero = 0;
    SecureBytes block = crypto::prf(hash, skeyid_e, {ByteView(&zero, 1)});
    size_t filled = 0;
    while (true) {
        size_t n = std::min(block.size(), key_size - filled);
        std::copy_n(block.data(), n, out.data() + filled);
        filled += n;
        if (filled == key_size) break;
        block = crypto::prf(hash, skeyid_e, {block});
    }
    return out;
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
    return crypto::prf(keys.hash, keys.skeyid, {g_own, g_peer, ck_own, ck_peer, sai_b, id_b});
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
    return OpenedMessage{std::move(*pt), Bytes(ciphertext.end() - static_cast<std::ptrdiff_t>(block), ciphertext.end())};
}

}  // namespace gdoi
