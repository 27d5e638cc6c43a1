// The daemon's watch on the kernel for signs that a group's keys are stale or about to run
// out: ESP for unknown SPIs and one-way traffic start the recovery probe; the
// soft lifetime of a group's newest SA starts an early registration (sa_expiry.h).
#include <variant>

#include "daemon/daemon.h"
#include "daemon/logging.h"
#include "watch/sa_expiry.h"
#include "watch/xfrm_stats.h"

namespace member {

using gdoi::LogLevel;

bool Daemon::unknown_spis_rising() {
    auto text = read_xfrm_stat();
    auto count = text ? xfrm_stat_value(*text, "XfrmInNoStates") : std::nullopt;
    if (!count) return false;
    const bool rising = last_unknown_spi_count_ && *count > *last_unknown_spi_count_;
    if (rising)
        log_line(LogLevel::Warning, std::to_string(*count - *last_unknown_spi_count_) +
                                        " ESP packet(s) for unknown SPIs in the last " +
                                        std::to_string(kStatsInterval.count()) + " s (XfrmInNoStates)");
    last_unknown_spi_count_ = count;
    return rising;
}

bool Daemon::outbound_only(Group& group) {
    if (!sa_owner_) return false;  // no kernel SAs, no counters
    auto traffic = dataplane_->sa_traffic(group.config);
    if (!traffic) {
        log_line(LogLevel::Debug, gdoi::group_line(group.config.name, group.config.id,
                                                   "reading SA counters: " + traffic.error().message));
        group.one_way.reset();
        return false;
    }
    return group.one_way.observe(*traffic);
}

namespace {
constexpr std::chrono::seconds kFirstLeakHold{60};
}  // namespace

void Daemon::hold_fail_closed(Group& group, Clock::time_point now, const std::string& why) {
    constexpr std::chrono::seconds kMaxLeakHold{900};
    group.held_until = now + group.leak_hold;
    log_line(LogLevel::Error, gdoi::group_line(group.config.name, group.config.id,
                                               "held fail-closed for " +
                                                   std::to_string(group.leak_hold.count()) + " s: " + why));
    group.leak_hold = std::min(group.leak_hold * 2, kMaxLeakHold);
    group.health.reset();  // judged afresh once keyed again: a leak that goes on holds it longer
    publish_teks_removed(group, "held fail-closed: " + why);
    if (auto s = dataplane_->reset_group(group.config); !s)
        log_line(LogLevel::Error, gdoi::group_line(group.config.name, group.config.id, s.error().message));
    group.session->install_failed(now, "leak suspected");
}

void Daemon::check_health(Group& group, Clock::time_point now) {
    auto counters = dataplane_->health_counters(group.config);
    if (!counters) {
        log_line(LogLevel::Debug, gdoi::group_line(group.config.name, group.config.id,
                                                   "reading health counters: " + counters.error().message));
        return;
    }
    if (!*counters) return;
    auto change = group.health.observe(**counters, group.session->keyed());
    if (!change) return;
    log_line(change->problem ? LogLevel::Warning : LogLevel::Info,
             gdoi::group_line(group.config.name, group.config.id, change->message));
    if (change->leak) hold_fail_closed(group, now, change->message);
    if (!change->problem) group.leak_hold = kFirstLeakHold;  // traffic is fine again
}

void Daemon::check_traffic(Clock::time_point now) {
    next_stats_check_ = now + kStatsInterval;
    const bool unknown_spis = unknown_spis_rising();
    dataplane_->follow_wan_mtu();
    for (auto& [name, group] : groups_) {
        check_health(*group, now);
        if (!group->session->keyed()) {
            group->one_way.reset();
            continue;
        }
        // Packets for SPIs we lack: the key server rekeyed and we missed it. Packets sent but
        // none received: the others no longer accept our keys. The probe re-registers on its
        // 10..320 s schedule while this lasts and stops when it ends.
        const bool one_way = outbound_only(*group);
        if (unknown_spis)
            group->session->recovery_trigger(now, "ESP for unknown SPIs");
        else if (one_way)
            group->session->recovery_trigger(
                now, "outbound-only traffic: sending, nothing received for at least " +
                         std::to_string(kOneWayQuietIntervals * kStatsInterval.count()) + " s");
        else
            group->session->recovery_quiet();
    }
}

bool Daemon::open_sa_events() {
    sa_owner_ = dataplane_->sa_owner_tag();
    if (!sa_owner_) return false;
    auto sock = xfrm::EventSocket::open(/*expire=*/true, /*acquire=*/false);
    if (!sock) {
        log_line(LogLevel::Warning, "XFRM expire events unavailable (" + sock.error().message +
                                        "): keys are renewed on the registration timer only");
        return false;
    }
    sa_events_.emplace(std::move(sock).value());
    return true;
}

void Daemon::on_sa_events(Clock::time_point now) {
    auto events = sa_events_->read();
    if (!events) {
        // ENOBUFS: the kernel dropped events. The registration timer still renews the keys.
        log_line(LogLevel::Warning, "XFRM expire events: " + events.error().message);
        return;
    }
    for (const auto& event : *events) {
        const auto* expire = std::get_if<xfrm::SaExpire>(&event);
        if (!expire) continue;
        std::vector<ExpiryCandidate> candidates;
        for (const auto& [name, group] : groups_) {
            const bool holds = dataplane_->tek_role(group->config, expire->sa.spi).installed();
            candidates.push_back({name, holds, group->session->group_state()});
        }
        auto decision = decide_sa_expire(*expire, *sa_owner_, candidates);
        if (!decision) continue;
        Group& group = *groups_.at(decision->group);
        group.session->record_sa_expire(decision->hard);
        MonitorEvent expired;
        expired.group = decision->group;
        expired.kind = decision->hard ? MonitorEventKind::sa_hard_expire : MonitorEventKind::sa_soft_expire;
        expired.spi = expire->sa.spi;
        expired.detail = decision->message;
        publish(std::move(expired));
        log_line(decision->hard ? LogLevel::Warning : LogLevel::Info,
                 decision->message + gdoi::log_fields({group.config.name, group.config.id, expire->sa.spi}));
        if (decision->reregister) handle_output(group, group.session->force_register(now), now);
    }
}

}  // namespace member
