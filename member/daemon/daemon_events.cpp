// The daemon's events for `gdoictl monitor`: what the group sessions report, the TEKs the
// dataplane installed or dropped, the kernel's SA expire events, all published to the
// control server's MonitorHub (control/monitor_hub.h). Facts only, never key material.
#include <algorithm>

#include "daemon/daemon.h"

namespace member {

namespace {

MonitorEvent tek_event(const std::string& group, MonitorEventKind kind, uint32_t spi,
                       std::string reason = {}) {
    MonitorEvent e;
    e.group = group;
    e.kind = kind;
    e.spi = spi;
    e.reason = std::move(reason);
    return e;
}

}  // namespace

MonitorEvent monitor_event_of(const std::string& group, const SessionEvent& s) {
    using Kind = SessionEvent::Kind;
    MonitorEvent e;
    e.group = group;
    // One case per kind: the monitor's kind and the fields it carries.
    switch (s.kind) {
        case Kind::registration_started:
            e.kind = MonitorEventKind::registration_started;
            e.server = s.server;
            break;
        case Kind::registration_done:
            e.kind = MonitorEventKind::registration_done;
            e.server = s.server;
            e.seq = s.seq;
            e.teks = s.teks;
            break;
        case Kind::registration_failed:
            e.kind = MonitorEventKind::registration_failed;
            e.server = s.server;
            e.reason = s.reason;
            break;
        case Kind::server_failover:
            e.kind = MonitorEventKind::server_failover;
            e.from = s.server;
            e.to = s.next_server;
            break;
        case Kind::rekey_accepted:
            e.kind = MonitorEventKind::rekey_accepted;
            e.server = s.server;
            e.seq = s.seq;
            e.spis_added = s.spis_added;
            e.spis_removed = s.spis_removed;
            break;
        case Kind::rekey_rejected:
            e.kind = MonitorEventKind::rekey_rejected;
            e.reason = s.reason;
            e.detail = s.detail;
            break;
        case Kind::recovery_probe:
            e.kind = MonitorEventKind::recovery_probe;
            e.probe = s.probe;
            e.reason = s.reason;
            break;
    }
    return e;
}

void Daemon::publish(MonitorEvent event) {
    if (!control_) return;
    event.time = std::chrono::system_clock::now();
    control_->monitor().publish(event);
}

void Daemon::publish_tek_changes(Group& group, const gdoi::GroupState& applied) {
    std::vector<uint32_t> now;
    for (const auto& t : applied.teks) now.push_back(t.spi);
    if (sa_owner_) {  // a dataplane that installs SAs (not --no-dataplane)
        for (uint32_t spi : now)
            if (std::find(group.installed_spis.begin(), group.installed_spis.end(), spi) ==
                group.installed_spis.end())
                publish(tek_event(group.config.name, MonitorEventKind::tek_installed, spi));
        for (uint32_t spi : group.installed_spis)
            if (std::find(now.begin(), now.end(), spi) == now.end())
                publish(tek_event(group.config.name, MonitorEventKind::tek_retired, spi));
    }
    group.installed_spis = std::move(now);
}

void Daemon::publish_teks_removed(Group& group, const std::string& why) {
    if (sa_owner_)
        for (uint32_t spi : group.installed_spis)
            publish(tek_event(group.config.name, MonitorEventKind::tek_retired, spi, why));
    group.installed_spis.clear();
}

}  // namespace member
