// What an XFRM expire event for one of the member's SAs means for its group.
//
// Soft expire: the kernel reached the soft lifetime of an SA (time, or for an outbound
// SA the TEK's kilobyte lifetime or the AES-GCM packet limit, dataplane_tek.h). If the
// group holds a newer TEK than the SA's, the key server's rekey is already on its way
// (RFC 6407 §4: GROUPKEY-PUSH brings the next TEK before the current one expires) and
// nothing is to be done. If not, no rekey came in time: the member registers again now
// (GROUPKEY-PULL, RFC 6407 §3, as `gdoictl register` does) rather than wait for the hard
// limit to cut its traffic off.
// Hard expire: the kernel has deleted the SA; the group's traffic under it is dropped by
// the fail-closed rules until new keys come. Logged and counted only.
//
// Pure: the daemon says which groups hold an SA of the SPI and what keys they have.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "gdoi/group_state.h"
#include "xfrm/events.h"

namespace member {

struct ExpiryCandidate {
    std::string name;
    bool holds_sa = false;                   // the dataplane installed an SA of this SPI for it
    const gdoi::GroupState* keys = nullptr;  // the group's keys now; nullptr while not keyed
};

struct ExpiryDecision {
    std::string group;
    bool hard = false;
    bool reregister = false;  // soft expire of the group's newest TEK: GROUPKEY-PULL now
    std::string message;      // the log line (info for a soft expire, warning for a hard one)
};

// nullopt: not the member's SA (other owner tag) or no group holds it.
std::optional<ExpiryDecision> decide_sa_expire(const xfrm::SaExpire& expire, uint32_t owner_tag,
                                               std::span<const ExpiryCandidate> groups);

// True when the TEK with this SPI is the newest of the state (a push appends its TEKs and a
// pull lists the newest last, dataplane_rekey.h). False when the SPI is not in the state.
bool is_newest_tek(const gdoi::GroupState& keys, uint32_t spi);

}  // namespace member
