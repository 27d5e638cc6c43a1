// GROUPKEY-PUSH receiver (RFC 6407 §4).
#include "gdoi/groupkey_push.h"

#include "gdoi/crypto.h"
#include "gdoi/gdoi_payloads.h"
#include "gdoi/groupkey_pull.h"
#include "gdoi/isakmp.h"
#include "gdoi/kek_algorithms.h"

namespace gdoi {

using isakmp::PayloadType;

namespace {

PushOutcome reject(PushReject why, std::string message) { return PushOutcome{why, std::move(message), {}}; }

}  // namespace

const char* push_reject_name(PushReject r) {
    switch (r) {
        case PushReject::None:
            return "accepted";
        case PushReject::Malformed:
            return "malformed";
        case PushReject::UnknownKek:
            return "unknown-kek";
        case PushReject::DecryptFailed:
            return "decrypt-failed";
        case PushReject::BadSignature:
            return "bad-signature";
        case PushReject::Replay:
            return "replay";
        case PushReject::BadPolicy:
            return "bad-policy";
        case PushReject::UntrustedServer:
            return "untrusted-server";
    }
    return "?";
}

void set_kek_cookies(isakmp::Header& header, const Kek& kek) {
    std::copy(kek.spi.begin(), kek.spi.begin() + 8, header.initiator_cookie.begin());
    std::copy(kek.spi.begin() + 8, kek.spi.end(), header.responder_cookie.begin());
}

std::array<uint8_t, 16> kek_spi_of(const isakmp::Header& header) {
    std::array<uint8_t, 16> spi{};
    std::copy(header.initiator_cookie.begin(), header.initiator_cookie.end(), spi.begin());
    std::copy(header.responder_cookie.begin(), header.responder_cookie.end(), spi.begin() + 8);
    return spi;
}

SecureBytes push_signed_data(ByteView header, ByteView payloads_before_sig) {
    static constexpr uint8_t kPrefix[] = {'r', 'e', 'k', 'e', 'y'};
    SecureBytes out(sizeof kPrefix + header.size() + payloads_before_sig.size());  // the KD's keys among them
    auto* p = std::copy(std::begin(kPrefix), std::end(kPrefix), out.data());
    p = std::copy(header.begin(), header.end(), p);
    std::copy(payloads_before_sig.begin(), payloads_before_sig.end(), p);
    return out;
}

PushOutcome process_push(ByteView datagram, const GroupState& current) {
    auto m = isakmp::parse_message(datagram);
    if (!m) return reject(PushReject::Malformed, m.error().message);
    if (m->header.exchange != isakmp::ExchangeType::GroupkeyPush || !m->header.encrypted())
        return reject(PushReject::Malformed, "not an encrypted GROUPKEY-PUSH");
    if (!current.kek) return reject(PushReject::UnknownKek, "no KEK held for this group");
    const Kek& kek = *current.kek;
    const auto cookies = kek_spi_of(m->header);
    if (cookies != kek.spi)
        return reject(PushReject::UnknownKek, "cookies " + to_hex(cookies) + " name no KEK we hold");

    auto cipher = kek_cipher(kek);
    if (!cipher || m->body.empty() || m->body.size() % cipher->block_size() != 0 ||
        kek.iv.size() < cipher->block_size())
        return reject(PushReject::DecryptFailed, "ciphertext does not fit the KEK's cipher");
    auto plain = crypto::cbc_decrypt(*cipher, kek.key, kek.iv, m->body);
    if (!plain) return reject(PushReject::DecryptFailed, plain.error().message);
    auto chain = isakmp::parse_payload_chain(m->header.next_payload, *plain, isakmp::Trailing::AllowPadding);
    if (!chain || chain->empty())
        return reject(PushReject::DecryptFailed, "does not decrypt to a payload chain");

    // SIG must be the last payload; it covers everything before it.
    const auto& sig = chain->back();
    if (sig.type != PayloadType::Signature)
        return reject(PushReject::BadSignature, "no SIG as the last payload");
    auto hash = kek_sig_hash(kek.sig_hash_algorithm);
    if (!hash)
        return reject(PushReject::BadSignature,
                      "unsupported SIG_HASH_ALGORITHM " + std::to_string(kek.sig_hash_algorithm));
    const uint8_t* sig_start = sig.body.data() - isakmp::kGenericHeaderSize;
    ByteView before_sig(plain->data(), static_cast<size_t>(sig_start - plain->data()));
    ByteView header = datagram.first(isakmp::kHeaderSize);
    auto alg = static_cast<crypto::SigAlgorithm>(kek.sig_algorithm);
    bool verified = crypto::verify_signature(alg, kek.signature_public_key, *hash,
                                             push_signed_data(header, before_sig), sig.body);
    if (!verified) {
        // The Cisco reference sender hashes a header whose length is the unpadded one.
        Bytes unpadded(header.begin(), header.end());
        uint32_t len =
            static_cast<uint32_t>(isakmp::kHeaderSize + (sig.body.data() + sig.body.size() - plain->data()));
        for (int i = 0; i < 4; ++i) unpadded[24 + i] = static_cast<uint8_t>(len >> (24 - 8 * i));
        verified = crypto::verify_signature(alg, kek.signature_public_key, *hash,
                                            push_signed_data(unpadded, before_sig), sig.body);
    }
    if (!verified)
        return reject(PushReject::BadSignature, "signature does not verify with the key server's key");

    const auto* seq = isakmp::find_payload(*chain, PayloadType::SequenceNumber);
    if (!seq) return reject(PushReject::Malformed, "no SEQ payload");
    auto seq_value = wire::parse_seq(seq->body);
    if (!seq_value) return reject(PushReject::Malformed, seq_value.error().message);
    if (*seq_value <= current.sequence)
        return reject(PushReject::Replay, "SEQ " + std::to_string(*seq_value) + " not greater than " +
                                              std::to_string(current.sequence));

    PushOutcome out;
    out.state.group_id = current.group_id;
    out.state.kek = current.kek;
    out.state.gap = current.gap;
    out.state.sequence = *seq_value;
    for (const auto& tek : current.teks) out.state.teks.push_back(tek);
    for (const auto& p : *chain) {
        if (p.type != PayloadType::Delete) continue;
        auto d = isakmp::parse_delete(p.body);
        if (!d) return reject(PushReject::Malformed, d.error().message);
        for (const auto& spi : d->spis) {
            if (spi.size() == 4) {
                const uint32_t v = ByteReader(spi).u32();
                out.state.deleted_tek_spis.push_back(v);
                std::erase_if(out.state.teks, [v](const Tek& t) { return t.spi == v; });
            } else if (spi.size() == 16) {
                out.state.kek_deleted = true;
            }
        }
    }
    if (const auto* sa = isakmp::find_payload(*chain, PayloadType::Sa)) {
        auto policy = wire::parse_gdoi_sa(sa->body);
        if (!policy) return reject(PushReject::BadPolicy, policy.error().message);
        // New TEKs are keyed by this push's KD; a new KEK replaces ours once keyed.
        GroupState incoming;
        incoming.kek = policy->kek;
        incoming.teks = policy->teks;
        const auto* kd = isakmp::find_payload(*chain, PayloadType::KeyDownload);
        if (!kd) return reject(PushReject::BadPolicy, "SA without KD");
        KdKekSpi kd_kek = KdKekSpi::None;
        auto applied = apply_key_download(kd->body, incoming, &kek.spi, &kd_kek);
        if (!applied) return reject(PushReject::BadPolicy, applied.error().message);
        if (incoming.kek && incoming.kek->spi != kek.spi)
            out.note = "KEK rekey to SPI " + to_hex(incoming.kek->spi) + ", keyed by a KD packet naming " +
                       (kd_kek == KdKekSpi::Protecting ? "the current KEK's SPI (accepted)" : "the new SPI");
        if (incoming.kek) out.state.kek = std::move(incoming.kek);
        if (policy->gap) out.state.gap = *policy->gap;
        for (auto& tek : incoming.teks) {
            std::erase_if(out.state.teks, [&](const Tek& t) { return t.spi == tek.spi; });
            out.state.teks.push_back(std::move(tek));
        }
    }
    return out;
}

}  // namespace gdoi
