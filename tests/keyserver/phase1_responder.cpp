// IKEv1 phase-1 responder, pre-shared keys (RFC 2409 §5.4).
//   Main Mode:       --> HDR, SA            <-- HDR, SA
//                    --> HDR, KE, Ni        <-- HDR, KE, Nr
//                    --> HDR*, IDii, HASH_I <-- HDR*, IDir, HASH_R
//   Aggressive Mode: --> HDR, SA, KE, Ni, IDii
//                    <-- HDR, SA, KE, Nr, IDir, HASH_R
//                    --> HDR[*], HASH_I     (RFC 2409 shows it in the clear; deployed
//                                            initiators, ours included, encrypt it: both
//                                            are accepted)
// With signatures (RFC 2409 §5.1) HASH_I/HASH_R become [CERT,] SIG_I/SIG_R:
//   Main Mode:       --> HDR, KE, Ni [, CERTREQ]   <-- HDR, KE, Nr, CERTREQ
//                    --> HDR*, IDii, CERT, SIG_I   <-- HDR*, IDir, CERT, SIG_R
//   Aggressive Mode: --> HDR, SA, KE, Ni, IDii [, CERTREQ]
//                    <-- HDR, SA, KE, Nr, IDir, CERT, SIG_R, CERTREQ
//                    --> HDR[*], CERT, SIG_I
// and a member whose certificate, identity or signature does not verify gets
// AUTHENTICATION-FAILED like a wrong HASH_I.
// Errors go back as informational exchanges (RFC 2408 §4.8): NO-PROPOSAL-CHOSEN in the
// clear (there are no keys yet); AUTHENTICATION-FAILED protected with our keys and
// HASH(1) (RFC 2409 §5.7), as a real server does after keys exist.
#include "phase1_responder.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include "gdoi/phase1_sig.h"

