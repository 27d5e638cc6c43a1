// KernelDataplane's per-group state (private to kernel_dataplane*.cpp).
#pragma once

#include <algorithm>
#include <array>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "dataplane/dataplane_adoption.h"
#include "dataplane/dataplane_rekey.h"
#include "dataplane/dataplane_saved_state.h"
#include "dataplane/dataplane_selectors.h"
#include "dataplane/kernel_dataplane.h"
#include "gdoi/group_state.h"
#include "policy/selector.h"
#include "xfrm/dataplane.h"

namespace member {

// One family's half of a group's dataplane: its carrier (IPIP for IPv4, ip6ip6 for IPv6), the
// rekey schedule of the group's TEKs of that family (each family sends with its own newest TEK)
// and the remote prefixes routed into it. A dual-stack group uses both; an IPv4 group only the
// first (its IPv6 carrier is never prepared).
struct KernelDataplane::FamilyPlane {
    common::IpFamily family = common::IpFamily::ipv4;
    RekeySchedule schedule;
    std::unique_ptr<xfrm::GroupDataplane> carrier;  // set once the dataplane started
    // Device, G_IN, G_OUT route, out policy, carrier guard, fwmark rule: in the kernel (prepared
    // before keys arrive; nothing is routed into the carrier until it is up).
    bool carrier_ready = false;
    bool carrier_up = false;  // sending: the remote prefixes are routed into the carrier
    // Installed: remote prefix -> the local prefixes of its fwd policies.
    std::map<NetPrefix, std::vector<NetPrefix>> installed_prefixes;

    // An outbound SA is in place and the carrier carries the routes.
    bool sending() const { return carrier_up && schedule.active().has_value(); }
};

struct KernelDataplane::Group {
    GroupConfig config;
    std::map<uint32_t, gdoi::Tek> teks;       // every TEK with an inbound SA (keys in secure memory)
    std::map<uint32_t, std::string> refused;  // SPI -> why accept_tek refused it
    std::vector<policy::Selector> selectors;  // of the listed, accepted TEKs
    std::vector<NetPrefix> scope;             // addresses the group's TEKs protect (both families)
    bool registered = false;                  // a state with accepted TEKs was applied once
    uint32_t expected_senders = kDefaultGcmExpectedSenders;
    // Anti-replay on (config.anti_replay_window): the sequence numbers its check rules accept now
    // (empty until the group has TEKs; moved every second by replay_tick()).
    std::vector<policy::SequenceRange> replay_accepted;
    // Replays dropped under SPIs whose rules are gone (kept for the group's total).
    uint64_t replay_drops_retired = 0;
    std::map<uint32_t, uint64_t> replay_drops_seen;  // SPI -> last read of its rule's counter
    std::string replay_error;                        // the last window move's error, while it lasts
    std::int64_t replay_error_logged = 0;            // when it was last logged (unix seconds)
    uint64_t replay_drops_logged = 0;                // the total the last log line reported
    unsigned slot = 0;                               // carrier slot (kernel_dataplane.h)
    FamilyPlane ipv4{common::IpFamily::ipv4, {}, {}, false, false, {}};
    FamilyPlane ipv6{common::IpFamily::ipv6, {}, {}, false, false, {}};

    FamilyPlane& plane(common::IpFamily f) { return f == common::IpFamily::ipv6 ? ipv6 : ipv4; }
    const FamilyPlane& plane(common::IpFamily f) const { return f == common::IpFamily::ipv6 ? ipv6 : ipv4; }
    std::array<FamilyPlane*, 2> planes() { return {&ipv4, &ipv6}; }
    std::array<const FamilyPlane*, 2> planes() const { return {&ipv4, &ipv6}; }
    // The family plane holding an SPI's SAs (nullptr: none).
    const FamilyPlane* plane_of(uint32_t spi) const {
        for (const FamilyPlane* p : planes())
            if (p->schedule.role(spi)) return p;
        return nullptr;
    }
    // Every SPI with an inbound SA or about to get one (adopted SAs too: their TEKs are not known
    // until the registration), ascending.
    std::vector<uint32_t> inbound_spis() const {
        std::vector<uint32_t> out;
        for (const auto& [spi, tek] : teks) out.push_back(spi);
        for (const FamilyPlane* p : planes())
            for (uint32_t spi : p->schedule.installed()) out.push_back(spi);
        std::sort(out.begin(), out.end());
        out.erase(std::unique(out.begin(), out.end()), out.end());
        return out;
    }
    // Whether any family sends (an outbound SA in place, the routes into its carrier).
    bool sending() const { return ipv4.sending() || ipv6.sending(); }
};

// The kernel requests of one apply() or timer step, staged (xfrm/dataplane.h, DataplaneBatch):
// one XFRM batch (SAs, policies), then one rtnetlink batch (carrier MTU, routes).
struct KernelDataplane::Pending {
    explicit Pending(uint32_t owner) : batch(owner) {}
    // Routes staged and never applied (an error before or in commit()) are not installed:
    // the next sync_prefixes() stages them again.
    ~Pending() {
        for (const auto& [group, remote] : prefixes)
            group->plane(remote.family).installed_prefixes.erase(remote);
    }
    Pending(const Pending&) = delete;
    Pending& operator=(const Pending&) = delete;
    xfrm::DataplaneBatch batch;
    const GroupConfig* for_group = nullptr;              // whose steps (one group per Pending)
    std::string steps;                                   // what is staged, for the error message
    std::vector<std::pair<Group*, NetPrefix>> prefixes;  // staged routes: forgotten if the batch fails
    std::vector<std::string> applied;                    // Info lines once the batch is in the kernel
    std::vector<const FamilyPlane*> keyed;               // keyed steps: the table follows the batch
};

// A group of a previous run that can keep its SAs (kernel_dataplane_adopt.cpp), per family
// whose carrier sent when the state was saved (a dual-stack group: both).
struct KernelDataplane::Adoptable {
    const GroupConfig* config = nullptr;
    SavedGroup saved;
    std::vector<AdoptedPlane> planes;  // one or two (dataplane_adoption.h)
};

}  // namespace member
