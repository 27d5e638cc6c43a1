// One group's life in the member: phase 1 -> GROUPKEY-PULL -> registered;
// rekeys by GROUPKEY-PUSH; re-registration before the keys expire when no push came;
// failover to the next key server (in configured order, up to 4); recovery probe
// (re-registration after 10, 20, 40, 80, 160, 320 s) while the dataplane reports
// unknown SPIs or one-way traffic. Sans-IO: datagrams and time in, datagrams and
// new GroupStates out; the daemon owns sockets, timers and the kernel.
#pragma once

#include <array>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gdoi/groupkey_pull.h"
#include "gdoi/groupkey_push.h"
#include "gdoi/phase1.h"
#include "gdoi/udp_socket.h"
#include "session/log_throttle.h"
#include "session/push_replay_filter.h"
#include "session/session_event.h"
#include "session/tek_retirement.h"

namespace member {

using gdoi::Clock;

struct SessionConfig {
    std::string name;
    uint32_t group_id = 0;
    std::vector<gdoi::Endpoint> servers;  // tried in order
    gdoi::Phase1Config phase1;            // mode, proposals, PSK, local id, DOI, lifetime
    gdoi::RetransmitPolicy retransmit;    // per exchange
    std::function<std::string(const gdoi::Tek&)> accept_tek;
    bool recovery_probe = true;
    // Re-register when this fraction of the shortest key lifetime has passed.
    double reregister_fraction = 0.85;
    // Wait before starting over when every key server failed (doubles up to max).
    std::chrono::seconds retry_first{10};
    std::chrono::seconds retry_max{300};
    gdoi::LogSink log;
    // Registrations, failovers, rekeys accepted or rejected, recovery probes (may be empty).
    SessionEventSink on_event;
};

enum class SessionState { Idle, Phase1, Registering, Registered, WaitingRetry };
const char* session_state_name(SessionState s);

struct Outgoing {
    gdoi::Endpoint to;
    gdoi::Bytes datagram;
};

struct SessionOutput {
    std::vector<Outgoing> send;
    // A new group state to install (after a registration or an accepted push).
    std::optional<gdoi::GroupState> install;
};

struct SessionCounters {
    uint64_t registrations = 0;
    uint64_t registration_failures = 0;
    uint64_t rekeys_accepted = 0;
    std::array<uint64_t, gdoi::kPushRejectReasons> rekeys_rejected{};
    uint64_t acks_sent = 0;
    uint64_t recovery_probes = 0;
    // Kernel expire events for the group's SAs (sa_expiry.h).
    uint64_t soft_expires = 0;
    uint64_t hard_expires = 0;
};

// Recovery probe schedule: pull again after 10, 20, 40, 80, 160, 320 s.
inline constexpr std::array<std::chrono::seconds, 6> kRecoveryProbeIntervals{
    std::chrono::seconds(10), std::chrono::seconds(20),  std::chrono::seconds(40),
    std::chrono::seconds(80), std::chrono::seconds(160), std::chrono::seconds(320)};

// A key server as its last phase 1 authenticated it: the identity it sent (ID payload) and,
// with signatures, its certificate as our trust store verified it.
struct AuthenticatedServer {
    gdoi::isakmp::IdPayload id;
    std::shared_ptr<const gdoi::crypto::PeerCertificate> certificate;  // nullptr: pre-shared key
};

class GroupSession {
public:
    explicit GroupSession(SessionConfig config);

    SessionOutput start(Clock::time_point now);
    // True when the datagram belongs to this group (its exchange's cookies or its KEK SPI).
    bool owns(const gdoi::isakmp::Header& header) const;
    SessionOutput on_datagram(gdoi::ByteView datagram, const gdoi::Endpoint& from, Clock::time_point now);
    SessionOutput on_timer(Clock::time_point now);
    Clock::time_point next_deadline() const;

    // A push the daemon could not hand to any exchange (unparseable header, or cookies
    // naming no KEK): counted here so the operator sees it (counted by reason).
    bool is_kek_cookie_pair(gdoi::ByteView first16) const;
    bool keyed() const { return keyed_; }
    // Counted every time; logged at most once per 10 s per reason (log_throttle.h). A push
    // under a KEK we do not hold (unknown-kek: we missed a KEK rekey) schedules a prompt
    // re-registration: at once the first time, then after retry_first doubling up to
    // retry_max while such pushes keep coming and none is accepted.
    void record_push_reject(gdoi::PushReject why, const std::string& message, Clock::time_point now);
    std::optional<Clock::time_point> kek_resync_at() const { return kek_resync_at_; }

