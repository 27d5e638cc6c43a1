// Test key server, part 1: IKEv1 phase-1 RESPONDER with pre-shared keys (RFC 2409
// §5.4) or signatures with X.509 certificates (RFC 2409 §5.1), Main Mode and Aggressive Mode, for many
// initiators at once. Sans-IO like gdoi::Phase1Initiator: the caller moves datagrams and time. Not installed;
// the tests and gdoi-test-keyserver use it, and the GDOI GROUPKEY-PULL responder will run under the Phase1Sa
// it produces.
//
// It reuses the gdoi/ codec and key schedule, but its own decisions are made here,
// independently of the initiator's code: which offered transform is acceptable (own
// table of RFC 2409 Appendix A values), HASH_I (computed from the RFC formula, not with
// phase1_hash), the PSK lookup and the exchange states.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "gdoi/cert.h"
#include "gdoi/ike_keys.h"
#include "gdoi/ike_proposal.h"
#include "gdoi/isakmp.h"
#include "gdoi/log.h"
#include "gdoi/phase1.h"
#include "gdoi/retransmit.h"
#include "gdoi/secure_bytes.h"
#include "gdoi/udp_socket.h"

namespace keyserver {

using gdoi::Bytes;
using gdoi::ByteView;
using gdoi::Clock;
using gdoi::SecureBytes;

// Pre-shared keys by peer. Keys are strings:
//   "192.0.2.1", "2001:db8::1"   an address (main mode: the initiator's source address;
//                                aggressive mode: an ID_IPV4_ADDR/ID_IPV6_ADDR identity)
//   "fqdn:host.example"          an ID_FQDN identity (aggressive mode)
//   "ufqdn:user@example"         an ID_USER_FQDN identity (aggressive mode)
// plus an optional key for anyone (--psk-any).
class PskTable {
public:
    void add(const std::string& key, SecureBytes psk) { by_key_[key] = std::move(psk); }
    void set_any(SecureBytes psk) { any_ = std::move(psk); }
    bool empty() const { return by_key_.empty() && !any_; }

    // Main mode: the ID is encrypted with a key derived from the PSK, so the PSK is chosen
    // by the source address, as real key servers do.
    const SecureBytes* for_address(const gdoi::Endpoint& from) const;
    // Aggressive mode: by the initiator's identity (then the key for anyone).
    const SecureBytes* for_id(const gdoi::isakmp::IdPayload& id) const;

    // The table key an identity maps to ("" for identity types the table cannot hold).
    static std::string id_key(const gdoi::isakmp::IdPayload& id);

private:
    std::map<std::string, SecureBytes> by_key_;
    std::optional<SecureBytes> any_;
};

struct ResponderConfig {
    // Acceptable proposals. The responder picks the FIRST transform of the initiator's SA
    // (in the initiator's order) that matches one of these; none: NO-PROPOSAL-CHOSEN.
    std::vector<gdoi::IkeProposal> proposals;
    PskTable psks;
    // Signature authentication (RFC 2409 §5.1): our certificate and key (`method` is the
    // Authentication Method of our key: 3 RSA, 9 ECDSA P-256, 10 ECDSA P-384, 11 ECDSA P-521) and the CA(s)
    // and CRLs the members' certificates must verify against. Set: offered transforms with
    // that method are accepted too (the proposals' other attributes as configured), the
    // member sends CERT + SIG_I and we answer with CERT + SIG_R. PSK transforms stay
    // acceptable as before.
    std::optional<gdoi::crypto::SigCredentials> sig;
    gdoi::isakmp::IdPayload local_id;  // IDir; ID_IPV4_ADDR of the key server usually
    bool allow_main = true;
    bool allow_aggressive = true;
    // Like deployed key servers: a first message whose SA says DOI 2 with a
    // Situation other than 0 (RFC 6407 §5.2: the GDOI DOI has none) is dropped without an answer.
    bool drop_gdoi_situation = false;
    // Half-open (and failed) exchanges are forgotten after this much silence.
    std::chrono::milliseconds exchange_timeout{30000};
    // Established SAs live for the negotiated lifetime, capped here.
    uint32_t max_lifetime_seconds = 86400;
    // Bound of the table (half-open + established): new initiators are dropped beyond it.
    size_t max_entries = 1024;
    gdoi::LogSink log;
};

// One established phase-1 SA, as the GDOI pull responder needs it.
struct ResponderSa {
    gdoi::Phase1Sa sa;  // cookies, proposal, keys, last_iv, lifetime, peer id
    gdoi::Phase1Mode mode = gdoi::Phase1Mode::Main;
    gdoi::Endpoint peer;  // where the exchange came from
    uint32_t doi = 0;     // DOI of the initiator's SA payload (echoed)
    Clock::time_point established_at{};
};

struct ResponderStep {
    enum class Event {
        None,         // nothing to report (maybe an answer to send)
        Established,  // this datagram completed phase 1: see sa
        Failed,       // this datagram ended an exchange: see reason
        Phase2,       // a datagram for an established SA that phase 1 does not handle
                      // (GROUPKEY-PULL etc.): the caller routes it, see sa
        Deleted,      // the initiator deleted its SA (authenticated Delete)
    };
    std::optional<Bytes> send;  // datagram to send back to the sender, now
    Event event = Event::None;
    const ResponderSa* sa = nullptr;  // valid until the next call into the responder
    std::string reason;               // for Failed: operator-readable
};

struct ResponderCounters {
    uint64_t established = 0;
    uint64_t no_proposal_chosen = 0;
    uint64_t authentication_failed = 0;
    uint64_t no_psk = 0;
    uint64_t retransmitted = 0;
    uint64_t dropped = 0;  // unparsable, unknown cookie, unexpected or out of order
    uint64_t expired = 0;  // half-open exchanges and SAs removed by on_timer
};

class Phase1Responder {
public:
    explicit Phase1Responder(ResponderConfig config);
    ~Phase1Responder();
    Phase1Responder(const Phase1Responder&) = delete;
    Phase1Responder& operator=(const Phase1Responder&) = delete;

