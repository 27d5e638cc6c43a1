// IKEv1 phase 1 initiator with pre-shared keys (RFC 2409 §5.4) or signatures with X.509
// certificates (RFC 2409 §5.1, RFC 4754 for ECDSA): Main Mode (6 messages, identities
// protected) and Aggressive Mode (3 messages). Sans-IO: the
// caller moves datagrams and time; the exchange never touches a socket.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gdoi/cert.h"
#include "gdoi/ike_keys.h"
#include "gdoi/ike_proposal.h"
#include "gdoi/isakmp.h"
#include "gdoi/log.h"
#include "gdoi/notify.h"
#include "gdoi/retransmit.h"
#include "gdoi/secure_bytes.h"

namespace gdoi {

enum class Phase1Mode { Main, Aggressive };
const char* phase1_mode_name(Phase1Mode mode);
// The Situation our phase-1 SA payload carries with this DOI: SIT_IDENTITY_ONLY (1) with the
// IPsec DOI, 0 with the GDOI DOI (which defines no situation). Answers may carry either.
uint32_t phase1_situation(uint32_t doi);

struct Phase1Config {
    Phase1Mode mode = Phase1Mode::Main;
    std::vector<IkeProposal> proposals;  // offered in order; the responder picks one
    SecureBytes psk;                     // pre-shared key authentication when `sig` is not set
    // Signature authentication (RFC 2409 §5.1): our certificate and key, the CAs (and CRLs)
    // the key server's certificate must chain to, and the Authentication Method every
    // proposal offers (3 RSA, 9 ECDSA P-256, 10 ECDSA P-384). gdoi/cert_files.h loads it.
    std::optional<crypto::SigCredentials> sig;
    // With `sig`: the identity the key server must present (type and data equal), on top
    // of its certificate naming it. nullopt: any identity its trusted certificate names.
    std::optional<isakmp::IdPayload> expected_peer_id;
    // With `sig` and no `expected_peer_id`: the key server's address (4 or 16 bytes), which its
    // certificate must hold as a subjectAltName iPAddress (a certificate of our CA that names
    // neither is another member's). Empty: not checked (tests of the exchange alone).
    Bytes expected_peer_address;
    // ID_IPV4_ADDR of the member by default; with `sig`, an identity of our certificate
    // (ID_DER_ASN1_DN of its subject, ID_FQDN / address of a subjectAltName).
    isakmp::IdPayload local_id;
    // RFC 6407 §2.1: the phase-1 SA payload carries the GDOI DOI (2); some peers want 1.
    uint32_t sa_doi = 2;
    uint32_t lifetime_seconds = 86400;
    bool initial_contact = true;  // first contact with this key server
    RetransmitPolicy retransmit;
    std::string peer_name;  // for log lines, e.g. "198.51.100.10:848"
    LogSink log;
};

// What phase 1 leaves for the GDOI exchanges that run under it.
struct Phase1Sa {
    isakmp::Cookie initiator_cookie{};
    isakmp::Cookie responder_cookie{};
    IkeProposal proposal;
    IkeSaKeys keys;
    Bytes last_iv;  // last CBC block of phase 1: input of phase2_iv()
    uint64_t lifetime_seconds = 0;
    isakmp::IdPayload peer_id;
    // With signatures: the key server's certificate (and intermediates), verified against our
    // trust store.
    std::shared_ptr<const crypto::PeerCertificate> peer_certificate;
};

enum class Phase1Failure {
    None,
    Timeout,
    NoProposalChosen,
    AuthenticationFailed,  // HASH_R/SIG_R or the key server's certificate did not verify, or
                           // the peer could not verify ours: PSK mismatch, untrusted certificate
    PeerNotification,      // another error notification from the peer
    ProtocolError,         // the peer's answer is malformed or not what we offered
    LocalError,
};

struct ExchangeStep {
    std::optional<Bytes> send;                  // datagram to send now
    std::optional<Clock::time_point> deadline;  // call on_timer() then (nullopt: finished)
};

class Phase1Initiator {
public:
    // Draws the cookie, the nonce and a DH key pair for each group the proposals offer (one
    // for aggressive mode), loads the proposals' algorithms and takes the secure memory of
    // the keys to come: between the messages of the exchange only work that needs the key
    // server's values is left (RFC 2409 §5: g^xy and what follows from it). A failure to
    // make a key pair is reported by start().
    explicit Phase1Initiator(Phase1Config config);

