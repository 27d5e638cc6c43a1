// What the daemon asks of the kernel for its groups: the interface between the
// protocol side (GroupSession) and the kernel side (xfrm/ + policy/). The kernel
// implementation lives in kernel_dataplane.{h,cpp}; tests may substitute another.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "config/config.h"
#include "dataplane/health_counters.h"
#include "dataplane/sa_traffic.h"
#include "gdoi/group_state.h"
#include "policy/rules.h"

namespace member {

// What the dataplane holds for one TEK SPI of a group.
struct TekRole {
    enum class Kind {
        unknown,        // not a TEK of the group's state
        activating,     // inbound SA; the outbound one follows after the activation delay
        active,         // inbound and outbound SAs: the group sends with it
        inbound_only,   // inbound SA only
        deactivating,   // inbound SA until the deactivation delay ends
        refused,        // local policy refused it (reason); no SA
        not_installed,  // no kernel dataplane (reason)
    };
    Kind kind = Kind::unknown;
    std::string reason;

    // Whether kernel SAs exist for the SPI.
    bool installed() const {
        return kind == Kind::activating || kind == Kind::active || kind == Kind::inbound_only ||
               kind == Kind::deactivating;
    }
    bool operator==(const TekRole&) const = default;
};

// The group's rules as the dataplane enforces them now (gdoictl show policy renders them).
struct GroupRules {
    policy::RuleSet rules;
    bool registered = false;  // the scope comes from TEKs (else: the LAN prefixes, fail-closed)
    std::vector<policy::Selector> own_traffic;  // the member's IKE/GDOI, exempt from all rules
};

// Time-based anti-replay (anti_replay.h): ESP dropped as replays, per SPI of the group (counted by
// the SPI's nft rule since it was written), and the group's total (SPIs gone included).
struct ReplayDrops {
    uint64_t total = 0;
    std::map<uint32_t, uint64_t> by_spi;
};

class Dataplane {
public:
    virtual ~Dataplane() = default;
    // Before any group is keyed: the member's nft table with every group fail-closed
    // (adopting what a previous run left, without a window of cleartext).
    virtual common::Status start(const MemberConfig& config) = 0;
    // A group added by a reload (SIGHUP) after start(): fail-closed until its keys come.
    virtual common::Status add_group(const GroupConfig& group) {
        (void)group;
        return {};
    }
    // A registration of the group is under way: what its keys will need can be put in place
    // now, fail-closed (KernelDataplane: the carrier). Cheap when done already.
    virtual common::Status prepare_group(const GroupConfig& group) {
        (void)group;
        return {};
    }
    // New keys/policies for a group (registration or rekey): make-before-break.
    virtual common::Status apply(const GroupConfig& group, const gdoi::GroupState& state,
                                 std::chrono::steady_clock::time_point now) = 0;
    // The group left the configuration.
    virtual common::Status remove_group(const GroupConfig& group) = 0;
    // The group's configuration changed (same name): drop its keys and start it over
    // fail-closed under the new configuration, its traffic never without rules.
    virtual common::Status reset_group(const GroupConfig& group) {
        if (auto s = remove_group(group); !s) return s;
        return add_group(group);
    }
    // Rekey steps that wait for the GAP activation/deactivation delays.
    virtual std::chrono::steady_clock::time_point next_deadline() const = 0;
    virtual void on_timer(std::chrono::steady_clock::time_point now) = 0;
    // gdoictl flush: remove everything the member installed (fail-closed included).
    virtual common::Status flush() = 0;
    // Daemon exit: keep fail-closed in place (no leak while the service is down).
    virtual void shutdown() = 0;
    // Whether the group's traffic is being encrypted now (an outbound SA is in place), also
    // before the daemon's own registration: SAs adopted from a previous run (gdoictl show).
    virtual bool sending(const GroupConfig& group) const {
        (void)group;
        return false;
    }
    // For gdoictl show policy / tek.
    virtual std::optional<GroupRules> rules(const GroupConfig& group) const = 0;
    virtual TekRole tek_role(const GroupConfig& group, uint32_t spi) const = 0;
    // Local policy on a key server's TEK before the registration commits (RFC 6407
    // §3.2.1): empty string = acceptable, else the reason. Default: accept.
    virtual std::string accept_tek(const GroupConfig& group, const gdoi::Tek& tek) const {
        (void)group;
        (void)tek;
        return {};
    }
    // The owner tag (xfrm/xfrm.h) on the kernel SAs this dataplane installs; nullopt when it
    // installs none (--no-dataplane). With a tag the daemon listens to the kernel's SA expire
    // events (sa_expiry.h) and checks the SAs' counters for one-way traffic. Default: none.
    virtual std::optional<uint32_t> sa_owner_tag() const { return std::nullopt; }
    // The group's SAs and their packet counters now (sa_traffic.h; group_sa_traffic() turns a
    // dump of the own SAs into this). Default: none known.
    virtual common::Result<std::vector<SaTraffic>> sa_traffic(const GroupConfig& group) {
        (void)group;
        return std::vector<SaTraffic>{};
    }
    // Packets dropped by the group's anti-replay check (empty when it is off).
    virtual common::Result<ReplayDrops> replay_drops(const GroupConfig& group) {
        (void)group;
        return ReplayDrops{};
    }
    // Follows the WAN interface's MTU (called every kStatsInterval): the carriers' MTUs derive
    // from it. Default: nothing to follow.
    virtual void follow_wan_mtu() {}
    // The counters the health check compares (dataplane_health.h); nullopt when this dataplane
    // has none (no kernel rules).
    virtual common::Result<std::optional<HealthCounters>> health_counters(const GroupConfig& group) {
        (void)group;
        return std::optional<HealthCounters>{};
    }
};

}  // namespace member