    // A datagram received from `from`; the answer (if any) goes back to `from`.
    ResponderStep on_datagram(ByteView datagram, const gdoi::Endpoint& from, Clock::time_point now);
    // Removes expired exchanges and SAs; returns how many were removed.
    size_t on_timer(Clock::time_point now);
    // When on_timer() next has something to do (Clock::time_point::max() when nothing).
    Clock::time_point next_deadline() const;

    // Established SA of an initiator cookie (nullptr when none).
    const ResponderSa* find(const gdoi::isakmp::Cookie& initiator_cookie) const;
    std::vector<const ResponderSa*> established() const;
    size_t half_open() const;
    const ResponderCounters& counters() const { return counters_; }

private:
    struct Entry;
    ResponderStep handle_first(const gdoi::isakmp::ParsedMessage& m, ByteView datagram,
                               const gdoi::Endpoint& from, Clock::time_point now);
    ResponderStep on_mm3(Entry& e, const gdoi::isakmp::ParsedMessage& m);
    ResponderStep on_mm5(Entry& e, const gdoi::isakmp::ParsedMessage& m, Clock::time_point now);
    ResponderStep on_am3(Entry& e, const gdoi::isakmp::ParsedMessage& m, Clock::time_point now);
    // The member's CERT payloads, its identity against its certificate and SIG_I over
    // HASH_I; the error is the operator's reason. Success: e.auth_name says who signed.
    common::Status verify_member(Entry& e, const std::vector<gdoi::isakmp::RawPayload>& payloads,
                                 const gdoi::isakmp::IdPayload& id, gdoi::ByteView hash_i) const;
    ResponderStep on_informational(Entry& e, const gdoi::isakmp::ParsedMessage& m);
    ResponderStep fail(Entry& e, std::string reason, std::optional<Bytes> answer = std::nullopt);
    ResponderStep establish(Entry& e, Clock::time_point now, std::optional<Bytes> answer);
    void log(gdoi::LogLevel level, const std::string& line) const;

    ResponderConfig config_;
    std::map<gdoi::isakmp::Cookie, std::unique_ptr<Entry>> entries_;
    ResponderCounters counters_;
};

// Acceptability of one offered transform, decided by the responder's own reading of
// RFC 2409 Appendix A (not by gdoi::ike_proposal_from_transform): the proposal it
// matches, or nullopt (unknown/duplicate attribute, non-PSK auth, unsupported value).
std::optional<gdoi::IkeProposal> responder_read_transform(const gdoi::isakmp::Transform& t);
// The same, but an Authentication Method equal to `sig` (3, 9 or 10) is accepted as well
// (the proposal's auth_method says which one was offered).
std::optional<gdoi::IkeProposal> responder_read_transform(const gdoi::isakmp::Transform& t,
                                                          std::optional<gdoi::crypto::SigAuthMethod> sig);

}  // namespace keyserver
