// GROUPKEY-PULL initiator (RFC 6407 §3.2).
#include "gdoi/groupkey_pull.h"

#include "gdoi/gdoi_payloads.h"

namespace gdoi {

using isakmp::PayloadType;

namespace {
constexpr size_t kNonceSize = 32;

// The bytes from the end of the HASH payload to the end of the last payload (the
// payloads the HASH covers, with their generic headers, without cipher padding).
ByteView covered_bytes(const std::vector<isakmp::RawPayload>& chain) {
    const uint8_t* begin = chain.front().body.data() + chain.front().body.size();
    const uint8_t* end = chain.back().body.data() + chain.back().body.size();
    return ByteView(begin, static_cast<size_t>(end - begin));
}

Bytes mid_bytes(uint32_t message_id) {
    ByteWriter w;
    w.u32(message_id);
    return w.take();
}
}  // namespace

Bytes hash_first_chain(const IkeSaKeys& keys, uint32_t message_id, std::initializer_list<ByteView> prefix,
                       const isakmp::MessageBuilder& rest, PayloadType& first) {
    Bytes rest_chain = rest.chain();
    Bytes mid = mid_bytes(message_id);
    std::vector<ByteView> parts{mid};
    parts.insert(parts.end(), prefix.begin(), prefix.end());
    parts.push_back(rest_chain);
    // prf over a runtime list: concatenate (no secrets here beyond nonces and payloads).
    Bytes input;
    for (ByteView p : parts) input.insert(input.end(), p.begin(), p.end());
    SecureBytes hash = crypto::prf(keys.hash, keys.skeyid_a, {input});
    ByteWriter w;
    w.u8(static_cast<uint8_t>(rest.first_type()))
        .u8(0)
        .u16(static_cast<uint16_t>(hash.size() + 4))
        .bytes(hash);
    w.bytes(rest_chain);
    first = PayloadType::Hash;
    return w.take();
}

bool verify_hash_first_chain(const IkeSaKeys& keys, uint32_t message_id,
                             std::initializer_list<ByteView> prefix,
                             const std::vector<isakmp::RawPayload>& chain) {
    if (chain.empty() || chain.front().type != PayloadType::Hash) return false;  // HASH must come first
    // The prf streams the parts: message 4's KD (keys) is never copied out of secure memory.
    const Bytes mid = mid_bytes(message_id);
    std::vector<ByteView> parts{mid};
    parts.insert(parts.end(), prefix.begin(), prefix.end());
    parts.push_back(covered_bytes(chain));
    SecureBytes expected = crypto::prf(keys.hash, keys.skeyid_a, parts);
    return expected.equals(chain.front().body);
}

GroupkeyPullInitiator::GroupkeyPullInitiator(const Phase1Sa& phase1, PullConfig config)
    : phase1_(phase1), config_(std::move(config)), retransmit_(config_.retransmit) {}

void GroupkeyPullInitiator::log(LogLevel level, const std::string& line) const {
    if (config_.log)
        config_.log(level,
                    "pull " + config_.peer_name + " group " + std::to_string(config_.group_id) + ": " + line);
}

isakmp::Header GroupkeyPullInitiator::header() const {
    isakmp::Header h;
    h.initiator_cookie = phase1_.initiator_cookie;
    h.responder_cookie = phase1_.responder_cookie;
    h.exchange = isakmp::ExchangeType::GroupkeyPull;
    h.message_id = message_id_;
    return h;
}

ExchangeStep GroupkeyPullInitiator::fail(std::string message) {
    state_ = State::Failed;
    failure_message_ = std::move(message);
    log(LogLevel::Error, failure_message_);
    return ExchangeStep{};
}

ExchangeStep GroupkeyPullInitiator::start(Clock::time_point now) {
    if (config_.group_id == 0) return fail("group id must be 1..4294967295");
    do {
        Bytes r = crypto::random_bytes(4);
        message_id_ = ByteReader(r).u32();
    } while (message_id_ == 0);
    nonce_i_ = crypto::random_bytes(kNonceSize);
    iv_ = phase2_iv(phase1_.keys, phase1_.last_iv, message_id_);
    isakmp::MessageBuilder rest;
    rest.add(PayloadType::Nonce, nonce_i_);
    rest.add(PayloadType::Identification, isakmp::encode_id(wire::group_id_payload(config_.group_id)));
    PayloadType first = PayloadType::None;
    Bytes chain = hash_first_chain(phase1_.keys, message_id_, {}, rest, first);
    auto sealed = seal_message(header(), first, chain, phase1_.keys, iv_);
    if (!sealed) return fail(sealed.error().message);
    state_ = State::WaitSa;
    group_.group_id = config_.group_id;
    retransmit_.sent(*sealed, now);
    return ExchangeStep{std::move(*sealed), retransmit_.deadline()};
}

ExchangeStep GroupkeyPullInitiator::on_timer(Clock::time_point now) {
    if (finished()) return ExchangeStep{};
    if (retransmit_.expired(now))
        return fail(std::string("no answer from the key server to our ") +
                    (state_ == State::WaitSa ? "registration request" : "policy acknowledgement") +
                    " (gave up after " + std::to_string(retransmit_.transmissions()) + " transmissions)");
    if (auto again = retransmit_.due(now)) return ExchangeStep{std::move(again), retransmit_.deadline()};
    return ExchangeStep{std::nullopt, retransmit_.deadline()};
}

ExchangeStep GroupkeyPullInitiator::on_datagram(ByteView datagram, Clock::time_point now) {
    if (finished()) return ExchangeStep{};
    auto m = isakmp::parse_message(datagram);
    if (!m || m->header.initiator_cookie != phase1_.initiator_cookie || m->header.message_id != message_id_ ||
        m->header.exchange != isakmp::ExchangeType::GroupkeyPull || !m->header.encrypted())
        return ExchangeStep{std::nullopt, retransmit_.deadline()};
    auto opened = open_message(m->body, phase1_.keys, iv_);
    if (!opened) return ExchangeStep{std::nullopt, retransmit_.deadline()};
    auto chain = isakmp::parse_payload_chain(m->header.next_payload, opened->plaintext,
                                             isakmp::Trailing::AllowPadding);
    if (!chain) {
        log(LogLevel::Warning, "dropped a message that does not decrypt to a valid payload chain");
        return ExchangeStep{std::nullopt, retransmit_.deadline()};
    }
    if (state_ == State::WaitSa) return on_message2(*chain, opened->next_iv, now);
    return on_message4(*chain);
}

ExchangeStep GroupkeyPullInitiator::on_message2(const std::vector<isakmp::RawPayload>& chain,
                                                ByteView next_iv, Clock::time_point now) {
    if (!verify_hash_first_chain(phase1_.keys, message_id_, {nonce_i_}, chain)) {
        log(LogLevel::Warning, "dropped message 2: HASH(2) does not verify");
        return ExchangeStep{std::nullopt, retransmit_.deadline()};
    }
    const auto* nr = isakmp::find_payload(chain, PayloadType::Nonce);
    const auto* sa = isakmp::find_payload(chain, PayloadType::Sa);
    if (!nr || !sa) return fail("key server's message 2 lacks the nonce or the SA");
    auto nonce = isakmp::parse_nonce(nr->body);
    if (!nonce) return fail("key server's nonce: " + nonce.error().message);
    nonce_r_.assign(nonce->begin(), nonce->end());
    auto policy = wire::parse_gdoi_sa(sa->body);
    if (!policy) return fail("key server's SA payload: " + policy.error().message);
    if (policy->situation != 0)
        log(LogLevel::Info, "SA situation " + std::to_string(policy->situation) + " accepted");
    for (const auto& tek : policy->teks)
        if (config_.accept_tek)
            if (auto why = config_.accept_tek(tek); !why.empty())
                return fail("refusing the group policy: TEK SPI " + std::to_string(tek.spi) + ": " + why);
    if (policy->kek && config_.accept_kek)
        if (auto why = config_.accept_kek(*policy->kek); !why.empty())
            return fail("refusing the group policy: KEK: " + why);
    group_.kek = policy->kek;
    group_.teks = policy->teks;
    if (policy->gap) group_.gap = *policy->gap;

    iv_.assign(next_iv.begin(), next_iv.end());
    isakmp::MessageBuilder rest;  // no GAP: we request no sender ids (no counter-mode sender ids in Linux)
    PayloadType first = PayloadType::None;
    Bytes chain3 = hash_first_chain(phase1_.keys, message_id_, {nonce_i_, nonce_r_}, rest, first);
    auto sealed = seal_message(header(), first, chain3, phase1_.keys, iv_);
    if (!sealed) return fail(sealed.error().message);
    state_ = State::WaitKd;
    retransmit_.sent(*sealed, now);
    return ExchangeStep{std::move(*sealed), retransmit_.deadline()};
}

ExchangeStep GroupkeyPullInitiator::on_message4(const std::vector<isakmp::RawPayload>& chain) {
    if (!verify_hash_first_chain(phase1_.keys, message_id_, {nonce_i_, nonce_r_}, chain)) {
        log(LogLevel::Warning, "dropped message 4: HASH(4) does not verify");
        return ExchangeStep{std::nullopt, retransmit_.deadline()};
    }
    const auto* kd = isakmp::find_payload(chain, PayloadType::KeyDownload);
    if (!kd) return fail("key server's message 4 has no KD payload");
    if (const auto* seq = isakmp::find_payload(chain, PayloadType::SequenceNumber)) {
        auto value = wire::parse_seq(seq->body);
        if (!value) return fail("key server's SEQ: " + value.error().message);
        group_.sequence = *value;
    } else if (group_.kek) {
        log(LogLevel::Warning, "no SEQ in message 4 although a KEK was given; rekeys start from 0");
    }
    auto applied = apply_key_download(kd->body, group_);
    if (!applied) return fail(applied.error().message);
    state_ = State::Done;
    log(LogLevel::Info, "registered: " + std::to_string(group_.teks.size()) + " TEK(s), " +
                            (group_.kek ? "KEK" : "no KEK") + ", SEQ " + std::to_string(group_.sequence));
    return ExchangeStep{};
}

}  // namespace gdoi
