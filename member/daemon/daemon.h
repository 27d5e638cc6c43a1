// gdoi-memberd's event loop: one epoll over the GDOI UDP socket(s) and the multicast
// rekey memberships (daemon_multicast.cpp), the control socket, a timerfd (the earliest
// deadline of every group and of the dataplane) and a signalfd (SIGHUP reload,
// SIGTERM/SIGINT exit), and with the kernel dataplane the XFRM expire events of the
// member's SAs. No thread per group.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>

#include "common/unique_fd.h"
#include "config/config.h"
#include "control/control.h"
#include "control/monitor_event.h"
#include "dataplane/dataplane.h"
#include "gdoi/multicast_socket.h"
#include "session/group_session.h"
#include "session/session_event.h"
#include "watch/dataplane_health.h"
#include "watch/one_way_detector.h"
#include "xfrm/events.h"

namespace member {

class Daemon {
public:
    // run_as: user to switch to once the sockets are bound (empty: stay, drop capabilities only).
    Daemon(MemberConfig config, std::string config_path, std::unique_ptr<Dataplane> dataplane,
           std::string run_as = {});
    ~Daemon();
    // Runs until SIGTERM/SIGINT; returns the process exit code.
    int run();

    // For tests and the control socket.
    MemberStatus status(Clock::time_point now) const;
    std::string handle_control(const std::string& request);

private:
    struct Group {
        GroupConfig config;
        std::unique_ptr<GroupSession> session;
        OneWayDetector one_way;    // fed every kStatsInterval (daemon_kernel_watch.cpp)
        HealthMonitor health;      // the router's rules vs the group's traffic (idem)
        std::string send_problem;  // the last send to a key server failed: why (empty: it worked)
        // After a suspected leak (dataplane_health.h) no keys are installed before this time;
        // the hold doubles with every leak, up to kMaxLeakHold.
        Clock::time_point held_until{};
        std::chrono::seconds leak_hold{60};
        std::string rekey_multicast;           // key of the membership in multicast_ it uses; empty: none
        std::vector<uint32_t> installed_spis;  // the TEKs of the last state the dataplane applied
    };
    // One multicast membership for rekeys (daemon_multicast.cpp), shared by the groups whose
    // KEK names the same destination and which use the same local port: one socket, so a
    // push is read once.
    struct RekeyMulticast {
        gdoi::MulticastSocket socket;
        uint16_t local_port = 0;  // the groups' port: datagrams take that port's path
        uint64_t tag = 0;         // epoll user data
        std::set<std::string> groups;
    };
    common::Status open_sockets();
    void start_group(const GroupConfig& config, Clock::time_point now);
    // replacement: the group's new configuration (changed by a reload); nullptr: removed.
    void stop_group(const std::string& name, const GroupConfig* replacement = nullptr);
    void reload();
    void handle_output(Group& group, SessionOutput out, Clock::time_point now);
    void on_udp_readable(int fd, Clock::time_point now);
    void on_datagram(uint16_t port, const gdoi::Datagram& datagram, Clock::time_point now);
    // daemon_multicast.cpp: join or leave the multicast destination of the group's KEK.
    void sync_rekey_multicast(Group& group);
    void leave_rekey_multicast(Group& group, const std::string& why);
    void on_multicast_readable(uint64_t tag, Clock::time_point now);
    // The next deadline (time_point::max() without one), the timer armed for it.
    Clock::time_point arm_timer();
    void on_timer(Clock::time_point now);
    void release_free_heap();
    void notify_status();
    // daemon_kernel_watch.cpp: kernel signs that a group's keys are stale or expiring.
    void check_traffic(Clock::time_point now);
    bool unknown_spis_rising();
    bool outbound_only(Group& group);
    void check_health(Group& group, Clock::time_point now);
    void hold_fail_closed(Group& group, Clock::time_point now, const std::string& why);
    bool open_sa_events();
    void on_sa_events(Clock::time_point now);
    SessionConfig session_config(const GroupConfig& config);
    // daemon_certificates.cpp: a reload's new certificate or CA/CRL contents for a group it left
    // running (no restart), and
    // the warnings about the expiry of our own certificate and the key servers'.
    void reload_credentials(Group& group, const GroupConfig& fresh, Clock::time_point now);
    void check_certificates(Clock::time_point now);
    // The key server's certificate expires within 30 days (or has): said after each registration
    // with it, and daily.
    void warn_server_certificate(const Group& group, size_t server);
    // daemon_events.cpp: the monitor stream (gdoictl monitor).
    void publish(MonitorEvent event);
    // After the dataplane applied `applied`: tek-installed / tek-retired for the SPIs that
    // came or went (with a dataplane that installs SAs only).
    void publish_tek_changes(Group& group, const gdoi::GroupState& applied);
    // The group's SAs went (flush, leak hold, group removed): tek-retired with the reason.
    void publish_teks_removed(Group& group, const std::string& why);

    MemberConfig config_;
    std::string config_path_;
    std::unique_ptr<Dataplane> dataplane_;
    std::map<std::string, std::unique_ptr<Group>> groups_;
    std::map<uint16_t, gdoi::UdpSocket> sockets_;      // by local port
    std::map<std::string, RekeyMulticast> multicast_;  // by "port|group:port"
    uint64_t next_multicast_tag_ = 0;
    static constexpr uint64_t kTagMulticastBase = uint64_t{1} << 32;  // above every other epoll tag
    std::optional<ControlServer> control_;
    common::UniqueFd epoll_;
    common::UniqueFd timer_;
    common::UniqueFd signals_;
    std::string run_as_;
    // Recovery probe inputs, read every 10 s: XfrmInNoStates (ESP for SPIs we have no SA
    // for) and the packet counters of each keyed group's SAs (one-way traffic).
    static constexpr std::chrono::seconds kStatsInterval{10};
    Clock::time_point next_stats_check_{};
    static constexpr std::chrono::hours kCertificateCheckInterval{24};
    Clock::time_point next_certificate_check_{};  // at start and after a reload, then daily
    std::optional<uint64_t> last_unknown_spi_count_;
    // The kernel dataplane's SA owner tag and its expire events (none in monitor mode).
    std::optional<uint32_t> sa_owner_;
    std::optional<xfrm::EventSocket> sa_events_;
    Clock::time_point started_;
    // The least free heap seen since the last malloc_trim (release_free_heap), which runs when
    // nothing is due for at least kQuietBeforeTrim.
    std::size_t heap_free_low_ = 0;
    static constexpr std::chrono::milliseconds kQuietBeforeTrim{100};
    bool running_ = true;
};

// A dataplane that installs nothing (gdoi-memberd --no-dataplane): registers and follows
// rekeys only — for checking a key server's configuration without touching the kernel.
std::unique_ptr<Dataplane> make_monitor_dataplane();

// A session's event as the monitor stream shows it (daemon_events.cpp); the time is set
// when it is published.
MonitorEvent monitor_event_of(const std::string& group, const SessionEvent& event);

}  // namespace member