    ExchangeStep start(Clock::time_point now);
    ExchangeStep on_datagram(ByteView datagram, Clock::time_point now);
    ExchangeStep on_timer(Clock::time_point now);

    Clock::time_point next_deadline() const { return retransmit_.deadline(); }

    bool established() const { return state_ == State::Established; }
    bool failed() const { return state_ == State::Failed; }
    bool finished() const { return established() || failed(); }
    Phase1Failure failure() const { return failure_; }
    // Operator-readable reason (what happened, the likely cause, what to check).
    const std::string& failure_message() const { return failure_message_; }
    const Phase1Sa& sa() const { return sa_; }
    const isakmp::Cookie& initiator_cookie() const { return sa_.initiator_cookie; }

private:
    enum class State { Idle, WaitMm2, WaitMm4, WaitMm6, WaitAm2, Established, Failed };

    ExchangeStep send(Bytes message, Clock::time_point now);
    ExchangeStep fail(Phase1Failure why, std::string message);
    ExchangeStep waiting() const;
    ExchangeStep handle_informational(const isakmp::ParsedMessage& m);
    ExchangeStep on_mm2(const isakmp::ParsedMessage& m, Clock::time_point now);
    ExchangeStep on_mm4(const isakmp::ParsedMessage& m, Clock::time_point now);
    ExchangeStep on_mm6(const isakmp::ParsedMessage& m);
    ExchangeStep on_am2(const isakmp::ParsedMessage& m, Clock::time_point now);
    void prepare();
    // Takes the key pair prepared for this group; false if there is none.
    bool use_key_pair(crypto::DhGroup group);
    // Checks the responder's SA answer against what was offered.
    bool accept_chosen_sa(const isakmp::RawPayload* sa_payload);
    bool derive_keys(ByteView peer_ke, ByteView nonce_r);
    // HASH_R (RFC 2409 §5) of the key server's identity payload body (in hash_).
    const SecureBytes& hash_r(ByteView idir_b);
    // The key server's authentication in `payloads` (IDir and HASH_R or CERT + SIG_R); fails
    // the exchange and returns false when it does not hold.
    bool peer_authenticated(const std::vector<isakmp::RawPayload>& payloads, const char* message);
    // Likely cause when the key server refuses our authentication.
    const char* auth_hint() const;
    // "AUTHENTICATION-FAILED (hint)": with certificates, the hint about certificates only.
    std::string peer_notification(uint16_t type) const;
    std::string auth_name() const;  // ", rsa-sig as ID_FQDN gm1.example" (empty with a PSK)
    // [IDii,] HASH_I [, N(INITIAL-CONTACT)] encrypted under the new SA (RFC 2409 §5.4);
    // with signatures [IDii,] CERT, SIG_I [, N(INITIAL-CONTACT)] (§5.1).
    common::Result<Bytes> identity_message(isakmp::ExchangeType exchange);
    isakmp::Header header(isakmp::ExchangeType exchange) const;
    void log(LogLevel level, const std::string& line) const;

    Phase1Config config_;
    State state_ = State::Idle;
    Phase1Failure failure_ = Phase1Failure::None;
    std::string failure_message_;
    Retransmitter retransmit_;
    std::string prepare_error_;
    std::vector<crypto::DhExchange> key_pairs_;  // one per offered group, made by prepare()
    std::optional<crypto::DhExchange> dh_;       // the one in use
    SecureBytes gxy_;                            // g^xy, wiped once the keys are derived
    SecureBytes hash_;                           // HASH_I or HASH_R
    Bytes nonce_i_;
    Bytes sai_b_;  // body of our SA payload, input of HASH_I/HASH_R
    Bytes peer_ke_;
    Bytes last_received_;
    Phase1Sa sa_;
    Bytes iv_;
};

}  // namespace gdoi