namespace keyserver {

using gdoi::LogLevel;
using gdoi::Phase1Mode;
using gdoi::isakmp::Cookie;
using gdoi::isakmp::ExchangeType;
using gdoi::isakmp::PayloadType;
namespace isakmp = gdoi::isakmp;
namespace crypto = gdoi::crypto;

namespace {

constexpr size_t kNonceSize = 32;
constexpr uint16_t kNotifyInvalidIdInformation = 18;  // RFC 2408 §3.14.1
constexpr uint16_t kNotifyNoProposalChosen = 14;
constexpr uint16_t kNotifyAuthenticationFailed = 24;
constexpr uint16_t kNotifyInitialContact = 24578;  // RFC 2407 §4.6.3.3
constexpr uint32_t kDoiIpsec = 1;
constexpr uint64_t kDefaultIkeLifetime = 28800;  // RFC 2407 §4.5: when none is offered
constexpr uint8_t kProtocolIsakmp = 1;
constexpr uint8_t kTransformKeyIke = 1;
constexpr uint8_t kCertX509Signature = 4;  // RFC 2408 §3.9 Certificate Encoding
// Bounds on what a member sends: its certificate and a few intermediates; RSA-8192 signs
// 1024 bytes.
constexpr size_t kMaxSignatureSize = 1024;

std::string hex8(const Cookie& c) { return gdoi::to_hex(c); }

Cookie random_cookie() {
    Cookie c{};
    do {
        Bytes b = crypto::random_bytes(8);
        std::copy(b.begin(), b.end(), c.begin());
    } while (c == Cookie{});
    return c;
}

uint32_t random_message_id() {
    uint32_t v = 0;
    while (v == 0) {
        Bytes b = crypto::random_bytes(4);
        v = (uint32_t(b[0]) << 24) | (uint32_t(b[1]) << 16) | (uint32_t(b[2]) << 8) | b[3];
    }
    return v;
}

Bytes be32(uint32_t v) {
    gdoi::ByteWriter w;
    w.u32(v);
    return w.take();
}

isakmp::Header header(const Cookie& ci, const Cookie& cr, ExchangeType exchange, uint32_t message_id = 0) {
    isakmp::Header h;
    h.initiator_cookie = ci;
    h.responder_cookie = cr;
    h.exchange = exchange;
    h.message_id = message_id;
    return h;
}

isakmp::NotificationPayload notify(uint16_t type, const Cookie& ci, const Cookie& cr) {
    isakmp::NotificationPayload n;
    n.doi = kDoiIpsec;
    n.protocol = kProtocolIsakmp;
    n.type = type;
    n.spi.assign(ci.begin(), ci.end());
    n.spi.insert(n.spi.end(), cr.begin(), cr.end());
    return n;
}

// An error notification in the clear (no keys yet, RFC 2408 §4.8 without encryption).
Bytes plain_notification(uint16_t type, const Cookie& ci, const Cookie& cr) {
    isakmp::MessageBuilder b;
    b.add(PayloadType::Notification, isakmp::encode_notification(notify(type, ci, cr)));
    return b.finish(header(ci, cr, ExchangeType::Informational, random_message_id()));
}

// RFC 2409 §5.7: HDR*, HASH(1), N with HASH(1) = prf(SKEYID_a, M-ID | N), IV from the
// last phase-1 CBC block and the M-ID (Appendix B).
std::optional<Bytes> protected_notification(uint16_t type, const Cookie& ci, const Cookie& cr,
                                            const gdoi::IkeSaKeys& keys, ByteView last_block) {
    const uint32_t mid = random_message_id();
    isakmp::MessageBuilder rest;
    rest.add(PayloadType::Notification, isakmp::encode_notification(notify(type, ci, cr)));
    Bytes rest_chain = rest.chain();
    SecureBytes hash1 = crypto::prf(keys.hash, keys.skeyid_a, {be32(mid), rest_chain});
    isakmp::MessageBuilder b;
    b.add(PayloadType::Hash, hash1);
    b.add(PayloadType::Notification, isakmp::encode_notification(notify(type, ci, cr)));
    Bytes iv = gdoi::phase2_iv(keys, last_block, mid);
    auto sealed = gdoi::seal_message(header(ci, cr, ExchangeType::Informational, mid), PayloadType::Hash,
                                     b.chain(), keys, iv);
    if (!sealed) return std::nullopt;
    return std::move(*sealed);
}

// HASH_I / HASH_R straight from RFC 2409 §5: prf(SKEYID, g^x(own) | g^x(peer) | CKY-own |
// CKY-peer | SAi_b | ID_b). Written out here rather than calling gdoi::phase1_hash so the
// responder's check does not share a possible mistake with the initiator's. The prf is the
// proposal's hash, except with ECDSA (RFC 4754 §3: HMAC-SHA-256/384; IkeSaKeys::auth_hash).
SecureBytes rfc_hash(const gdoi::IkeSaKeys& keys, ByteView g_first, ByteView g_second, const Cookie& ck_first,
                     const Cookie& ck_second, ByteView sai_b, ByteView id_b) {
    return crypto::prf(keys.auth_hash, keys.skeyid, {g_first, g_second, ck_first, ck_second, sai_b, id_b});
}

}  // namespace

// ---- PSK table

std::string PskTable::id_key(const isakmp::IdPayload& id) {
    char text[INET6_ADDRSTRLEN] = {};
    switch (static_cast<isakmp::IdType>(id.type)) {
        case isakmp::IdType::Ipv4Addr:
            if (id.data.size() != 4 || !inet_ntop(AF_INET, id.data.data(), text, sizeof text)) return "";
            return text;
        case isakmp::IdType::Ipv6Addr:
            if (id.data.size() != 16 || !inet_ntop(AF_INET6, id.data.data(), text, sizeof text)) return "";
            return text;
        case isakmp::IdType::Fqdn:
            return "fqdn:" + std::string(id.data.begin(), id.data.end());
        case isakmp::IdType::UserFqdn:
            return "ufqdn:" + std::string(id.data.begin(), id.data.end());
        default:
            return "";
    }
}

const SecureBytes* PskTable::for_address(const gdoi::Endpoint& from) const {
    auto it = by_key_.find(from.address_string());
    if (it != by_key_.end()) return &it->second;
    return any_ ? &*any_ : nullptr;
}

const SecureBytes* PskTable::for_id(const isakmp::IdPayload& id) const {
    const std::string key = id_key(id);
    if (!key.empty()) {
        auto it = by_key_.find(key);
        if (it != by_key_.end()) return &it->second;
    }
    return any_ ? &*any_ : nullptr;
}

// ---- Transform acceptability (RFC 2409 Appendix A, RFC 3602 §5 for AES)

std::optional<gdoi::IkeProposal> responder_read_transform(const isakmp::Transform& t) {
    return responder_read_transform(t, std::nullopt);
}

std::optional<gdoi::IkeProposal> responder_read_transform(const isakmp::Transform& t,
                                                          std::optional<crypto::SigAuthMethod> sig) {
    if (t.id != kTransformKeyIke) return std::nullopt;
    std::optional<uint64_t> enc, hash, auth, group, keylen;
    bool life_type_pending = false;
    for (const auto& a : t.attributes) {
        auto v = a.as_integer();
        if (!v) return std::nullopt;
        auto once = [&](std::optional<uint64_t>& slot) {
            if (slot) return false;  // a duplicate attribute makes the transform ambiguous
            slot = *v;
            return true;
        };
        switch (a.type) {
            case 1:
                if (!a.basic || !once(enc)) return std::nullopt;
                break;
            case 2:
                if (!a.basic || !once(hash)) return std::nullopt;
                break;
            case 3:
                if (!a.basic || !once(auth)) return std::nullopt;
                break;
            case 4:
                if (!a.basic || !once(group)) return std::nullopt;
                break;
            case 14:
                if (!a.basic || !once(keylen)) return std::nullopt;
                break;
            case 11:  // life type: seconds (1) or kilobytes (2), each followed by a duration
                if (*v != 1 && *v != 2) return std::nullopt;
                life_type_pending = true;
                break;
            case 12:
                if (!life_type_pending) return std::nullopt;
                life_type_pending = false;
                break;
            default:
                return std::nullopt;  // PRF, group type/prime/generator...: not supported
        }
    }
    if (!enc || !hash || !auth || !group || life_type_pending) return std::nullopt;
    // Pre-shared key (1), or the signature method of our own key when we have one.
    if (*auth != gdoi::ike_attr::kAuthPreSharedKey && !(sig && *auth == static_cast<uint64_t>(*sig)))
        return std::nullopt;
    gdoi::IkeProposal p;
    p.auth_method = static_cast<uint16_t>(*auth);
    if (*enc == 5) {  // 3DES-CBC: fixed key, a key length (if any) must say 192
        if (keylen && *keylen != 192) return std::nullopt;
        p.cipher = {crypto::CipherAlg::Des3Cbc, 24};
    } else if (*enc == 7) {  // AES-CBC: KEY_LENGTH is mandatory (RFC 3602 §5)
        if (!keylen || (*keylen != 128 && *keylen != 192 && *keylen != 256)) return std::nullopt;
        p.cipher = {crypto::CipherAlg::AesCbc, static_cast<size_t>(*keylen / 8)};
    } else {
        return std::nullopt;
    }
    switch (*hash) {
        case 2:
            p.hash = crypto::HashAlg::Sha1;
            break;
        case 4:
            p.hash = crypto::HashAlg::Sha256;
            break;
        case 5:
            p.hash = crypto::HashAlg::Sha384;
            break;
        case 6:
            p.hash = crypto::HashAlg::Sha512;
            break;
        default:
            return std::nullopt;
    }
    if (*group > 0xffff || !crypto::is_supported_group(static_cast<uint16_t>(*group))) return std::nullopt;
    p.group = static_cast<crypto::DhGroup>(*group);
    return p;
}

namespace {

// Lifetime in seconds offered in a transform (life type 1 followed by its duration).
std::optional<uint64_t> offered_seconds(const isakmp::Transform& t) {
    std::optional<uint64_t> type;
    for (const auto& a : t.attributes) {
        if (a.type == 11)
            type = a.as_integer();
        else if (a.type == 12 && type == 1u)
            return a.as_integer();
    }
    return std::nullopt;
}

}  // namespace

// ---- Exchange table

struct Phase1Responder::Entry {
    enum class State { WaitMm3, WaitMm5, WaitAm3, Established, Failed };
    State state = State::WaitMm3;
    Phase1Mode mode = Phase1Mode::Main;
    gdoi::Endpoint peer;
    Cookie ci{}, cr{};
    uint32_t doi = 0;
    Bytes sai_b;  // the initiator's SA payload body, as received (input of both HASHes)
    gdoi::IkeProposal proposal;
    uint64_t lifetime = 0;
    bool sig = false;       // signature authentication (RFC 2409 §5.1) instead of the PSK
    std::string auth_name;  // with sig, once verified: "ID_FQDN gm1.test (rsa-sig, certificate ...)"
    SecureBytes psk;
    std::optional<crypto::DhExchange> dh;
    Bytes gxi, ni, nr;
    gdoi::IkeSaKeys keys;
    Bytes iv;  // CBC chain of phase 1
    isakmp::IdPayload peer_id;
    Bytes last_request, last_answer;
    Clock::time_point expires{};
    ResponderSa result;
};

Phase1Responder::Phase1Responder(ResponderConfig config) : config_(std::move(config)) {}
Phase1Responder::~Phase1Responder() = default;

void Phase1Responder::log(LogLevel level, const std::string& line) const {
    if (config_.log) config_.log(level, line);
}

const ResponderSa* Phase1Responder::find(const Cookie& initiator_cookie) const {
    auto it = entries_.find(initiator_cookie);
    if (it == entries_.end() || it->second->state != Entry::State::Established) return nullptr;
    return &it->second->result;
}

std::vector<const ResponderSa*> Phase1Responder::established() const {
    std::vector<const ResponderSa*> out;
    for (const auto& [c, e] : entries_)
        if (e->state == Entry::State::Established) out.push_back(&e->result);
    return out;
}

size_t Phase1Responder::half_open() const {
    return static_cast<size_t>(std::count_if(entries_.begin(), entries_.end(), [](const auto& kv) {
        return kv.second->state != Entry::State::Established && kv.second->state != Entry::State::Failed;
    }));
}

Clock::time_point Phase1Responder::next_deadline() const {
    Clock::time_point t = Clock::time_point::max();
    for (const auto& [c, e] : entries_) t = std::min(t, e->expires);
    return t;
}

size_t Phase1Responder::on_timer(Clock::time_point now) {
    size_t removed = 0;
    for (auto it = entries_.begin(); it != entries_.end();) {
        if (it->second->expires <= now) {
            const Entry& e = *it->second;
            log(LogLevel::Info,
                (e.state == Entry::State::Established ? "phase-1 SA with " : "exchange with ") +
                    e.peer.to_string() + " (icookie " + hex8(e.ci) + ") expired");
            it = entries_.erase(it);
            ++removed;
            ++counters_.expired;
        } else {
            ++it;
        }
    }
    return removed;
}

ResponderStep Phase1Responder::fail(Entry& e, std::string reason, std::optional<Bytes> answer) {
    e.state = Entry::State::Failed;
    e.dh.reset();
    log(LogLevel::Warning, "phase1 with " + e.peer.to_string() + " failed: " + reason);
    if (answer)
        e.last_answer = *answer;
    else
        e.last_answer.clear();
    ResponderStep step;
    step.send = std::move(answer);
    step.event = ResponderStep::Event::Failed;
    step.reason = std::move(reason);
    return step;
}

ResponderStep Phase1Responder::establish(Entry& e, Clock::time_point now, std::optional<Bytes> answer) {
    e.state = Entry::State::Established;
    e.dh.reset();
    e.psk = SecureBytes();  // wiped by SecureBytes
    ResponderSa& r = e.result;
    r.sa.initiator_cookie = e.ci;
    r.sa.responder_cookie = e.cr;
    r.sa.proposal = e.proposal;
    r.sa.keys = e.keys;
    r.sa.last_iv = e.iv;
    r.sa.lifetime_seconds = e.lifetime;
    r.sa.peer_id = e.peer_id;
    r.mode = e.mode;
    r.peer = e.peer;
    r.doi = e.doi;
    r.established_at = now;
    e.expires = now + std::chrono::seconds(e.lifetime);
    e.last_answer = answer ? *answer : Bytes();
    ++counters_.established;
    if (e.sig) log(LogLevel::Info, "member " + e.peer.address_string() + " authenticated as " + e.auth_name);
    log(LogLevel::Info, "phase1 established with " + e.peer.address_string() + " (" +
                            gdoi::phase1_mode_name(e.mode) + ", " + e.proposal.name() + "), icookie " +
                            hex8(e.ci));
    ResponderStep step;
    step.send = std::move(answer);
    step.event = ResponderStep::Event::Established;
    step.sa = &r;
    return step;
}

ResponderStep Phase1Responder::on_datagram(ByteView datagram, const gdoi::Endpoint& from,
                                           Clock::time_point now) {
    auto parsed = isakmp::parse_message(datagram);
    if (!parsed) {
        ++counters_.dropped;
        log(LogLevel::Warning, "dropped datagram from " + from.to_string() + ": " + parsed.error().message);
        return {};
    }
    const auto& m = *parsed;
    auto it = entries_.find(m.header.initiator_cookie);
    if (it == entries_.end()) return handle_first(m, datagram, from, now);

    Entry& e = *it->second;
    // Duplicate of the request we last answered: our answer was lost, send it again.
    if (!e.last_request.empty() &&
        std::equal(datagram.begin(), datagram.end(), e.last_request.begin(), e.last_request.end())) {
        if (e.last_answer.empty()) return {};
        ++counters_.retransmitted;
        log(LogLevel::Debug, "retransmitting our answer to " + from.to_string());
        ResponderStep step;
        step.send = e.last_answer;
        return step;
    }
    if (m.header.responder_cookie != e.cr) {
        ++counters_.dropped;
        log(LogLevel::Debug,
            "dropped datagram from " + from.to_string() + ": responder cookie does not match");
        return {};
    }
    if (!(from == e.peer)) {
        ++counters_.dropped;
        log(LogLevel::Warning, "dropped datagram for icookie " + hex8(e.ci) + " from " + from.to_string() +
                                   ": the exchange runs with " + e.peer.to_string());
        return {};
    }
    if (m.header.exchange == ExchangeType::Informational) return on_informational(e, m);
    if (e.state == Entry::State::Established && m.header.message_id != 0) {
        ResponderStep step;
        step.event = ResponderStep::Event::Phase2;
        step.sa = &e.result;
        return step;
    }
    const bool phase1_exchange =
        m.header.message_id == 0 &&
        m.header.exchange ==
            (e.mode == Phase1Mode::Main ? ExchangeType::IdentityProtection : ExchangeType::Aggressive);
    if (!phase1_exchange || e.state == Entry::State::Established || e.state == Entry::State::Failed) {
        ++counters_.dropped;
        log(LogLevel::Debug, "dropped unexpected datagram from " + from.to_string());
        return {};
    }
    e.expires = now + config_.exchange_timeout;
    const Bytes request(datagram.begin(), datagram.end());
    ResponderStep step;
    switch (e.state) {
        case Entry::State::WaitMm3:
            step = on_mm3(e, m);
            break;
        case Entry::State::WaitMm5:
            step = on_mm5(e, m, now);
            break;
        case Entry::State::WaitAm3:
            step = on_am3(e, m, now);
            break;
        default:
            return {};
    }
    // A request that moved the exchange (or ended it) is the one a duplicate repeats.
    if (step.send || step.event != ResponderStep::Event::None) e.last_request = request;
    return step;
}

ResponderStep Phase1Responder::handle_first(const isakmp::ParsedMessage& m, ByteView datagram,
                                            const gdoi::Endpoint& from, Clock::time_point now) {
    const auto& h = m.header;
    const bool main = h.exchange == ExchangeType::IdentityProtection;
    const bool aggressive = h.exchange == ExchangeType::Aggressive;
    if ((!main && !aggressive) || h.responder_cookie != Cookie{} || h.message_id != 0 || h.encrypted() ||
        h.initiator_cookie == Cookie{}) {
        ++counters_.dropped;
        log(LogLevel::Debug, "dropped datagram from " + from.to_string() +
                                 ": not the start of a phase-1 exchange "
                                 "(exchange " +
                                 std::to_string(static_cast<int>(h.exchange)) + ")");
        return {};
    }
    if ((main && !config_.allow_main) || (aggressive && !config_.allow_aggressive)) {
        ++counters_.dropped;
        log(LogLevel::Warning, std::string(main ? "main" : "aggressive") + " mode from " + from.to_string() +
                                   " refused by configuration");
        return {};
    }
    if (entries_.size() >= config_.max_entries) {
        on_timer(now);
        if (entries_.size() >= config_.max_entries) {
            ++counters_.dropped;
            log(LogLevel::Warning, "exchange table full, dropped a new initiator from " + from.to_string());
            return {};
        }
    }
    const Cookie ci = h.initiator_cookie;
    const auto* sa_payload = isakmp::find_payload(m.payloads, PayloadType::Sa);
    if (sa_payload == nullptr) {
        ++counters_.dropped;
        log(LogLevel::Warning, "dropped first message from " + from.to_string() + ": no SA payload");
        return {};
    }
    auto sa = isakmp::parse_sa(sa_payload->body);
    if (!sa) {
        ++counters_.dropped;
        log(LogLevel::Warning,
            "dropped first message from " + from.to_string() + ": SA payload: " + sa.error().message);
        return {};
    }
    if (config_.drop_gdoi_situation && sa->doi == 2 && sa->situation != 0) {
        ++counters_.dropped;
        log(LogLevel::Warning, "dropped first message from " + from.to_string() + ": Situation " +
                                   std::to_string(sa->situation) +
                                   " with DOI 2 (no notification, as deployed key servers do)");
        return {};
    }
    // The first acceptable transform, in the initiator's order (RFC 2409 §5: the responder
    // picks one; its answer carries exactly that transform with the offered attributes).
    const isakmp::Proposal* chosen_proposal = nullptr;
    const isakmp::Transform* chosen_transform = nullptr;
    gdoi::IkeProposal chosen;
    for (const auto& p : sa->proposals) {
        if (p.protocol != kProtocolIsakmp) continue;
        for (const auto& t : p.transforms) {
            auto read = responder_read_transform(
                t, config_.sig ? std::optional<crypto::SigAuthMethod>(config_.sig->method) : std::nullopt);
            if (!read) continue;
            // The configured proposals say cipher, hash and group; the method is PSK or ours.
            gdoi::IkeProposal as_configured = *read;
            as_configured.auth_method = gdoi::ike_attr::kAuthPreSharedKey;
            if (std::find(config_.proposals.begin(), config_.proposals.end(), as_configured) ==
                config_.proposals.end())
                continue;
            chosen_proposal = &p;
            chosen_transform = &t;
            chosen = *read;
            break;
        }
        if (chosen_transform) break;
    }
    if (chosen_transform == nullptr) {
        ++counters_.no_proposal_chosen;
        std::string offered;
        for (const auto& p : sa->proposals)
            for (const auto& t : p.transforms) {
                auto read = responder_read_transform(
                    t,
                    config_.sig ? std::optional<crypto::SigAuthMethod>(config_.sig->method) : std::nullopt);
                offered +=
                    (offered.empty() ? "" : " ") + (read ? read->name() : std::string("(unsupported)"));
            }
        log(LogLevel::Warning,
            "no acceptable proposal from " + from.to_string() + " (offered: " + offered + ")");
        ResponderStep step;
        step.send = plain_notification(kNotifyNoProposalChosen, ci, random_cookie());
        step.event = ResponderStep::Event::Failed;
        step.reason = "no proposal chosen";
        return step;
    }

    auto entry = std::make_unique<Entry>();
    Entry& e = *entry;
    e.mode = main ? Phase1Mode::Main : Phase1Mode::Aggressive;
    e.peer = from;
    e.ci = ci;
    e.cr = random_cookie();
    e.doi = sa->doi;
    e.sai_b.assign(sa_payload->body.begin(), sa_payload->body.end());
    e.proposal = chosen;
    e.sig = chosen.auth_method != gdoi::ike_attr::kAuthPreSharedKey;
    // A lifetime of 0 (strongSwan sends it when it is configured not to rekey) means no
    // limit from the initiator: the default applies, capped by our maximum.
    uint64_t offered_life = offered_seconds(*chosen_transform).value_or(0);
    if (offered_life == 0) offered_life = kDefaultIkeLifetime;
    e.lifetime = std::min<uint64_t>(offered_life, config_.max_lifetime_seconds);
    e.expires = now + config_.exchange_timeout;
    e.last_request.assign(datagram.begin(), datagram.end());

    isakmp::Proposal answer_proposal;
    answer_proposal.number = chosen_proposal->number;
    answer_proposal.protocol = chosen_proposal->protocol;
    answer_proposal.spi = chosen_proposal->spi;
    answer_proposal.transforms = {*chosen_transform};
    const Bytes sar_b = isakmp::encode_sa(isakmp::SaPayload{sa->doi, sa->situation, {answer_proposal}});

    if (main) {
        const SecureBytes* psk = e.sig ? nullptr : config_.psks.for_address(from);
        if (!e.sig && psk == nullptr) {
            ++counters_.no_psk;
            log(LogLevel::Warning, "no pre-shared key for " + from.address_string() +
                                       " (main mode chooses it by "
                                       "source address)");
            ResponderStep step;
            step.send = plain_notification(kNotifyAuthenticationFailed, ci, e.cr);
            step.event = ResponderStep::Event::Failed;
            step.reason = "no pre-shared key for " + from.address_string();
            return step;
        }
        if (psk) e.psk = *psk;
        e.state = Entry::State::WaitMm3;
        isakmp::MessageBuilder b;
        b.add(PayloadType::Sa, sar_b);
        e.last_answer = b.finish(header(ci, e.cr, ExchangeType::IdentityProtection));
        log(LogLevel::Debug, "main mode from " + from.to_string() + ": chose " + chosen.name());
        ResponderStep step;
        step.send = e.last_answer;
        entries_[ci] = std::move(entry);
        return step;
    }

    // Aggressive mode: SA, KE, Ni, IDii all in the first message.
    const auto* ke = isakmp::find_payload(m.payloads, PayloadType::KeyExchange);
    const auto* ni = isakmp::find_payload(m.payloads, PayloadType::Nonce);
    const auto* id = isakmp::find_payload(m.payloads, PayloadType::Identification);
    if (!ke || !ni || !id) {
        ++counters_.dropped;
        log(LogLevel::Warning,
            "dropped aggressive mode message 1 from " + from.to_string() + ": lacks KE, nonce or ID");
        return {};
    }
    auto nonce = isakmp::parse_nonce(ni->body);
    auto peer_id = isakmp::parse_id(id->body);
    if (!nonce || !peer_id) {
        ++counters_.dropped;
        log(LogLevel::Warning, "dropped aggressive mode message 1 from " + from.to_string() + ": " +
                                   (!nonce ? nonce.error().message : peer_id.error().message));
        return {};
    }
    if (ke->body.size() != crypto::dh_public_size(chosen.group)) {
        ++counters_.dropped;
        log(LogLevel::Warning, "aggressive mode from " + from.to_string() + ": KE length " +
                                   std::to_string(ke->body.size()) + " does not fit the chosen group " +
                                   chosen.name());
        return {};
    }
    const SecureBytes* psk = e.sig ? nullptr : config_.psks.for_id(*peer_id);
    if (!e.sig && psk == nullptr) {
        ++counters_.no_psk;
        const std::string key = PskTable::id_key(*peer_id);
        log(LogLevel::Warning, "no pre-shared key for identity " +
                                   (key.empty() ? "(unsupported ID type)" : key) + " from " +
                                   from.to_string());
        ResponderStep step;
        step.send = plain_notification(kNotifyInvalidIdInformation, ci, e.cr);
        step.event = ResponderStep::Event::Failed;
        step.reason = "no pre-shared key for identity " + key;
        return step;
    }
    auto dh = crypto::DhExchange::generate(chosen.group);
    if (!dh) {
        log(LogLevel::Error, "DH: " + dh.error().message);
        return {};
    }
    e.dh.emplace(std::move(*dh));
    auto gxy = e.dh->shared_secret(ke->body);
    if (!gxy) {
        ++counters_.dropped;
        log(LogLevel::Warning, "aggressive mode from " + from.to_string() + ": KE: " + gxy.error().message);
        return {};
    }
    e.gxi.assign(ke->body.begin(), ke->body.end());
    e.ni.assign(nonce->begin(), nonce->end());
    e.nr = crypto::random_bytes(kNonceSize);
    e.peer_id = *peer_id;
    if (psk) e.psk = *psk;
    if (e.sig)  // RFC 2409 §5: SKEYID = prf(Ni_b | Nr_b, g^xy)
        gdoi::derive_sig_keys(e.proposal, e.ni, e.nr, *gxy, e.ci, e.cr, e.keys);
    else
        e.keys = gdoi::derive_psk_keys(e.proposal, e.psk, e.ni, e.nr, *gxy, e.ci, e.cr);
    e.iv = gdoi::phase1_iv(e.keys, e.gxi, e.dh->public_value());
    const Bytes idir_b = isakmp::encode_id(config_.local_id);
    SecureBytes hash_r = rfc_hash(e.keys, e.dh->public_value(), e.gxi, e.cr, e.ci, e.sai_b, idir_b);
    isakmp::MessageBuilder b;
    b.add(PayloadType::Sa, sar_b);
    b.add(PayloadType::KeyExchange, e.dh->public_value());
    b.add(PayloadType::Nonce, e.nr);
    b.add(PayloadType::Identification, idir_b);
    if (e.sig) {
        // RFC 2409 §5.1: [CERT,] SIG_R, the signature over HASH_R; CERTREQ (RFC 2408 §3.10)
        // names the CA(s) we trust for the member's certificate.
        if (auto signed_ = gdoi::add_certificate_and_signature(b, *config_.sig, hash_r); !signed_) {
            log(LogLevel::Error, "signing HASH_R failed: " + signed_.error().message);
            return {};
        }
        gdoi::add_cert_requests(b, *config_.sig);
    } else {
        b.add(PayloadType::Hash, hash_r);
    }
    e.state = Entry::State::WaitAm3;
    e.last_answer = b.finish(header(ci, e.cr, ExchangeType::Aggressive));
    log(LogLevel::Debug, "aggressive mode from " + from.to_string() + " (ID " + PskTable::id_key(*peer_id) +
                             "): chose " + chosen.name());
    ResponderStep step;
    step.send = e.last_answer;
    entries_[ci] = std::move(entry);
    return step;
}

ResponderStep Phase1Responder::on_mm3(Entry& e, const isakmp::ParsedMessage& m) {
    if (m.header.encrypted()) {
        ++counters_.dropped;
        return {};
    }
    const auto* ke = isakmp::find_payload(m.payloads, PayloadType::KeyExchange);
    const auto* ni = isakmp::find_payload(m.payloads, PayloadType::Nonce);
    if (!ke || !ni) {
        ++counters_.dropped;
        log(LogLevel::Warning, "main mode message 3 from " + e.peer.to_string() + " lacks KE or nonce");
        return {};
    }
    auto nonce = isakmp::parse_nonce(ni->body);
    if (!nonce) {
        ++counters_.dropped;
        log(LogLevel::Warning,
            "main mode message 3 from " + e.peer.to_string() + ": " + nonce.error().message);
        return {};
    }
    if (ke->body.size() != crypto::dh_public_size(e.proposal.group)) {
        ++counters_.dropped;
        log(LogLevel::Warning, "main mode message 3 from " + e.peer.to_string() + ": KE length " +
                                   std::to_string(ke->body.size()) + " does not fit " + e.proposal.name());
        return {};
    }
    auto dh = crypto::DhExchange::generate(e.proposal.group);
    if (!dh) {
        log(LogLevel::Error, "DH: " + dh.error().message);
        return {};
    }
    e.dh.emplace(std::move(*dh));
    auto gxy = e.dh->shared_secret(ke->body);
    if (!gxy) {
        ++counters_.dropped;
        log(LogLevel::Warning,
            "main mode message 3 from " + e.peer.to_string() + ": KE: " + gxy.error().message);
        return {};
    }
    e.gxi.assign(ke->body.begin(), ke->body.end());
    e.ni.assign(nonce->begin(), nonce->end());
    e.nr = crypto::random_bytes(kNonceSize);
    if (e.sig)  // RFC 2409 §5: SKEYID = prf(Ni_b | Nr_b, g^xy)
        gdoi::derive_sig_keys(e.proposal, e.ni, e.nr, *gxy, e.ci, e.cr, e.keys);
    else
        e.keys = gdoi::derive_psk_keys(e.proposal, e.psk, e.ni, e.nr, *gxy, e.ci, e.cr);
    e.iv = gdoi::phase1_iv(e.keys, e.gxi, e.dh->public_value());
    isakmp::MessageBuilder b;
    b.add(PayloadType::KeyExchange, e.dh->public_value());
    b.add(PayloadType::Nonce, e.nr);
    if (e.sig) gdoi::add_cert_requests(b, *config_.sig);  // RFC 2408 §3.10: the CAs we trust
    e.state = Entry::State::WaitMm5;
    e.last_answer = b.finish(header(e.ci, e.cr, ExchangeType::IdentityProtection));
    ResponderStep step;
    step.send = e.last_answer;
    return step;
}

ResponderStep Phase1Responder::on_mm5(Entry& e, const isakmp::ParsedMessage& m, Clock::time_point now) {
    if (!m.header.encrypted()) {
        ++counters_.dropped;
        log(LogLevel::Warning,
            "main mode message 5 from " + e.peer.to_string() + " is not encrypted; dropped");
        return {};
    }
    const std::string psk_hint =
        "the initiator's identity message does not verify: its pre-shared key differs "
        "from ours for " +
        e.peer.address_string();
    auto opened = gdoi::open_message(m.body, e.keys, e.iv);
    if (!opened) {
        ++counters_.dropped;
        log(LogLevel::Warning,
            "main mode message 5 from " + e.peer.to_string() + ": " + opened.error().message);
        return {};
    }
    // Whatever happens next, the CBC chain moves on with this message's last block.
    const Bytes last_block = opened->next_iv;
    auto auth_failed = [&](const std::string& detail) {
        ++counters_.authentication_failed;
        return fail(e, psk_hint + " (" + detail + ")",
                    protected_notification(kNotifyAuthenticationFailed, e.ci, e.cr, e.keys, last_block));
    };
    auto sig_failed = [&](const std::string& reason) {
        ++counters_.authentication_failed;
        return fail(e, reason,
                    protected_notification(kNotifyAuthenticationFailed, e.ci, e.cr, e.keys, last_block));
    };
    auto chain =
        isakmp::parse_payload_chain(m.header.next_payload, opened->plaintext, isakmp::Trailing::AllowPadding);
    if (!chain) {
        if (e.sig) return sig_failed("main mode message 5 does not decrypt to a payload chain");
        return auth_failed("does not decrypt to a payload chain");
    }
    const auto* id = isakmp::find_payload(*chain, PayloadType::Identification);
    if (e.sig) {
        // RFC 2409 §5.1: IDii, CERT, SIG_I; SIG_I signs HASH_I.
        if (id == nullptr) return sig_failed("main mode message 5 has no ID payload");
        auto peer_id = isakmp::parse_id(id->body);
        if (!peer_id) return sig_failed("main mode message 5: " + peer_id.error().message);
        SecureBytes hash_i = rfc_hash(e.keys, e.gxi, e.dh->public_value(), e.ci, e.cr, e.sai_b, id->body);
        if (auto ok = verify_member(e, *chain, *peer_id, hash_i); !ok) return sig_failed(ok.error().message);
        e.peer_id = *peer_id;
    } else {
        const auto* hash = isakmp::find_payload(*chain, PayloadType::Hash);
        if (!id || !hash) return auth_failed("no ID or HASH payload after decryption");
        // HASH_I = prf(SKEYID, g^xi | g^xr | CKY-I | CKY-R | SAi_b | IDii_b)  (RFC 2409 §5)
        SecureBytes expected = rfc_hash(e.keys, e.gxi, e.dh->public_value(), e.ci, e.cr, e.sai_b, id->body);
        if (!expected.equals(hash->body)) return auth_failed("HASH_I mismatch");
        auto peer_id = isakmp::parse_id(id->body);
        if (!peer_id) {
            ++counters_.dropped;
            return fail(e, "main mode message 5: " + peer_id.error().message);
        }
        e.peer_id = *peer_id;
    }
    if (const auto* n = isakmp::find_payload(*chain, PayloadType::Notification)) {
        auto note = isakmp::parse_notification(n->body);
        if (note && note->type == kNotifyInitialContact)
            log(LogLevel::Debug, "INITIAL-CONTACT from " + e.peer.to_string());
    }
    e.iv = last_block;
    // HASH_R = prf(SKEYID, g^xr | g^xi | CKY-R | CKY-I | SAi_b | IDir_b)
    const Bytes idir_b = isakmp::encode_id(config_.local_id);
    SecureBytes hash_r = rfc_hash(e.keys, e.dh->public_value(), e.gxi, e.cr, e.ci, e.sai_b, idir_b);
    isakmp::MessageBuilder b;
    b.add(PayloadType::Identification, idir_b);
    if (e.sig) {
        if (auto signed_ = gdoi::add_certificate_and_signature(b, *config_.sig, hash_r); !signed_)
            return fail(e, "signing HASH_R failed: " + signed_.error().message);
    } else {
        b.add(PayloadType::Hash, hash_r);
    }
    Bytes chain6 = b.chain();
    auto sealed =
        gdoi::seal_message(header(e.ci, e.cr, ExchangeType::IdentityProtection), PayloadType::Identification,
                           chain6, e.keys, e.iv);  // e.iv becomes the last block of message 6
    gdoi::wipe(chain6);
    if (!sealed) return fail(e, "cannot encrypt message 6: " + sealed.error().message);
    return establish(e, now, std::move(*sealed));
}

ResponderStep Phase1Responder::on_am3(Entry& e, const isakmp::ParsedMessage& m, Clock::time_point now) {
    std::vector<isakmp::RawPayload> payloads;
    gdoi::SecureBytes plaintext;  // keeps decrypted payload views alive
    Bytes last_block = e.iv;
    const std::string psk_hint =
        "the initiator's HASH_I does not verify: its pre-shared key differs from ours "
        "for its identity " +
        PskTable::id_key(e.peer_id);
    auto auth_failed = [&](const std::string& detail) {
        ++counters_.authentication_failed;
        return fail(e, psk_hint + " (" + detail + ")",
                    protected_notification(kNotifyAuthenticationFailed, e.ci, e.cr, e.keys, last_block));
    };
    if (m.header.encrypted()) {
        auto opened = gdoi::open_message(m.body, e.keys, e.iv);
        if (!opened) {
            ++counters_.dropped;
            log(LogLevel::Warning,
                "aggressive mode message 3 from " + e.peer.to_string() + ": " + opened.error().message);
            return {};
        }
        last_block = opened->next_iv;
        plaintext = std::move(opened->plaintext);
        auto chain =
            isakmp::parse_payload_chain(m.header.next_payload, plaintext, isakmp::Trailing::AllowPadding);
        if (!chain) return auth_failed("does not decrypt to a payload chain");
        payloads = std::move(*chain);
    } else {
        payloads = m.payloads;
    }
    if (e.sig) {
        // RFC 2409 §5.1: [CERT,] SIG_I over HASH_I, IDii_b as sent in message 1.
        const Bytes idii_b = isakmp::encode_id(e.peer_id);
        SecureBytes hash_i = rfc_hash(e.keys, e.gxi, e.dh->public_value(), e.ci, e.cr, e.sai_b, idii_b);
        if (auto ok = verify_member(e, payloads, e.peer_id, hash_i); !ok) {
            ++counters_.authentication_failed;
            return fail(e, ok.error().message,
                        protected_notification(kNotifyAuthenticationFailed, e.ci, e.cr, e.keys, last_block));
        }
        e.iv = last_block;
        return establish(e, now, std::nullopt);
    }
    const auto* hash = isakmp::find_payload(payloads, PayloadType::Hash);
    if (!hash) return auth_failed("no HASH payload");
    const Bytes idii_b = isakmp::encode_id(e.peer_id);
    SecureBytes expected = rfc_hash(e.keys, e.gxi, e.dh->public_value(), e.ci, e.cr, e.sai_b, idii_b);
    if (!expected.equals(hash->body)) return auth_failed("HASH_I mismatch");
    // The last phase-1 CBC block: of message 3 when it was encrypted, else the phase-1 IV
    // itself (nothing was encrypted in phase 1; RFC 2409 Appendix B).
    e.iv = last_block;
    return establish(e, now, std::nullopt);
}

// The member's certificate, identity and signature (RFC 2409 §5.1). Every CERT payload
// (RFC 2408 §3.9: a one-byte encoding, then the data) must be an X.509 signature
// certificate (4); the first is the member's, the others intermediates. SIG (§3.12) is
// the bare signature, its format fixed by the method (verify_hash_signature).
common::Status Phase1Responder::verify_member(Entry& e, const std::vector<isakmp::RawPayload>& payloads,
                                              const isakmp::IdPayload& id, ByteView hash_i) const {
    const auto method = static_cast<crypto::SigAuthMethod>(e.proposal.auth_method);
    const std::string who = "member " + e.peer.address_string() + " (" + crypto::describe_id(id) + ")";
    std::vector<crypto::Certificate> certs;
    for (const auto& p : payloads) {
        if (p.type != PayloadType::Certificate) continue;
        if (certs.size() >= crypto::kMaxChainCertificates)
            return common::make_error("bad member certificate: " + who + " sent more than " +
                                      std::to_string(crypto::kMaxChainCertificates) + " certificates");
        auto payload = isakmp::parse_certificate(p.body);  // bounds-checked: encoding byte + data
        if (!payload)
            return common::make_error("bad member certificate: " + who + ": " + payload.error().message);
        if (payload->encoding != kCertX509Signature)
            return common::make_error("bad member certificate: " + who + " sent certificate encoding " +
                                      std::to_string(payload->encoding) + ", only X.509 signature (4)");
        auto cert = crypto::Certificate::parse_der(payload->data);
        if (!cert) return common::make_error("bad member certificate: " + who + ": " + cert.error().message);
        certs.push_back(std::move(*cert));
    }
    if (certs.empty())
        return common::make_error("bad member certificate: " + who +
                                  " sent no certificate (we have no other way to get its key)");
    const crypto::Certificate& cert = certs.front();
    const std::vector<crypto::Certificate> intermediates(certs.begin() + 1, certs.end());
    if (auto trusted = config_.sig->trust->verify(cert, intermediates, "the member"); !trusted)
        return common::make_error("untrusted member certificate: " + who + ": " + trusted.error().message);
    if (auto named = crypto::identity_matches(id, cert); !named)
        return common::make_error("member identity mismatch: " + who + ": " + named.error().message);
    if (cert.key_method() != method)
        return common::make_error("bad member signature: " + who + ": its certificate " +
                                  cert.describe_names() + " holds no key for the negotiated method " +
                                  crypto::sig_auth_method_name(method));
    const auto* sig = isakmp::find_payload(payloads, PayloadType::Signature);
    if (sig == nullptr) return common::make_error("bad member signature: " + who + " sent no SIG payload");
    if (sig->body.empty() || sig->body.size() > kMaxSignatureSize)
        return common::make_error("bad member signature: " + who + ": SIG payload of " +
                                  std::to_string(sig->body.size()) + " bytes");
    if (!crypto::verify_hash_signature(method, cert, hash_i, sig->body))
        return common::make_error(
            "bad member signature: " + who + ": SIG_I (" + crypto::sig_auth_method_name(method) +
            ") does not verify with the key of its certificate " + cert.describe_names());
    e.auth_name = crypto::describe_id(id) + " (" + crypto::sig_auth_method_name(method) + ", certificate " +
                  cert.describe_names() + ", issuer '" + cert.issuer() + "')";
    return {};
}

ResponderStep Phase1Responder::on_informational(Entry& e, const isakmp::ParsedMessage& m) {
    if (!m.header.encrypted()) {
        const auto* n = isakmp::find_payload(m.payloads, PayloadType::Notification);
        auto note = n ? isakmp::parse_notification(n->body)
                      : common::Result<isakmp::NotificationPayload>(common::make_error("no notification"));
        if (!note) {
            ++counters_.dropped;
            return {};
        }
        log(LogLevel::Warning, "unprotected notification from " + e.peer.to_string() + ": " +
                                   gdoi::describe_notification(note->type));
        if (gdoi::is_error_notification(note->type) && e.state != Entry::State::Established &&
            e.state != Entry::State::Failed)
            return fail(e, "initiator sent " + gdoi::describe_notification(note->type));
        return {};
    }
    if (e.keys.skeyid_a.empty()) {
        ++counters_.dropped;
        return {};
    }
    // RFC 2409 §5.7: HASH(1) = prf(SKEYID_a, M-ID | N/D), IV from the last phase-1 block.
    const Bytes& last_block = e.state == Entry::State::Established ? e.result.sa.last_iv : e.iv;
    Bytes iv = gdoi::phase2_iv(e.keys, last_block, m.header.message_id);
    auto opened = gdoi::open_message(m.body, e.keys, iv);
    if (!opened) {
        ++counters_.dropped;
        return {};
    }
    auto chain =
        isakmp::parse_payload_chain(m.header.next_payload, opened->plaintext, isakmp::Trailing::AllowPadding);
    if (!chain || chain->empty() || chain->front().type != PayloadType::Hash) {
        ++counters_.dropped;
        log(LogLevel::Warning, "protected informational from " + e.peer.to_string() + " does not decrypt");
        return {};
    }
    const uint8_t* begin = opened->plaintext.data();
    const size_t rest_from =
        static_cast<size_t>(chain->front().body.data() + chain->front().body.size() - begin);
    const size_t rest_to = static_cast<size_t>(chain->back().body.data() + chain->back().body.size() - begin);
    SecureBytes expected =
        crypto::prf(e.keys.hash, e.keys.skeyid_a,
                    {be32(m.header.message_id), ByteView(begin + rest_from, rest_to - rest_from)});
    if (!expected.equals(chain->front().body)) {
        ++counters_.dropped;
        log(LogLevel::Warning, "protected informational from " + e.peer.to_string() + ": HASH(1) mismatch");
        return {};
    }
    for (const auto& p : *chain) {
        if (p.type == PayloadType::Notification) {
            if (auto note = isakmp::parse_notification(p.body))
                log(LogLevel::Info, "notification from " + e.peer.to_string() + ": " +
                                        gdoi::describe_notification(note->type));
        } else if (p.type == PayloadType::Delete) {
            auto del = isakmp::parse_delete(p.body);
            if (!del || del->protocol != kProtocolIsakmp) continue;
            for (const auto& spi : del->spis) {
                if (spi.size() != 16 || !std::equal(e.ci.begin(), e.ci.end(), spi.begin()) ||
                    !std::equal(e.cr.begin(), e.cr.end(), spi.begin() + 8))
                    continue;
                log(LogLevel::Info, "phase-1 SA with " + e.peer.to_string() + " deleted by the initiator");
                ResponderStep step;
                step.event = ResponderStep::Event::Deleted;
                entries_.erase(e.ci);  // e is gone from here on
                return step;
            }
        }
    }
    return {};
}

}  // namespace keyserver
