// The rekey scheduler of one group: which kernel steps a new GroupState calls for, and
// when (GAP delays, RFC 6407 §5.6). Pure: no kernel, time comes in as steady_clock time
// points, so the order is unit-tested with a fake clock.
//
// Make-before-break:
//   1. a new TEK's inbound SA at once (every member installs it when the push arrives);
//   2. after the ACTIVATION_TIME_DELAY: the new outbound SA, and in the same batch the old
//      outbound SA removed (activate) — the kernel prefers the newest state of the reqid;
//   3. the old TEK keeps its inbound SA while the key server still lists it (other members
//      may still send with it); once it is gone (Delete payload, or a registration that no
//      longer lists it) its outbound SA goes at once and its inbound SA after the
//      DEACTIVATION_TIME_DELAY. The kernel's hard lifetime removes expired SAs on its own.
// The very first TEK (no outbound SA yet) is activated at once: no one is sending with an
// older key that receivers would still need.
// Sender TEK: the last TEK of the state (a push appends its new TEKs; a pull lists the
// newest last).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace member {

using SteadyTime = std::chrono::steady_clock::time_point;

struct RekeyStep {
    enum class Kind {
        install_inbound,  // spi: inbound SA (tunnel G_OUT -> G_IN)
        activate,         // spi: new outbound SA; previous: old outbound SA removed in the same batch
        remove_outbound,  // spi
        remove_inbound,   // spi
        keyed,            // the group has (value) / has no (!value) TEK to send with: nft rule set
    };
    Kind kind = Kind::install_inbound;
    uint32_t spi = 0;
    std::optional<uint32_t> previous;
    bool value = false;

    bool operator==(const RekeyStep&) const = default;
    std::string to_string() const;  // "install_inbound 0x00001000", for tests and logs
};

class RekeySchedule {
public:
    enum class Role { activating, active, inbound_only, deactivating };

    // A new state of the group: its accepted TEK SPIs in state order, and the GAP delays.
    // Returns the steps to run now, in order; later steps are queued for on_timer.
    std::vector<RekeyStep> on_state(const std::vector<uint32_t>& spis, std::chrono::seconds activation_delay,
                                    std::chrono::seconds deactivation_delay, SteadyTime now);
    // Steps that are due at `now`, in deadline order.
    std::vector<RekeyStep> on_timer(SteadyTime now);
    // time_point::max() when nothing waits.
    SteadyTime next_deadline() const;

    std::optional<uint32_t> active() const { return active_; }
    std::optional<Role> role(uint32_t spi) const;
    // Every SPI with an inbound SA (all roles).
    std::vector<uint32_t> installed() const;
    // Forget everything (flush).
    void clear();
    // Restart adoption: SAs a previous run left in the kernel. `inbound`: SPIs with an inbound
    // SA; `active`: the one with the outbound SA. The next on_state() treats them as installed.
    void adopt(const std::vector<uint32_t>& inbound, std::optional<uint32_t> active);

private:
    struct Timed {
        SteadyTime at;
        RekeyStep step;
    };
    void cancel(RekeyStep::Kind kind, uint32_t spi);
    std::map<uint32_t, Role> roles_;
    std::optional<uint32_t> active_;
    std::vector<Timed> pending_;  // kept sorted by time (stable for equal times)
};

}  // namespace member
