// The text form of a monitor event (monitor_text.h).
#include "gdoictl/monitor_text.h"

#include "common/hex_spi.h"
#include "gdoictl/status_text.h"

namespace member {
namespace {

std::string spis(const std::vector<uint32_t>& list, char sign) {
    std::string out;
    for (uint32_t spi : list) out += std::string(" ") + sign + common::hex_spi(spi);
    return out;
}

std::string spi_text(const MonitorEvent& e) { return e.spi ? common::hex_spi(*e.spi) : std::string("?"); }

std::string number(const std::optional<uint64_t>& n) { return n ? std::to_string(*n) : std::string("?"); }

std::string what(const MonitorEvent& e) {
    switch (e.kind) {
        case MonitorEventKind::registration_started:
            return "registration started with " + e.server;
        case MonitorEventKind::registration_done:
            return "registered with " + e.server + ", SEQ " + number(e.seq) + ", " + number(e.teks) +
                   " TEK(s)";
        case MonitorEventKind::registration_failed:
            return "registration with " + e.server + " failed: " + e.reason;
        case MonitorEventKind::server_failover:
            return "key server failover: " + e.from + " -> " + e.to;
        case MonitorEventKind::rekey_accepted: {
            std::string teks = spis(e.spis_added, '+') + spis(e.spis_removed, '-');
            return "rekey accepted from " + e.server + ", SEQ " + number(e.seq) +
                   (teks.empty() ? std::string(", TEKs unchanged") : ", TEKs" + teks);
        }
        case MonitorEventKind::rekey_rejected:
            return "rekey rejected (" + e.reason + ")" + (e.detail.empty() ? std::string() : ": " + e.detail);
        case MonitorEventKind::tek_installed:
            return "TEK " + spi_text(e) + " installed";
        case MonitorEventKind::tek_retired:
            return "TEK " + spi_text(e) + " retired" +
                   (e.reason.empty() ? std::string() : " (" + e.reason + ")");
        case MonitorEventKind::sa_soft_expire:
            return "soft expire of SA " + spi_text(e) + (e.detail.empty() ? std::string() : ": " + e.detail);
        case MonitorEventKind::sa_hard_expire:
            return "hard expire of SA " + spi_text(e) + (e.detail.empty() ? std::string() : ": " + e.detail);
        case MonitorEventKind::recovery_probe:
            return "recovery probe " + number(e.probe) + ": registering again" +
                   (e.reason.empty() ? std::string() : " (" + e.reason + ")");
        case MonitorEventKind::events_lost:
            return number(e.lost) + " event(s) lost" + (e.detail.empty() ? std::string() : ": " + e.detail);
    }
    return std::string(monitor_event_name(e.kind));
}

}  // namespace

std::string monitor_event_text(const std::string& time, const MonitorEvent& event) {
    const std::string who = event.group.empty() ? std::string() : " " + event.group;
    return printable(time + who + ": " + what(event));
}

}  // namespace member
