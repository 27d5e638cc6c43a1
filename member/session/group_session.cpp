#include "session/group_session.h"

#include <algorithm>

#include "common/hex_spi.h"
#include "gdoi/groupkey_push_ack.h"

namespace member {

using gdoi::LogLevel;

const char* session_state_name(SessionState s) {
    switch (s) {
        case SessionState::Idle:
            return "idle";
        case SessionState::Phase1:
            return "phase1";
        case SessionState::Registering:
            return "registering";
        case SessionState::Registered:
            return "registered";
        case SessionState::WaitingRetry:
            return "waiting-retry";
    }
    return "?";
}

GroupSession::GroupSession(SessionConfig config)
    : config_(std::move(config)),
      group_log_(gdoi::with_group_fields(config_.log, config_.name, config_.group_id)),
      retry_delay_(config_.retry_first),
      install_retry_delay_(config_.retry_first) {
    server_errors_.resize(config_.servers.size());
    server_failures_.resize(config_.servers.size());
    authenticated_.resize(config_.servers.size());
}

void GroupSession::log(LogLevel level, const std::string& line) const {
    if (group_log_)
        group_log_(level, "group " + config_.name + " (" + std::to_string(config_.group_id) + "): " + line);
}

void GroupSession::enter(SessionState s, Clock::time_point now, std::string detail) {
    state_ = s;
    since_ = now;
    detail_ = std::move(detail);
}

void GroupSession::emit(SessionEvent event) const {
    if (config_.on_event) config_.on_event(event);
}

SessionOutput GroupSession::start(Clock::time_point now) { return begin_registration(now); }

SessionOutput GroupSession::force_register(Clock::time_point now) {
    if (state_ == SessionState::Phase1 || state_ == SessionState::Registering) return {};
    log(LogLevel::Info, "registration requested");
    return begin_registration(now);
}

SessionOutput GroupSession::begin_registration(Clock::time_point now) {
    if (config_.servers.empty()) {
        enter(SessionState::WaitingRetry, now, "no key server configured");
        return {};
    }
    retry_at_.reset();
    gdoi::Phase1Config p1 = config_.phase1;
    p1.retransmit = config_.retransmit;
    p1.peer_name = config_.servers[server_].to_string();
    if (p1.sig) {  // without a pin, the key server's certificate must name the address we reach
        p1.expected_peer_address = gdoi::isakmp::address_id(config_.servers[server_].address()).data;
    }
    p1.log = group_log_;
    phase1_ = std::make_unique<gdoi::Phase1Initiator>(std::move(p1));
    pull_.reset();
    enter(SessionState::Phase1, now, "phase 1 with " + config_.servers[server_].to_string());
    SessionEvent started;
    started.kind = SessionEvent::Kind::registration_started;
    started.server = config_.servers[server_].to_string();
    emit(std::move(started));
    return drive(phase1_->start(now), now);
}

SessionOutput GroupSession::drive(gdoi::ExchangeStep step, Clock::time_point now) {
    SessionOutput out;
    if (step.send) out.send.push_back({config_.servers[server_], std::move(*step.send)});
    SessionOutput next = after_exchange(now);
    for (auto& s : next.send) out.send.push_back(std::move(s));
    out.install = std::move(next.install);
    return out;
}

SessionOutput GroupSession::after_exchange(Clock::time_point now) {
    if (state_ == SessionState::Phase1 && phase1_ && phase1_->finished()) {
        if (phase1_->failed()) {
            // A key server that no longer authenticates shows no identity any more.
            if (phase1_->failure() == gdoi::Phase1Failure::AuthenticationFailed)
                authenticated_[server_].reset();
            return server_failed(phase1_->failure_message(), now);
        }
        registration_sa_ = phase1_->sa();
        authenticated_[server_] =
            AuthenticatedServer{registration_sa_->peer_id, registration_sa_->peer_certificate};
        gdoi::PullConfig pc;
        pc.group_id = config_.group_id;
        pc.retransmit = config_.retransmit;
        pc.accept_tek = config_.accept_tek;
        pc.peer_name = config_.servers[server_].to_string();
        pc.log = group_log_;
        pull_ = std::make_unique<gdoi::GroupkeyPullInitiator>(*registration_sa_, std::move(pc));
        phase1_.reset();
        enter(SessionState::Registering, now, "GROUPKEY-PULL with " + config_.servers[server_].to_string());
        return drive(pull_->start(now), now);
    }
    if (state_ == SessionState::Registering && pull_ && pull_->finished()) {
        if (pull_->failed()) return server_failed(pull_->failure_message(), now);
        group_ = pull_->take_group_state();
        pull_.reset();
        keyed_ = true;
        keyed_at_ = now;
        servers_tried_ = 0;
        retry_delay_ = config_.retry_first;
        server_errors_[server_].clear();
        kek_resync_at_.reset();  // this registration brought the current KEK
        keyed_from_ = server_;
        kek_untrusted_ = false;
        retirement_.on_registration(group_, now);
        ++counters_.registrations;
        pushed_since_registration_ = false;
        enter(SessionState::Registered, now,
              "registered with " + config_.servers[server_].to_string() + ", SEQ " +
                  std::to_string(group_.sequence));
        log(LogLevel::Info, detail_ + ", " + std::to_string(group_.teks.size()) + " TEK(s)");
        SessionEvent done;
        done.kind = SessionEvent::Kind::registration_done;
        done.server = config_.servers[server_].to_string();
        done.seq = group_.sequence;
        done.teks = group_.teks.size();
        emit(std::move(done));
        schedule_reregistration(now);
        SessionOutput out;
        out.install = group_;
        return out;
    }
    return {};
}

SessionOutput GroupSession::replace_credentials(gdoi::crypto::SigCredentials credentials,
                                                gdoi::isakmp::IdPayload local_id, Clock::time_point now) {
    if (!config_.phase1.sig) return {};
    const bool trust_changed = credentials.trust->fingerprint() != config_.phase1.sig->trust->fingerprint();
    const bool ours_changed = !gdoi::crypto::same_certificate_chain(credentials, *config_.phase1.sig) ||
                              local_id != config_.phase1.local_id;
    config_.phase1.sig = std::move(credentials);
    config_.phase1.local_id = std::move(local_id);
    bool keys_refused = false;
    for (size_t i = 0; trust_changed && i < authenticated_.size(); ++i) {
        if (!authenticated_[i] || !authenticated_[i]->certificate) continue;
        const auto& peer = *authenticated_[i]->certificate;
        auto still = config_.phase1.sig->trust->verify(peer.certificate, peer.intermediates);
        if (still) continue;
        server_errors_[i] = still.error().message;
        authenticated_[i].reset();
        log(LogLevel::Error,
            "key server " + config_.servers[i].to_string() +
                " is no longer trusted under the reloaded CA/CRL files: " + still.error().message);
        if (keyed_ && i == keyed_from_) keys_refused = kek_untrusted_ = true;
    }
    // Start over when our keys came from a key server no longer trusted, when a phase 1 in flight
    // checks with the old files, when the key servers are to see our new certificate, and when a
    // retry was waiting (the change may be the operator's fix: try it now, not at the back-off).
    std::string why;
    if (keys_refused)
        why =
            "the key server our keys came from is no longer trusted: its pushes are refused, the keys stay "
            "in "
            "use until a trusted key server answers or they expire";
    else if (phase1_ || pull_)
        why = "the registration in flight starts over under the reloaded credentials";
    else if (ours_changed)
        why = "our certificate changed (" + config_.phase1.sig->certificate->subject() +
              "): the key servers get it now, the keys stay in use meanwhile";
    else if (retry_at_ || !keyed_)
        why = "trying the key servers again under the reloaded CA/CRL files";
    if (why.empty()) return {};
    log(keys_refused ? LogLevel::Warning : LogLevel::Info, "registering again: " + why);
    phase1_.reset();
    pull_.reset();
    servers_tried_ = 0;
    return begin_registration(now);
}

SessionOutput GroupSession::server_failed(std::string why, Clock::time_point now) {
    ++counters_.registration_failures;
    server_errors_[server_] = why;
    ++server_failures_[server_];
    log(LogLevel::Warning, "key server " + config_.servers[server_].to_string() + " failed: " + why);
    SessionEvent failed;
    failed.kind = SessionEvent::Kind::registration_failed;
    failed.server = config_.servers[server_].to_string();
    failed.reason = why;
    emit(failed);
    phase1_.reset();
    pull_.reset();
    ++servers_tried_;
    server_ = (server_ + 1) % config_.servers.size();
    if (servers_tried_ < config_.servers.size()) {
        log(LogLevel::Info, "trying the next key server " + config_.servers[server_].to_string());
        if (config_.servers.size() > 1) {
            SessionEvent failover;
            failover.kind = SessionEvent::Kind::server_failover;
            failover.server = failed.server;
            failover.next_server = config_.servers[server_].to_string();
            emit(std::move(failover));
        }
        return begin_registration(now);
    }
    // Every server failed: keep the keys we have (if any) and try again later.
    servers_tried_ = 0;
    retry_at_ = now + retry_delay_;
    enter(keyed_ ? SessionState::Registered : SessionState::WaitingRetry, now,
          "every key server failed (last: " + why + "); retrying in " + std::to_string(retry_delay_.count()) +
              " s");
    log(LogLevel::Error, detail_);
    retry_delay_ = std::min(retry_delay_ * 2, config_.retry_max);
    return {};
}

void GroupSession::install_failed(Clock::time_point now, const std::string& why) {
    retry_at_ = now + install_retry_delay_;
    enter(state_, now,
          "keys not installed (" + why + "): fail-closed; registering again in " +
              std::to_string(install_retry_delay_.count()) + " s");
    log(LogLevel::Error, detail_);
    install_retry_delay_ = std::min(install_retry_delay_ * 2, config_.retry_max);
}

void GroupSession::schedule_reregistration(Clock::time_point now) {
    uint64_t shortest = 0;
    auto consider = [&](uint64_t seconds) {
        if (seconds != 0 && (shortest == 0 || seconds < shortest)) shortest = seconds;
    };
    if (group_.kek) consider(group_.kek->lifetime_seconds);
    for (const auto& t : group_.teks) consider(t.lifetime_seconds);
    if (shortest == 0) {
        reregister_at_.reset();
        return;
    }
    auto delay = std::chrono::milliseconds(
        static_cast<int64_t>(static_cast<double>(shortest) * 1000.0 * config_.reregister_fraction));
    reregister_at_ = now + delay;
}

bool GroupSession::owns(const gdoi::isakmp::Header& header) const {
    if (phase1_ && header.initiator_cookie == phase1_->initiator_cookie()) return true;
    if (pull_ && registration_sa_ && header.initiator_cookie == registration_sa_->initiator_cookie)
        return true;
    if (keyed_ && group_.kek && header.exchange == gdoi::isakmp::ExchangeType::GroupkeyPush) {
        return std::equal(header.initiator_cookie.begin(), header.initiator_cookie.end(),
                          group_.kek->spi.begin()) &&
               std::equal(header.responder_cookie.begin(), header.responder_cookie.end(),
                          group_.kek->spi.begin() + 8);
    }
    return false;
}

SessionOutput GroupSession::on_datagram(gdoi::ByteView datagram, const gdoi::Endpoint& from,
                                        Clock::time_point now) {
    auto header = gdoi::isakmp::parse_header(datagram);
    if (!header) return {};
    if (header->exchange == gdoi::isakmp::ExchangeType::GroupkeyPush) return handle_push(datagram, from, now);
    if (!(from == config_.servers[server_])) return {};
    if (state_ == SessionState::Phase1 && phase1_) return drive(phase1_->on_datagram(datagram, now), now);
    if (state_ == SessionState::Registering && pull_) return drive(pull_->on_datagram(datagram, now), now);
    return {};
}

bool GroupSession::is_kek_cookie_pair(gdoi::ByteView first16) const {
    return keyed_ && group_.kek && first16.size() >= 16 &&
           std::equal(group_.kek->spi.begin(), group_.kek->spi.end(), first16.begin());
}

void GroupSession::record_push_reject(gdoi::PushReject why, const std::string& message,
                                      Clock::time_point now) {
    ++counters_.rekeys_rejected[static_cast<size_t>(why)];
    if (auto suffix = reject_log_.admit(gdoi::push_reject_name(why), now))
        log(LogLevel::Warning,
            std::string("rekey rejected (") + gdoi::push_reject_name(why) + "): " + message + *suffix);
    SessionEvent rejected;
    rejected.kind = SessionEvent::Kind::rekey_rejected;
    rejected.reason = gdoi::push_reject_name(why);
    rejected.detail = message;
    emit(std::move(rejected));
    if (why == gdoi::PushReject::UnknownKek) missed_kek_rekey(now);
}

void GroupSession::missed_kek_rekey(Clock::time_point now) {
    if (!keyed_ || kek_resync_at_ || state_ == SessionState::Phase1 || state_ == SessionState::Registering)
        return;
    kek_resync_at_ = now + kek_resync_delay_;
    log(LogLevel::Warning,
        "a rekey came under a KEK we do not hold (a KEK rekey missed?): registering again in " +
            std::to_string(kek_resync_delay_.count()) + " s");
    kek_resync_delay_ = kek_resync_delay_.count() == 0 ? config_.retry_first
                                                       : std::min(kek_resync_delay_ * 2, config_.retry_max);
}

SessionOutput GroupSession::handle_push(gdoi::ByteView datagram, const gdoi::Endpoint& from,
                                        Clock::time_point now) {
    if (!keyed_) return {};
    if (kek_untrusted_) {
        record_push_reject(gdoi::PushReject::UntrustedServer,
                           "the KEK came from key server " + config_.servers[keyed_from_].to_string() +
                               ", which the reloaded CA/CRL files no longer trust; a registration with a "
                               "trusted key server replaces it",
                           now);
        return {};
    }
    const gdoi::ByteView kek_spi = group_.kek ? gdoi::ByteView(group_.kek->spi) : gdoi::ByteView();
    if (replay_filter_.seen(kek_spi, group_.sequence, datagram)) {
        record_push_reject(gdoi::PushReject::Replay, "the same datagram as one already processed", now);
        return {};
    }
    // bench/vm.sh times a push from here: before, its way to the daemon; after, its decryption,
    // signature check and the new state (up to the "rekeyed" line).
    log(LogLevel::Debug, "push of " + std::to_string(datagram.size()) + " octets: processing");
    auto outcome = gdoi::process_push(datagram, group_);
    replay_filter_.remember(kek_spi, group_.sequence, datagram);  // the same datagram: the same answer
    if (!outcome.accepted()) {
        record_push_reject(outcome.reject, outcome.message, now);
        return {};
    }
    ++counters_.rekeys_accepted;
    kek_resync_delay_ = std::chrono::seconds(0);  // the KEK is in step again
    last_rekey_ = now;
    pushed_since_registration_ = true;
    rekey_note_.clear();
    keyed_at_ = now;  // lifetimes shown count from the newest keys
    SessionOutput out;
    auto header = gdoi::isakmp::parse_header(datagram);
    if (group_.kek && group_.kek->ack_requested && registration_sa_) {
        out.send.push_back({from, gdoi::build_push_ack(*registration_sa_, *group_.kek, header->message_id,
                                                       outcome.state.sequence, config_.phase1.local_id)});
        ++counters_.acks_sent;
    }
    std::vector<uint32_t> new_spis;
    for (const auto& t : outcome.state.teks)
        if (std::none_of(group_.teks.begin(), group_.teks.end(),
                         [&](const gdoi::Tek& o) { return o.spi == t.spi; }))
            new_spis.push_back(t.spi);
    SessionEvent accepted;
    accepted.kind = SessionEvent::Kind::rekey_accepted;
    accepted.server = from.to_string();
    accepted.seq = outcome.state.sequence;
    accepted.spis_added = new_spis;
    for (const auto& t : group_.teks)
        if (std::none_of(outcome.state.teks.begin(), outcome.state.teks.end(),
                         [&](const gdoi::Tek& n) { return n.spi == t.spi; }))
            accepted.spis_removed.push_back(t.spi);
    group_ = std::move(outcome.state);
    retirement_.on_push(group_, new_spis, now);
    detail_ = "rekeyed, SEQ " + std::to_string(group_.sequence);
    log(LogLevel::Info, detail_ + ", " + std::to_string(group_.teks.size()) + " TEK(s)" +
                            (outcome.note.empty() ? std::string() : "; " + outcome.note));
    emit(std::move(accepted));
    schedule_reregistration(now);
    recovery_clear();
    out.install = group_;
    return out;
}

SessionOutput GroupSession::on_timer(Clock::time_point now) {
    if (state_ == SessionState::Phase1 && phase1_) return drive(phase1_->on_timer(now), now);
    if (state_ == SessionState::Registering && pull_) return drive(pull_->on_timer(now), now);
    if (keyed_ && retirement_.next_deadline() <= now) {
        auto gone = retirement_.retire(group_, now);
        if (!gone.empty()) {
            std::string spis;
            for (uint32_t spi : gone) spis += " " + common::hex_spi(spi);
            log(LogLevel::Info, "retired TEK(s)" + spis +
                                    " (superseded or expired, no Delete from the key server); " +
                                    std::to_string(group_.teks.size()) + " TEK(s) left");
            group_.deleted_tek_spis = std::move(gone);
            SessionOutput out;
            out.install = group_;
            return out;
        }
    }
    if (retry_at_ && now >= *retry_at_) {
        retry_at_.reset();
        return begin_registration(now);
    }
    if (kek_resync_at_ && now >= *kek_resync_at_) {
        kek_resync_at_.reset();
        log(LogLevel::Info, "registering again to learn the key server's current KEK");
        return begin_registration(now);
    }
    if (probe_at_ && now >= *probe_at_) {
        ++counters_.recovery_probes;
        ++probe_step_;
        probe_at_ = probe_step_ < kRecoveryProbeIntervals.size()
                        ? std::optional<Clock::time_point>(now + kRecoveryProbeIntervals[probe_step_])
                        : std::nullopt;
        log(LogLevel::Info, "recovery probe " + std::to_string(probe_step_) + ": registering again");
        SessionEvent probe;
        probe.kind = SessionEvent::Kind::recovery_probe;
        probe.probe = probe_step_;
        probe.reason = probe_reason_;
        emit(std::move(probe));
        return begin_registration(now);
    }
    if (reregister_at_ && now >= *reregister_at_) {
        reregister_at_.reset();
        log(LogLevel::Info, "keys expire soon and no rekey came: registering again");
        if (group_.kek && !pushed_since_registration_) {
            rekey_note_ =
                "no rekey arrived before the keys ran low although the key server sent a KEK: the router "
                "may drop its pushes (input: accept UDP from the key servers to the member's local-port; "
                "pushes are unsolicited, no conntrack entry admits them)";
            log(LogLevel::Warning, rekey_note_);
        }
        return begin_registration(now);
    }
    return {};
}

void GroupSession::recovery_trigger(Clock::time_point now, const std::string& reason) {
    if (!config_.recovery_probe || probe_at_) return;
    probe_step_ = 0;
    probe_reason_ = reason;
    probe_at_ = now + kRecoveryProbeIntervals[0];
    log(LogLevel::Warning, "traffic suggests stale keys (" + reason + "): recovery probe in " +
                               std::to_string(kRecoveryProbeIntervals[0].count()) + " s");
}

void GroupSession::record_sa_expire(bool hard) { ++(hard ? counters_.hard_expires : counters_.soft_expires); }

void GroupSession::recovery_quiet() {
    if (probe_at_ && probe_step_ > 0) recovery_clear();
}

void GroupSession::recovery_clear() {
    probe_at_.reset();
    probe_step_ = 0;
}

Clock::time_point GroupSession::next_deadline() const {
    Clock::time_point d = Clock::time_point::max();
    if (state_ == SessionState::Phase1 && phase1_) d = std::min(d, phase1_->next_deadline());
    if (state_ == SessionState::Registering && pull_) d = std::min(d, pull_->next_deadline());
    for (const auto& t : {retry_at_, probe_at_, reregister_at_})
        if (t) d = std::min(d, *t);
    if (state_ != SessionState::Phase1 && state_ != SessionState::Registering) {
        if (kek_resync_at_) d = std::min(d, *kek_resync_at_);
        if (keyed_) d = std::min(d, retirement_.next_deadline());
    }
    return d;
}

}  // namespace member
