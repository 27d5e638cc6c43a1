// What a group session tells the daemon as it happens, for the monitor stream (the daemon
// turns it into a control/monitor_event.h MonitorEvent). Facts only: servers, SEQ, SPIs,
// reasons; never key material.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace member {

struct SessionEvent {
    enum class Kind {
        registration_started,  // server
        registration_done,     // server, seq, teks
        registration_failed,   // server, reason
        server_failover,       // server (the one that failed), next_server
        rekey_accepted,        // server (sender), seq, spis_added, spis_removed
        rekey_rejected,        // reason (gdoi::push_reject_name), detail
        recovery_probe,        // probe (1..), reason (what triggered the probes)
    };
    Kind kind = Kind::registration_started;
    std::string server;
    std::string next_server;
    uint64_t seq = 0;
    uint64_t teks = 0;
    std::vector<uint32_t> spis_added;
    std::vector<uint32_t> spis_removed;
    std::string reason;
    std::string detail;
    uint64_t probe = 0;
};

using SessionEventSink = std::function<void(const SessionEvent&)>;

}  // namespace member
