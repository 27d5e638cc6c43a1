// IKEv1 phase-1 initiator, pre-shared key authentication (RFC 2409 §5.4).
//   Main Mode:       HDR, SA -->  <-- HDR, SA
//                    HDR, KE, Ni -->  <-- HDR, KE, Nr
//                    HDR*, IDii, HASH_I [, N(INITIAL-CONTACT)] -->  <-- HDR*, IDir, HASH_R
//   Aggressive Mode: HDR, SA, KE, Ni, IDii -->  <-- HDR, SA, KE, Nr, IDir, HASH_R
//                    HDR*, HASH_I [, N(INITIAL-CONTACT)] -->
// With signatures (RFC 2409 §5.1) HASH_I/HASH_R become CERT, SIG_I / [CERT,] SIG_R and we ask
// for the key server's certificate with CERTREQ in message 3 (Main) or 1 (Aggressive).
#include "gdoi/phase1.h"

#include <algorithm>

#include "gdoi/phase1_sig.h"

namespace gdoi {

using isakmp::ExchangeType;
using isakmp::PayloadType;

namespace {

constexpr size_t kNonceSize = 32;
constexpr uint16_t kNotifyInitialContact = 24578;  // RFC 2407 §4.6.3.3
constexpr uint16_t kNotifyNoProposalChosen = 14;
constexpr uint32_t kDoiIpsec = 1;
constexpr uint32_t kSitIdentityOnly = 1;  // RFC 2407 §4.2.1 (IPsec DOI only)

bool is_psk_notification(uint16_t type) { return type == 1 || type == 16 || type == 23 || type == 24; }
// The refusals whose table hint (notify.cpp) is about the pre-shared key or a signature: with
// certificates the hint is ours about certificates (kSigAuthHint), nothing about a key we do
// not have (INVALID-KEY-INFORMATION 17, INVALID-SIGNATURE 25 among them).
bool is_auth_notification(uint16_t type) { return is_psk_notification(type) || type == 17 || type == 25; }

}  // namespace

const char* phase1_mode_name(Phase1Mode mode) { return mode == Phase1Mode::Main ? "main" : "aggressive"; }

// SIT_IDENTITY_ONLY is a situation of the IPsec DOI (RFC 2407 §4.2); the GDOI DOI defines no
// situation bits, so with DOI 2 the field is zero (RFC 6407 §5.2, RFC 3547 §5.2; Wireshark's
// packet-isakmp.c decodes the situation bitmap only for DOI 1). Deployed key servers drop a
// DOI-2 offer with Situation 1 without a notification.
uint32_t phase1_situation(uint32_t doi) { return doi == kDoiIpsec ? kSitIdentityOnly : 0; }

Phase1Initiator::Phase1Initiator(Phase1Config config)
    : config_(std::move(config)), retransmit_(config_.retransmit) {
    if (config_.sig)
        for (auto& p : config_.proposals) p.auth_method = static_cast<uint16_t>(config_.sig->method);
    prepare();
}

void Phase1Initiator::prepare() {
    Bytes cookie = crypto::random_bytes(8);
    std::copy(cookie.begin(), cookie.end(), sa_.initiator_cookie.begin());
    nonce_i_ = crypto::random_bytes(kNonceSize);
    // Main mode learns the group from the key server's choice (message 2), so there is a key
    // pair for every group offered; aggressive mode sends the first proposal's in message 1.
    for (const auto& p : config_.proposals) crypto::load_algorithms(p.hash, p.cipher);
    for (const auto& p : config_.proposals) {
        const bool made = std::any_of(key_pairs_.begin(), key_pairs_.end(),
                                      [&](const crypto::DhExchange& k) { return k.group() == p.group; });
        if (made) continue;
        auto dh = crypto::DhExchange::generate(p.group);
        if (!dh) {
            prepare_error_ = dh.error().message;
            return;
        }
        key_pairs_.push_back(std::move(*dh));
        gxy_.reserve(crypto::dh_shared_secret_size(p.group));
        if (config_.mode == Phase1Mode::Aggressive) break;
    }
    sa_.keys.reserve();
    hash_.reserve(crypto::kMaxHashSize);
}

bool Phase1Initiator::use_key_pair(crypto::DhGroup group) {
    // The pairs of the groups not chosen go with the exchange: freeing them now would cost
    // time between two messages.
    for (auto& k : key_pairs_)
        if (k.group() == group) {
            dh_.emplace(std::move(k));
            return true;
        }
    return false;
}

void Phase1Initiator::log(LogLevel level, const std::string& line) const {
    if (config_.log) config_.log(level, "phase1 " + config_.peer_name + ": " + line);
}

isakmp::Header Phase1Initiator::header(ExchangeType exchange) const {
    isakmp::Header h;
    h.initiator_cookie = sa_.initiator_cookie;
    h.responder_cookie = sa_.responder_cookie;
    h.exchange = exchange;
    return h;
}

ExchangeStep Phase1Initiator::send(Bytes message, Clock::time_point now) {
    retransmit_.sent(message, now);
    return ExchangeStep{std::move(message), retransmit_.deadline()};
}

ExchangeStep Phase1Initiator::fail(Phase1Failure why, std::string message) {
    state_ = State::Failed;
    failure_ = why;
    failure_message_ = std::move(message);
    log(LogLevel::Error, failure_message_);
    return ExchangeStep{};
}

ExchangeStep Phase1Initiator::waiting() const {
    if (finished()) return ExchangeStep{};
    return ExchangeStep{std::nullopt, retransmit_.deadline()};
}

ExchangeStep Phase1Initiator::start(Clock::time_point now) {
    if (config_.proposals.empty()) return fail(Phase1Failure::LocalError, "no IKE proposal configured");
    if (config_.sig && (!config_.sig->certificate || !config_.sig->private_key || !config_.sig->trust))
        return fail(Phase1Failure::LocalError, "signature authentication without certificate, key or CA");
    if (!config_.sig && config_.psk.empty())
        return fail(Phase1Failure::LocalError, "no pre-shared key configured");
    if (config_.proposals.size() > 255) return fail(Phase1Failure::LocalError, "too many IKE proposals");
    if (!prepare_error_.empty()) return fail(Phase1Failure::LocalError, prepare_error_);

    // One proposal, one transform per offered suite (RFC 2409 §5: the responder picks one transform).
    isakmp::Proposal proposal;
    proposal.number = 1;
    proposal.protocol = ike_attr::kProtocolIsakmp;
    for (size_t i = 0; i < config_.proposals.size(); ++i)
        proposal.transforms.push_back(
            config_.proposals[i].to_transform(static_cast<uint8_t>(i + 1), config_.lifetime_seconds));
    sai_b_ =
        isakmp::encode_sa(isakmp::SaPayload{config_.sa_doi, phase1_situation(config_.sa_doi), {proposal}});

    isakmp::MessageBuilder b;
    b.add(PayloadType::Sa, sai_b_);
    if (config_.mode == Phase1Mode::Main) {
        state_ = State::WaitMm2;
        log(LogLevel::Info,
            "main mode started, " + std::to_string(config_.proposals.size()) + " proposal(s)");
        return send(b.finish(header(ExchangeType::IdentityProtection)), now);
    }
    // Aggressive mode fixes the DH group with its first message: the first proposal's group.
    const auto group = config_.proposals.front().group;
    for (const auto& p : config_.proposals)
        if (p.group != group)
            return fail(Phase1Failure::LocalError,
                        "aggressive mode needs the same DH group in every IKE proposal (" + p.name() + ")");
    if (!use_key_pair(group)) return fail(Phase1Failure::LocalError, "no DH key pair prepared");
    b.add(PayloadType::KeyExchange, dh_->public_value());
    b.add(PayloadType::Nonce, nonce_i_);
    b.add(PayloadType::Identification, isakmp::encode_id(config_.local_id));
    if (config_.sig) add_cert_requests(b, *config_.sig);
    state_ = State::WaitAm2;
    log(LogLevel::Info,
        "aggressive mode started, " + std::to_string(config_.proposals.size()) + " proposal(s)");
    return send(b.finish(header(ExchangeType::Aggressive)), now);
}

ExchangeStep Phase1Initiator::on_timer(Clock::time_point now) {
    if (finished()) return ExchangeStep{};
    if (retransmit_.expired(now)) {
        std::string stage;
        switch (state_) {
            case State::WaitMm2:
            case State::WaitAm2:
                stage =
                    "no answer from the key server: either it is not reachable on its ISAKMP port, or it "
                    "silently refuses our proposal, DOI (ike.doi " +
                    std::to_string(config_.sa_doi) + ") or identity: check its log for this member";
                break;
            case State::WaitMm4:
                stage = "no answer to our key exchange message";
                break;
            case State::WaitMm6:
                stage = std::string(
                            "no answer to our identity message (the key server could not decrypt or "
                            "verify it): ") +
                        auth_hint();
                break;
            default:
                stage = "exchange timed out";
        }
        return fail(
            Phase1Failure::Timeout,
            stage + " (gave up after " + std::to_string(retransmit_.transmissions()) + " transmissions)");
    }
    if (auto again = retransmit_.due(now)) {
        log(LogLevel::Debug, "retransmitting");
        return ExchangeStep{std::move(again), retransmit_.deadline()};
    }
    return waiting();
}

ExchangeStep Phase1Initiator::on_datagram(ByteView datagram, Clock::time_point now) {
    if (finished()) return ExchangeStep{};
    auto parsed = isakmp::parse_message(datagram);
    if (!parsed) {
        log(LogLevel::Warning, "dropped datagram: " + parsed.error().message);
        return waiting();
    }
    const auto& m = *parsed;
    if (m.header.initiator_cookie != sa_.initiator_cookie) return waiting();  // not ours
    // Once the responder chose its cookie (message 2), every later message must carry it.
    const bool responder_known = state_ == State::WaitMm4 || state_ == State::WaitMm6;
    if (responder_known && m.header.responder_cookie != sa_.responder_cookie) return waiting();
    if (Bytes(datagram.begin(), datagram.end()) == last_received_) return waiting();  // duplicate
    if (m.header.exchange == ExchangeType::Informational) return handle_informational(m);
    last_received_.assign(datagram.begin(), datagram.end());
    switch (state_) {
        case State::WaitMm2:
            return on_mm2(m, now);
        case State::WaitMm4:
            return on_mm4(m, now);
        case State::WaitMm6:
            return on_mm6(m);
        case State::WaitAm2:
            return on_am2(m, now);
        default:
            return waiting();
    }
}

ExchangeStep Phase1Initiator::handle_informational(const isakmp::ParsedMessage& m) {
    if (m.header.encrypted()) {
        // Protected with keys we may not share (wrong PSK): try to read it; if it does
        // not decrypt, that itself says the keys differ.
        if (state_ == State::WaitMm6 && !sa_.keys.enc_key.empty()) {
            Bytes iv = phase2_iv(sa_.keys, iv_, m.header.message_id);
            auto opened = open_message(m.body, sa_.keys, iv);
            auto chain = opened ? isakmp::parse_payload_chain(m.header.next_payload, opened->plaintext,
                                                              isakmp::Trailing::AllowPadding)
                                : common::Result<std::vector<isakmp::RawPayload>>(opened.error());
            if (!chain)
                return fail(
                    Phase1Failure::AuthenticationFailed,
                    std::string("the key server answered our identity message with an error we cannot "
                                "decrypt: ") +
                        auth_hint());
            if (const auto* n = isakmp::find_payload(*chain, PayloadType::Notification)) {
                auto note = isakmp::parse_notification(n->body);
                if (note && !is_error_notification(note->type)) {  // status: not a failure
                    log(LogLevel::Info, "key server sent " + describe_notification(note->type));
                    return waiting();
                }
                if (note)
                    return fail(is_psk_notification(note->type) ? Phase1Failure::AuthenticationFailed
                                                                : Phase1Failure::PeerNotification,
                                "key server sent " + peer_notification(note->type));
            }
        }
        log(LogLevel::Warning, "ignored an encrypted informational message");
        return waiting();
    }
    const auto* n = isakmp::find_payload(m.payloads, PayloadType::Notification);
    if (n == nullptr) return waiting();
    auto note = isakmp::parse_notification(n->body);
    if (!note) return waiting();
    if (!is_error_notification(note->type)) {  // status (RFC 2408 §3.14.1): not a failure
        log(LogLevel::Info, "key server sent " + describe_notification(note->type));
        return waiting();
    }
    Phase1Failure why = note->type == kNotifyNoProposalChosen ? Phase1Failure::NoProposalChosen
                        : is_psk_notification(note->type) && state_ == State::WaitMm6
                            ? Phase1Failure::AuthenticationFailed
                            : Phase1Failure::PeerNotification;
    return fail(why, "key server sent " + peer_notification(note->type));
}

bool Phase1Initiator::accept_chosen_sa(const isakmp::RawPayload* sa_payload) {
    if (sa_payload == nullptr) {
        fail(Phase1Failure::ProtocolError, "key server's answer has no SA payload");
        return false;
    }
    auto sa = isakmp::parse_sa(sa_payload->body);
    if (!sa) {
        fail(Phase1Failure::ProtocolError, "key server's SA payload: " + sa.error().message);
        return false;
    }
    if (sa->proposals.size() != 1 || sa->proposals[0].transforms.size() != 1) {
        fail(Phase1Failure::ProtocolError, "key server chose more than one proposal/transform");
        return false;
    }
    auto chosen = ike_proposal_from_transform(sa->proposals[0].transforms[0]);
    if (!chosen) {
        fail(Phase1Failure::ProtocolError,
             "key server chose an unusable transform: " + chosen.error().message);
        return false;
    }
    bool offered = false;
    for (const auto& p : config_.proposals) offered = offered || p == *chosen;
    if (!offered) {
        fail(Phase1Failure::ProtocolError, "key server chose " + chosen->name() + ", which we did not offer");
        return false;
    }
    auto life = ike_lifetime_seconds(sa->proposals[0].transforms[0]);
    sa_.lifetime_seconds =
        life ? std::min<uint64_t>(*life, config_.lifetime_seconds) : config_.lifetime_seconds;
    sa_.proposal = *chosen;
    std::string doi_note;
    if (sa->doi != config_.sa_doi)
        doi_note = ", answered with DOI " + std::to_string(sa->doi) + " (we sent " +
                   std::to_string(config_.sa_doi) + "); accepted";
    log(LogLevel::Info, "key server chose " + chosen->name() + doi_note);
    return true;
}

bool Phase1Initiator::derive_keys(ByteView peer_ke, ByteView nonce_r) {
    auto computed = dh_->shared_secret(peer_ke, gxy_);
    if (!computed) {
        fail(Phase1Failure::ProtocolError, "key server's KE payload: " + computed.error().message);
        return false;
    }
    peer_ke_.assign(peer_ke.begin(), peer_ke.end());
    if (config_.sig)
        derive_sig_keys(sa_.proposal, nonce_i_, nonce_r, gxy_, sa_.initiator_cookie, sa_.responder_cookie,
                        sa_.keys);
    else
        derive_psk_keys(sa_.proposal, config_.psk, nonce_i_, nonce_r, gxy_, sa_.initiator_cookie,
                        sa_.responder_cookie, sa_.keys);
    gxy_.resize(0);  // wiped: only the derived keys are needed from here on
    iv_ = phase1_iv(sa_.keys, dh_->public_value(), peer_ke_);
    return true;
}

const SecureBytes& Phase1Initiator::hash_r(ByteView idir_b) {
    phase1_hash(sa_.keys, peer_ke_, dh_->public_value(), sa_.responder_cookie, sa_.initiator_cookie, sai_b_,
                idir_b, hash_);
    return hash_;
}

std::string Phase1Initiator::auth_name() const {
    return config_.sig ? std::string(", ") + crypto::sig_auth_method_name(config_.sig->method) + " as " +
                             crypto::describe_id(config_.local_id)
                       : std::string();
}

std::string Phase1Initiator::peer_notification(uint16_t type) const {
    return config_.sig && is_auth_notification(type) ? describe_notification(type, kSigAuthHint)
                                                     : describe_notification(type);
}

const char* Phase1Initiator::auth_hint() const {
    return config_.sig ? kSigAuthHint : "the pre-shared key probably differs from the key server's";
}

bool Phase1Initiator::peer_authenticated(const std::vector<isakmp::RawPayload>& payloads,
                                         const char* message) {
    const auto* id = isakmp::find_payload(payloads, PayloadType::Identification);
    const auto* proof =
        isakmp::find_payload(payloads, config_.sig ? PayloadType::Signature : PayloadType::Hash);
    if (id == nullptr || proof == nullptr) {
        fail(Phase1Failure::ProtocolError,
             std::string(message) + " lacks ID or " + (config_.sig ? "SIG" : "HASH"));
        return false;
    }
    auto peer_id = isakmp::parse_id(id->body);
    if (!peer_id) {
        fail(Phase1Failure::ProtocolError, std::string(message) + ": " + peer_id.error().message);
        return false;
    }
    if (!config_.sig) {
        if (!hash_r(id->body).equals(proof->body)) {
            fail(Phase1Failure::AuthenticationFailed,
                 "the key server's HASH_R does not verify: the pre-shared key probably differs from the key "
                 "server's");
            return false;
        }
    } else {
        // HASH_R (RFC 2409 §5) is what SIG_R signs.
        auto verified = verify_peer_signature(*config_.sig, payloads, *peer_id, hash_r(id->body),
                                              {config_.expected_peer_id, config_.expected_peer_address});
        if (!verified) {
            fail(Phase1Failure::AuthenticationFailed, verified.error().message);
            return false;
        }
        sa_.peer_certificate = std::make_shared<const crypto::PeerCertificate>(std::move(*verified));
    }
    sa_.peer_id = *peer_id;
    return true;
}

common::Result<Bytes> Phase1Initiator::identity_message(ExchangeType exchange) {
    const Bytes idii_b = isakmp::encode_id(config_.local_id);
    phase1_hash(sa_.keys, dh_->public_value(), peer_ke_, sa_.initiator_cookie, sa_.responder_cookie, sai_b_,
                idii_b, hash_);
    isakmp::MessageBuilder b;
    if (config_.mode == Phase1Mode::Main) b.add(PayloadType::Identification, idii_b);
    if (config_.sig) {
        if (auto signed_ = add_certificate_and_signature(b, *config_.sig, hash_); !signed_)
            return common::make_error("signing HASH_I failed: " + signed_.error().message);
    } else {
        b.add(PayloadType::Hash, hash_);
    }
    if (config_.initial_contact) {
        isakmp::NotificationPayload n;
        n.doi = kDoiIpsec;
        n.protocol = ike_attr::kProtocolIsakmp;
        n.type = kNotifyInitialContact;
        n.spi.assign(sa_.initiator_cookie.begin(), sa_.initiator_cookie.end());
        n.spi.insert(n.spi.end(), sa_.responder_cookie.begin(), sa_.responder_cookie.end());
        b.add(PayloadType::Notification, isakmp::encode_notification(n));
    }
    Bytes chain = b.chain();
    auto sealed = seal_message(header(exchange), b.first_type(), chain, sa_.keys, iv_);
    wipe(chain);
    return sealed;
}

ExchangeStep Phase1Initiator::on_mm2(const isakmp::ParsedMessage& m, Clock::time_point now) {
    if (m.header.exchange != ExchangeType::IdentityProtection || m.header.encrypted()) return waiting();
    sa_.responder_cookie = m.header.responder_cookie;
    if (!accept_chosen_sa(isakmp::find_payload(m.payloads, PayloadType::Sa))) return ExchangeStep{};
    if (!use_key_pair(sa_.proposal.group))
        return fail(Phase1Failure::LocalError, "no DH key pair prepared for " + sa_.proposal.name());
    isakmp::MessageBuilder b;
    b.add(PayloadType::KeyExchange, dh_->public_value());
    b.add(PayloadType::Nonce, nonce_i_);
    if (config_.sig) add_cert_requests(b, *config_.sig);
    state_ = State::WaitMm4;
    return send(b.finish(header(ExchangeType::IdentityProtection)), now);
}

ExchangeStep Phase1Initiator::on_mm4(const isakmp::ParsedMessage& m, Clock::time_point now) {
    if (m.header.exchange != ExchangeType::IdentityProtection || m.header.encrypted()) return waiting();
    const auto* ke = isakmp::find_payload(m.payloads, PayloadType::KeyExchange);
    const auto* nr = isakmp::find_payload(m.payloads, PayloadType::Nonce);
    if (ke == nullptr || nr == nullptr)
        return fail(Phase1Failure::ProtocolError, "message 4 lacks KE or nonce");
    auto nonce = isakmp::parse_nonce(nr->body);
    if (!nonce) return fail(Phase1Failure::ProtocolError, "message 4: " + nonce.error().message);
    if (!derive_keys(ke->body, *nonce)) return ExchangeStep{};
    auto sealed = identity_message(ExchangeType::IdentityProtection);
    if (!sealed) return fail(Phase1Failure::LocalError, sealed.error().message);
    state_ = State::WaitMm6;
    return send(std::move(*sealed), now);
}

ExchangeStep Phase1Initiator::on_mm6(const isakmp::ParsedMessage& m) {
    const std::string hint = std::string("the key server's identity message does not decrypt: ") +
                             (config_.sig ? "it derived other keys (a broken or foreign peer)"
                                          : "the pre-shared key probably differs from the key server's");
    if (m.header.exchange != ExchangeType::IdentityProtection || !m.header.encrypted()) return waiting();
    auto opened = open_message(m.body, sa_.keys, iv_);
    if (!opened) return fail(Phase1Failure::AuthenticationFailed, hint + " (" + opened.error().message + ")");
    auto chain =
        isakmp::parse_payload_chain(m.header.next_payload, opened->plaintext, isakmp::Trailing::AllowPadding);
    if (!chain) return fail(Phase1Failure::AuthenticationFailed, hint + " (does not decrypt)");
    if (!peer_authenticated(*chain, "message 6")) return ExchangeStep{};
    iv_ = opened->next_iv;
    sa_.last_iv = iv_;
    state_ = State::Established;
    log(LogLevel::Info, "IKE SA established (main mode, " + sa_.proposal.name() + auth_name() + ")");
    return ExchangeStep{};
}

ExchangeStep Phase1Initiator::on_am2(const isakmp::ParsedMessage& m, Clock::time_point now) {
    if (m.header.exchange != ExchangeType::Aggressive || m.header.encrypted()) return waiting();
    sa_.responder_cookie = m.header.responder_cookie;
    if (!accept_chosen_sa(isakmp::find_payload(m.payloads, PayloadType::Sa))) return ExchangeStep{};
    if (sa_.proposal.group != dh_->group())
        return fail(Phase1Failure::ProtocolError, "key server chose a DH group other than the one we sent");
    const auto* ke = isakmp::find_payload(m.payloads, PayloadType::KeyExchange);
    const auto* nr = isakmp::find_payload(m.payloads, PayloadType::Nonce);
    if (!ke || !nr) return fail(Phase1Failure::ProtocolError, "aggressive mode message 2 lacks KE or nonce");
    auto nonce = isakmp::parse_nonce(nr->body);
    if (!nonce) return fail(Phase1Failure::ProtocolError, "message 2: " + nonce.error().message);
    if (!derive_keys(ke->body, *nonce)) return ExchangeStep{};
    if (!peer_authenticated(m.payloads, "aggressive mode message 2")) return ExchangeStep{};
    // RFC 2409 §5.4 shows the third message unencrypted, but deployed peers (Cisco,
    // strongSwan) protect it under the new SA; we encrypt it, as they do.
    auto sealed = identity_message(ExchangeType::Aggressive);
    if (!sealed) return fail(Phase1Failure::LocalError, sealed.error().message);
    sa_.last_iv = iv_;
    state_ = State::Established;
    log(LogLevel::Info, "IKE SA established (aggressive mode, " + sa_.proposal.name() + auth_name() + ")");
    ExchangeStep step;
    step.send = std::move(*sealed);
    (void)now;
    return step;
}

}  // namespace gdoi