    // gdoictl register GROUP: a new registration now (keys stay until it succeeds).
    SessionOutput force_register(Clock::time_point now);
    // The dataplane could not install the keys of the last output (the group is fail-closed):
    // register again after retry_first, doubling up to retry_max while it keeps failing.
    void install_failed(Clock::time_point now, const std::string& why);
    void install_succeeded() { install_retry_delay_ = config_.retry_first; }
    // The dataplane saw an unknown SPI or one-way traffic for this group; `reason` is logged.
    void recovery_trigger(Clock::time_point now, const std::string& reason);
    void recovery_clear();
    // The dataplane saw nothing suspicious lately: ends a probe sequence once at least one
    // probe ran (a single burst still gets its first probe).
    void recovery_quiet();
    bool recovery_active() const { return probe_at_.has_value(); }
    // The kernel reported the soft or hard lifetime of one of the group's SAs (counted only;
    // the daemon decides whether to register again, sa_expiry.h).
    void record_sa_expire(bool hard);

    SessionState state() const { return state_; }
    const std::string& detail() const { return detail_; }
    const SessionConfig& config() const { return config_; }
    const gdoi::GroupState* group_state() const { return keyed_ ? &group_ : nullptr; }
    size_t server_index() const { return server_; }
    const std::vector<std::string>& server_errors() const { return server_errors_; }
    const std::vector<uint64_t>& server_failures() const { return server_failures_; }
    // Per configured key server; nullopt: no phase 1 with it succeeded yet.
    const std::vector<std::optional<AuthenticatedServer>>& authenticated_servers() const {
        return authenticated_;
    }
    // New credentials from a reload (ike.ca / ike.crl contents, or our renewed certificate at the
    // same path), without a restart. The next phase 1 uses them; with new CA/CRL files every key
    // server's certificate authenticated before is checked again now: one that no longer passes
    // loses its authenticated identity and gets the reason as its last error, and if our keys
    // came from it its pushes are refused (untrusted-server) while the keys stay in use. The
    // registration starts over then, when a phase 1 is in flight, when our certificate changed
    // and when a retry was waiting.
    SessionOutput replace_credentials(gdoi::crypto::SigCredentials credentials,
                                      gdoi::isakmp::IdPayload local_id, Clock::time_point now);
    const SessionCounters& counters() const { return counters_; }
    Clock::time_point state_since() const { return since_; }
    std::optional<Clock::time_point> last_rekey() const { return last_rekey_; }
    std::optional<Clock::time_point> reregister_at() const { return reregister_at_; }
    // Set when the keys ran low without a rekey although the key server handed out a KEK (it
    // promised pushes); cleared by the next accepted push. Empty: nothing to say.
    const std::string& rekey_note() const { return rekey_note_; }
    std::optional<Clock::time_point> keys_installed_at() const { return keyed_at_; }

private:
    SessionOutput begin_registration(Clock::time_point now);
    SessionOutput drive(gdoi::ExchangeStep step, Clock::time_point now);
    SessionOutput after_exchange(Clock::time_point now);
    SessionOutput server_failed(std::string why, Clock::time_point now);
    void enter(SessionState s, Clock::time_point now, std::string detail);
    void schedule_reregistration(Clock::time_point now);
    void missed_kek_rekey(Clock::time_point now);
    SessionOutput handle_push(gdoi::ByteView datagram, const gdoi::Endpoint& from, Clock::time_point now);
    void log(gdoi::LogLevel level, const std::string& line) const;
    void emit(SessionEvent event) const;

    SessionConfig config_;
    gdoi::LogSink group_log_;  // config_.log, each line ending with the group's fields (gdoi/log.h)
    SessionState state_ = SessionState::Idle;
    std::string detail_;
    Clock::time_point since_{};
    size_t server_ = 0;
    size_t servers_tried_ = 0;
    std::chrono::seconds retry_delay_;
    std::chrono::seconds install_retry_delay_;
    LogThrottle reject_log_;
    PushReplayFilter replay_filter_;  // checked before a push is decrypted
    std::optional<Clock::time_point> retry_at_;
    std::optional<Clock::time_point> reregister_at_;
    std::string rekey_note_;
    bool pushed_since_registration_ = false;
    std::optional<Clock::time_point> probe_at_;
    std::optional<Clock::time_point> kek_resync_at_;  // re-registration after an unknown-KEK push
    std::chrono::seconds kek_resync_delay_{0};
    TekRetirement retirement_;  // TEKs the key server supersedes without Delete
    size_t probe_step_ = 0;
    std::string probe_reason_;  // what started the recovery probes
    std::unique_ptr<gdoi::Phase1Initiator> phase1_;
    std::unique_ptr<gdoi::GroupkeyPullInitiator> pull_;
    std::optional<gdoi::Phase1Sa> registration_sa_;  // phase 1 of the last registration (ACK keys)
    gdoi::GroupState group_;
    bool keyed_ = false;
    std::optional<Clock::time_point> keyed_at_;
    std::optional<Clock::time_point> last_rekey_;
    std::vector<std::string> server_errors_;
    std::vector<uint64_t> server_failures_;
    std::vector<std::optional<AuthenticatedServer>> authenticated_;
    size_t keyed_from_ = 0;       // the key server of the last registration (our KEK's)
    bool kek_untrusted_ = false;  // reloaded CA/CRL files refuse it: its pushes are refused
    SessionCounters counters_;
};

}  // namespace member
