// Retiring the TEKs a key server never deletes. Some key servers send no Delete
// in their periodic pushes; without this every TEK ever pushed would stay in the group's
// state, and so keep an inbound SA in the kernel. A TEK leaves the state when
//  - a later push brought a TEK with the same selector (it is superseded): at the new TEK's
//    ACTIVATION_TIME_DELAY, when every member sends with the new one; the dataplane then keeps
//    its inbound SA for the DEACTIVATION_TIME_DELAY (RFC 6407 §5.6; dataplane_rekey.h), or
//  - its lifetime (SA Life Duration in seconds, from its arrival) has run out (the kernel's
//    hard lifetime removes the SA too).
// Bound, per selector: the state holds the newest TEK plus those superseded less than ATD
// ago; the kernel holds their inbound SAs DTD longer. With a rekey every R seconds that is
// at most 1 + ceil((ATD + DTD) / R) inbound SAs and one outbound SA.
#pragma once

#include <map>
#include <optional>
#include <vector>

#include "gdoi/group_state.h"
#include "gdoi/retransmit.h"

namespace member {

class TekRetirement {
public:
    // A registration: the key server's full list, all arriving now (none superseded: the key
    // server itself decides what a pull still lists).
    void on_registration(const gdoi::GroupState& state, gdoi::Clock::time_point now);
    // An accepted push whose new TEKs are `new_spis` (already in `state`, which is the new state).
    void on_push(const gdoi::GroupState& state, const std::vector<uint32_t>& new_spis,
                 gdoi::Clock::time_point now);
    // Removes the TEKs due at `now` from `state`; returns their SPIs.
    std::vector<uint32_t> retire(gdoi::GroupState& state, gdoi::Clock::time_point now);
    // time_point::max() when nothing is due.
    gdoi::Clock::time_point next_deadline() const;

private:
    struct Entry {
        std::optional<gdoi::Clock::time_point> expires;     // lifetime in seconds, if any
        std::optional<gdoi::Clock::time_point> superseded;  // leaves the state then
    };
    static Entry entry_for(const gdoi::Tek& tek, gdoi::Clock::time_point now);
    std::map<uint32_t, Entry> teks_;
};

}  // namespace member
