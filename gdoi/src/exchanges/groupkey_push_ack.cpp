#include "gdoi/groupkey_push_ack.h"

#include "gdoi/crypto.h"
#include "gdoi/gdoi_payloads.h"
#include "gdoi/groupkey_push.h"
#include "gdoi/kek_algorithms.h"

namespace gdoi {
namespace {

// The KEK's SIG_HASH_ALGORITHM picks the prf; SHA-256 when it names none we know.
crypto::HashAlg ack_hash(const Kek& kek) {
    return kek_sig_hash(kek.sig_hash_algorithm).value_or(crypto::HashAlg::Sha256);
}

isakmp::Header ack_header(const Kek& kek, uint32_t message_id) {
    isakmp::Header h;
    set_kek_cookies(h, kek);
    h.exchange = isakmp::ExchangeType::GroupkeyPushAck;
    h.message_id = message_id;
    return h;
}

}  // namespace

SecureBytes push_ack_key(const Phase1Sa& registration, crypto::HashAlg hash) {
    static constexpr char kLabel[] = "GROUPKEY-PUSH ACK";
    ByteView label(reinterpret_cast<const uint8_t*>(kLabel), sizeof kLabel - 1);
    return crypto::prf(hash, registration.keys.skeyid_a,
                       {label, registration.initiator_cookie, registration.responder_cookie});
}

Bytes build_push_ack(const Phase1Sa& registration, const Kek& kek, uint32_t message_id, uint32_t sequence,
                     const isakmp::IdPayload& member_id) {
    const auto hash = ack_hash(kek);
    isakmp::MessageBuilder rest;
    rest.add(isakmp::PayloadType::SequenceNumber, wire::encode_seq(sequence));
    rest.add(isakmp::PayloadType::Identification, isakmp::encode_id(member_id));
    Bytes covered = rest.chain();
    SecureBytes key = push_ack_key(registration, hash);
    SecureBytes mac = crypto::prf(hash, key, {covered});
    isakmp::MessageBuilder b;
    b.add(isakmp::PayloadType::Hash, mac);
    b.add(isakmp::PayloadType::SequenceNumber, wire::encode_seq(sequence));
    b.add(isakmp::PayloadType::Identification, isakmp::encode_id(member_id));
    return b.finish(ack_header(kek, message_id));
}

common::Result<uint32_t> verify_push_ack(ByteView datagram, const Phase1Sa& registration, const Kek& kek) {
    auto m = isakmp::parse_message(datagram);
    if (!m) return m.error();
    if (m->header.exchange != isakmp::ExchangeType::GroupkeyPushAck)
        return common::make_error("not a GROUPKEY-PUSH ACK");
    if (kek_spi_of(m->header) != kek.spi) return common::make_error("ACK cookies do not name this KEK");
    if (m->payloads.size() != 3 || m->payloads[0].type != isakmp::PayloadType::Hash)
        return common::make_error("ACK must be HASH, SEQ, ID");
    const auto& first_covered = m->payloads[1];
    const uint8_t* begin = first_covered.body.data() - isakmp::kGenericHeaderSize;
    const uint8_t* end = m->payloads.back().body.data() + m->payloads.back().body.size();
    SecureBytes key = push_ack_key(registration, ack_hash(kek));
    SecureBytes expected =
        crypto::prf(ack_hash(kek), key, {ByteView(begin, static_cast<size_t>(end - begin))});
    if (!expected.equals(m->payloads[0].body)) return common::make_error("ACK HASH does not verify");
    auto seq = isakmp::find_payload(m->payloads, isakmp::PayloadType::SequenceNumber);
    if (!seq) return common::make_error("ACK without SEQ");
    return wire::parse_seq(seq->body);
}

}  // namespace gdoi
