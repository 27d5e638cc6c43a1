// What gdoictl shows: a snapshot of every group's state, key servers, KEK/TEK SAs,
// policies and counters. Built by the daemon, serialised over the control socket as
// JSON (stable field names, documented in packaging/gdoictl.8.md), rendered as text
// by gdoictl. Never contains key material.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace member {

// An X.509 certificate of phase 1 (ours, or a key server's as phase 1 verified it).
struct CertificateStatus {
    std::string subject;        // "CN=gcks.example,O=Example"
    std::string not_after;      // "2027-01-04T10:00:00Z"
    uint64_t seconds_left = 0;  // until not_after; 0: expired
    std::string warning;        // expired or expiring within 30 days: what to do; empty otherwise

    bool operator==(const CertificateStatus&) const = default;
};

struct ServerStatus {
    std::string address;  // "198.51.100.10:848"
    bool in_use = false;
    std::string last_error;  // empty when none
    uint64_t failures = 0;
    // As the last phase 1 with it authenticated it: "ID_FQDN gcks.example"; empty: none yet.
    std::string identity;
    std::vector<CertificateStatus> certificate;  // its verified certificate; 0 or 1

    bool operator==(const ServerStatus&) const = default;
};

struct KekStatus {
    std::string spi;        // 32 hex digits (the push cookies)
    std::string algorithm;  // "AES-256-CBC"
    std::string signature;  // "RSA-2048/SHA-256"
    uint64_t remaining_seconds = 0;
    bool ack_requested = false;
    // How pushes arrive: "unicast", "multicast 239.1.2.3:848 via eth1", or
    // "unicast (multicast 239.1.2.3:848 not joined)" when joining failed.
    std::string rekey_via;

    bool operator==(const KekStatus&) const = default;
};

// The kernel's counters of one SA of a TEK (xfrm_lifetime_cur): what it encrypted (outbound)
// or decrypted (inbound) since it was installed.
struct SaCounterStatus {
    std::string direction;  // "inbound", "outbound"
    uint64_t packets = 0;
    uint64_t bytes = 0;

    bool operator==(const SaCounterStatus&) const = default;
};

struct TekStatus {
    std::string spi;        // "0x11111111"
    std::string algorithm;  // "AES-256-CBC/HMAC-SHA-256", "AES-GCM-128"
    std::string selector;   // "10.1.0.0/16 -> 10.2.0.0/16 proto any"
    std::string role;       // "active", "inbound-only (activating)", "inbound-only (deactivating)"
    uint64_t remaining_seconds = 0;
    uint64_t replays_dropped = 0;  // anti-replay: its ESP outside the time window, dropped
    // The TEK's SAs in the kernel, inbound first; empty when none is installed (no kernel
    // dataplane, refused, or the kernel could not be asked).
    std::vector<SaCounterStatus> sas;

    bool operator==(const TekStatus&) const = default;
};

struct PolicyStatus {
    std::string kind;  // "own" (the member's IKE/GDOI), "exclude", "group", "fail-open", "fail-closed"
    std::string selector;
    std::string action;  // "clear", "encrypt", "clear while no TEK", "drop"

    bool operator==(const PolicyStatus&) const = default;
};

struct GroupCounters {
    uint64_t registrations = 0;
    uint64_t registration_failures = 0;
    uint64_t rekeys_accepted = 0;
    uint64_t rekeys_rejected = 0;
    // rejected by reason, in gdoi::PushReject order (malformed, unknown-kek, ...)
    std::vector<std::pair<std::string, uint64_t>> rekeys_rejected_by_reason;
    uint64_t acks_sent = 0;
    uint64_t recovery_probes = 0;
    uint64_t soft_expires = 0;  // kernel soft-lifetime events of the group's SAs
    uint64_t hard_expires = 0;  // kernel hard-lifetime events (SA deleted by the kernel)
    // Time-based anti-replay: the group's ESP dropped as outside anti-replay-time-window (TEKs
    // gone included); 0 while it is off.
    uint64_t replays_dropped = 0;

    bool operator==(const GroupCounters&) const = default;
};

// Every GroupStatus::state the daemon reports (daemon_status.cpp), in the order of a
// registration; the Prometheus metric gdoi_member_group_state has one series per state.
inline constexpr std::array<std::string_view, 5> kGroupStates{"idle", "registering", "registered",
                                                              "re-registering", "waiting-retry"};

struct GroupStatus {
    std::string name;
    uint32_t id = 0;
    std::string state;   // one of kGroupStates
    std::string detail;  // last event or error, operator-readable
    std::string health;  // what the router's rules do to the group's traffic; empty: nothing known wrong
    std::string server;  // key server in use
    uint64_t since_seconds = 0;           // time in this state
    uint64_t last_rekey_seconds_ago = 0;  // 0 = never
    uint32_t sequence = 0;
    uint32_t anti_replay_window = 0;  // seconds; 0: off
    std::vector<ServerStatus> servers;
    std::vector<CertificateStatus> certificate;  // ours (ike.certificate); 0 (pre-shared key) or 1
    std::vector<KekStatus> kek;                  // 0 or 1
    std::vector<TekStatus> teks;
    std::vector<PolicyStatus> policies;
    GroupCounters counters;

    bool operator==(const GroupStatus&) const = default;
};

struct MemberStatus {
    std::string version;
    uint64_t uptime_seconds = 0;
    std::vector<GroupStatus> groups;

    bool operator==(const MemberStatus&) const = default;
};

}  // namespace member
