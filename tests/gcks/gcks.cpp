#include "gcks.h"

#include "gdoi/groupkey_push.h"

namespace gcks {

using gdoi::isakmp::PayloadType;
namespace wire = gdoi::wire;

namespace {

size_t auth_key_bytes(uint16_t auth) {
    switch (auth) {
        case 2: return 20;  // HMAC-SHA1
        case 5: return 32;  // HMAC-SHA2-256
        case 6: return 48;
        case 7: return 64;
        default: return 0;
    }
}

Bytes spi_bytes(uint32_t spi) {
    gdoi::ByteWriter w;
    w.u32(spi);
    return w.take();
}

gdoi::isakmp::Header push_header(const gdoi::Kek& kek) {
    gdoi::isakmp::Header h;
    gdoi::set_kek_cookies(h, kek);
    h.exchange = gdoi::isakmp::ExchangeType::GroupkeyPush;
    h.flags = gdoi::isakmp::kFlagEncryption;
    h.next_payload = PayloadType::SequenceNumber;
    return h;
}

}  // namespace

gdoi::Tek example_tek(uint32_t spi, uint32_t lifetime_seconds) {
    gdoi::Tek t;
    t.spi = spi;
    t.selector.source.id_type = 4;
    t.selector.source.address = {10, 1, 0, 0};
    t.selector.source.mask_or_end = {255, 255, 0, 0};
    t.selector.destination = t.selector.source;
    t.selector.destination.address = {10, 2, 0, 0};
    t.transform_id = 12;
    t.auth_algorithm = 5;
    t.key_bits = 128;
    t.lifetime_seconds = lifetime_seconds;
    return t;
}

void Group::key_tek(gdoi::Tek& tek) {
    if (tek.transform_id == 20) {  // AES-GCM-16: key | 4-octet salt (RFC 4106 §8.1)
        tek.encryption_key = gdoi::crypto::random_secret(tek.key_bits / 8u + 4);
        tek.integrity_key = gdoi::SecureBytes();
    } else {
        tek.encryption_key = gdoi::crypto::random_secret(tek.transform_id == 3 ? 24 : tek.key_bits / 8u);
        tek.integrity_key = gdoi::crypto::random_secret(auth_key_bytes(tek.auth_algorithm));
    }
}

Group Group::make(uint32_t group_id, std::vector<gdoi::Tek> teks, gdoi::crypto::SigAlgorithm sig_alg) {
    auto signer = gdoi::crypto::SigningKey::generate(sig_alg);
    Group g{gdoi::GroupState{}, std::move(*signer), gdoi::crypto::HashAlg::Sha256, FieldHabits{}};
    g.state.group_id = group_id;
    gdoi::Kek kek;
    Bytes spi = gdoi::crypto::random_bytes(16);
    std::copy(spi.begin(), spi.end(), kek.spi.begin());
    kek.selector.protocol = 17;
    kek.selector.source.id_type = 1;
    kek.selector.source.address = {10, 248, 0, 2};
    kek.selector.source.port = 848;
    kek.selector.destination.id_type = 1;
    kek.selector.destination.address = {10, 248, 0, 1};
    kek.selector.destination.port = 848;
    kek.algorithm = 3;
    kek.key_bits = 256;
    kek.lifetime_seconds = 86400;
    kek.sig_hash_algorithm = 3;  // SHA-256
    kek.sig_algorithm = static_cast<uint16_t>(sig_alg);
    kek.sig_key_bits = static_cast<uint16_t>(g.signer.key_bits());
    kek.key = gdoi::crypto::random_secret(32);
    kek.iv = gdoi::crypto::random_bytes(16);
    kek.signature_public_key = g.signer.public_key_der();
    g.state.kek = std::move(kek);
    for (auto& t : teks) key_tek(t);
    g.state.teks = std::move(teks);
    g.state.gap = gdoi::Gap{10, 30};
    g.state.sequence = 1;
    return g;
}

Bytes key_download(const std::vector<gdoi::Tek>& teks, const gdoi::Kek* kek,
                   const std::array<uint8_t, 16>* kek_packet_spi) {
    std::vector<wire::KeyPacketOut> packets;
    for (const auto& t : teks) {
        wire::KeyPacketOut kp{wire::kd::kTypeTek, spi_bytes(t.spi), {{wire::kd::kTekAlgorithmKey, t.encryption_key.view()}}};
        if (!t.integrity_key.empty()) kp.attributes.push_back({wire::kd::kTekIntegrityKey, t.integrity_key.view()});
        packets.push_back(std::move(kp));
    }
    gdoi::SecureBytes kek_material;
    if (kek != nullptr) {
        const auto& named = kek_packet_spi != nullptr ? *kek_packet_spi : kek->spi;
        Bytes iv_key = gdoi::concat({kek->iv, kek->key.view()});
        kek_material = gdoi::SecureBytes(iv_key);
        gdoi::wipe(iv_key);
        packets.push_back({wire::kd::kTypeKek,
                           Bytes(named.begin(), named.end()),
                           {{wire::kd::kKekAlgorithmKey, kek_material.view()},
                            {wire::kd::kSigAlgorithmKey, kek->signature_public_key}}});
    }
    return wire::encode_key_download(packets);
}

gdoi::Kek next_kek(const Group& group) {
    gdoi::Kek kek = *group.state.kek;
    Bytes spi = gdoi::crypto::random_bytes(16);
    std::copy(spi.begin(), spi.end(), kek.spi.begin());
    kek.key = gdoi::crypto::random_secret(kek.key.size());
    kek.iv = gdoi::crypto::random_bytes(kek.iv.size());
    return kek;
}

std::optional<Bytes> PullResponder::on_datagram(ByteView datagram) {
    auto m = gdoi::isakmp::parse_message(datagram);
    if (!m || m->header.exchange != gdoi::isakmp::ExchangeType::GroupkeyPull || !m->header.encrypted() ||
        m->header.initiator_cookie != phase1_.initiator_cookie)
        return std::nullopt;
    if (message_id_ == 0) {
        message_id_ = m->header.message_id;
        iv_ = gdoi::phase2_iv(phase1_.keys, phase1_.last_iv, message_id_);
    }
    if (m->header.message_id != message_id_) return std::nullopt;
    auto opened = gdoi::open_message(m->body, phase1_.keys, iv_);
    if (!opened) return sent_sa_ ? std::optional<Bytes>(last_answer_) : std::nullopt;
    auto chain = gdoi::isakmp::parse_payload_chain(m->header.next_payload, opened->plaintext,
                                                   gdoi::isakmp::Trailing::AllowPadding);
    if (!chain) return std::nullopt;
    gdoi::isakmp::Header h = m->header;
    h.flags = 0;
    gdoi::isakmp::MessageBuilder rest;
    PayloadType first = PayloadType::None;
    Bytes answer_chain;
    if (!sent_sa_) {
        if (!gdoi::verify_hash_first_chain(phase1_.keys, message_id_, {}, *chain)) return std::nullopt;
        const auto* ni = gdoi::isakmp::find_payload(*chain, PayloadType::Nonce);
        const auto* id = gdoi::isakmp::find_payload(*chain, PayloadType::Identification);
        if (!ni || !id) return std::nullopt;
        auto gid = gdoi::isakmp::parse_id(id->body);
        if (!gid || !wire::group_id_of(*gid)) return std::nullopt;
        requested_group_ = *wire::group_id_of(*gid);
        nonce_i_.assign(ni->body.begin(), ni->body.end());
        nonce_r_ = gdoi::crypto::random_bytes(32);
        wire::GdoiSa sa;
        sa.kek = group_.state.kek;
        sa.gap = group_.state.gap;
        sa.teks = group_.state.teks;
        rest.add(PayloadType::Nonce, nonce_r_);
        rest.add(PayloadType::Sa, encode_sa(sa, group_.habits));
        answer_chain = gdoi::hash_first_chain(phase1_.keys, message_id_, {nonce_i_}, rest, first);
        sent_sa_ = true;
    } else {
        if (!gdoi::verify_hash_first_chain(phase1_.keys, message_id_, {nonce_i_, nonce_r_}, *chain)) return std::nullopt;
        rest.add(PayloadType::SequenceNumber, wire::encode_seq(group_.state.sequence));
        Bytes kd = key_download(group_.state.teks, group_.state.kek ? &*group_.state.kek : nullptr);
        rest.add(PayloadType::KeyDownload, kd);
        gdoi::wipe(kd);
        answer_chain = gdoi::hash_first_chain(phase1_.keys, message_id_, {nonce_i_, nonce_r_}, rest, first);
        done_ = true;
    }
    iv_ = opened->next_iv;
    auto sealed = gdoi::seal_message(h, first, answer_chain, phase1_.keys, iv_);
    gdoi::wipe(answer_chain);
    if (!sealed) return std::nullopt;
    last_answer_ = *sealed;
    return sealed.value();
}

Bytes build_push(const Group& group, uint32_t sequence, const std::vector<gdoi::Tek>& new_teks,
                 const std::vector<uint32_t>& delete_spis, PushFlaw flaw, const gdoi::Kek* new_kek) {
    const auto& kek = *group.state.kek;
    gdoi::isakmp::MessageBuilder b;
    b.add(PayloadType::SequenceNumber, wire::encode_seq(sequence));
    if (!delete_spis.empty()) {
        gdoi::isakmp::DeletePayload d{wire::kDoiGdoi, wire::kProtocolEsp, 4, {}};
        for (uint32_t spi : delete_spis) d.spis.push_back(spi_bytes(spi));
        b.add(PayloadType::Delete, gdoi::isakmp::encode_delete(d));
    }
    if (!new_teks.empty() || new_kek != nullptr) {
        wire::GdoiSa sa;
        if (new_kek != nullptr) sa.kek = *new_kek;
        sa.teks = new_teks;
        b.add(PayloadType::Sa, encode_sa(sa, group.habits));
        Bytes kd = key_download(new_teks, new_kek, group.habits.kd_names_current_kek ? &kek.spi : nullptr);
        b.add(PayloadType::KeyDownload, kd);
        gdoi::wipe(kd);
    }
    // The SIG's size is fixed by the key, so the final (padded) length is known before signing.
    const size_t sig_size = group.signer.algorithm() == gdoi::crypto::SigAlgorithm::Rsa ? group.signer.key_bits() / 8
                                                                                        : 2 * ((group.signer.key_bits() + 7) / 8);
    Bytes before_sig = b.chain();
    // Link the last payload to the SIG: rebuild with a placeholder SIG to get the chain bytes.
    b.add(PayloadType::Signature, Bytes(sig_size, 0));
    Bytes with_placeholder = b.chain();
    size_t sig_offset = with_placeholder.size() - sig_size - gdoi::isakmp::kGenericHeaderSize;
    ByteView payloads_before(with_placeholder.data(), sig_offset);
    size_t padded = (with_placeholder.size() + 15) / 16 * 16;
    gdoi::isakmp::Header h = push_header(kek);
    h.length = static_cast<uint32_t>(gdoi::isakmp::kHeaderSize + padded);
    Bytes header = gdoi::isakmp::encode_header(h);
    auto sig = group.signer.sign(group.sig_hash, gdoi::push_signed_data(header, payloads_before),
                                 !group.habits.raw_hash_rsa);
    Bytes signature = *sig;
    if (flaw == PushFlaw::BadSignature) signature[signature.size() / 2] ^= 0x40;
    std::copy(signature.begin(), signature.end(), with_placeholder.end() - static_cast<std::ptrdiff_t>(sig_size));
    with_placeholder.resize(padded, 0);
    gdoi::crypto::Cipher cipher{gdoi::crypto::CipherAlg::AesCbc, kek.key.size()};
    auto ct = gdoi::crypto::cbc_encrypt(cipher, kek.key, kek.iv, with_placeholder);
    gdoi::wipe(with_placeholder);
    gdoi::wipe(before_sig);
    Bytes out = gdoi::concat({header, *ct});
    if (flaw == PushFlaw::Truncated) out.resize(out.size() - 20);
    return out;
}

}  // namespace gcks
