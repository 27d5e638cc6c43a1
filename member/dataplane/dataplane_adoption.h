// Restart adoption's decision for one group of the saved state (dataplane_saved_state.h): may a
// restarted daemon keep sending with the SAs the kernel still holds? Pure: the caller
// (kernel_dataplane_adopt.cpp) gathers the facts from the kernel.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "common/ip_address.h"
#include "dataplane/dataplane_saved_state.h"
#include "xfrm/sa.h"

namespace member {

// One family's carrier of the group's slot as the kernel holds it.
struct CarrierFacts {
    common::IpFamily family = common::IpFamily::ipv4;
    uint32_t reqid = 0;           // of the carrier's SAs and policies
    common::IpAddress local;      // G_IN: the inbound SAs' destination
    common::IpAddress remote;     // G_OUT_k: the outbound SA's destination
    bool device_present = false;  // the carrier device exists and is of our kind
};

// What one family of an adopted group keeps.
struct AdoptedPlane {
    common::IpFamily family = common::IpFamily::ipv4;
    std::vector<uint32_t> inbound;                // SPIs of the carrier's inbound SAs, ascending
    uint32_t active = 0;                          // SPI of its outbound SA
    std::optional<xfrm::EspTransform> transform;  // of the outbound SA (the carrier MTU)
};

// The planes to adopt (one per family the group saved), or nullopt when the kernel does not
// hold exactly what was saved: for each saved family its carrier device, one outbound SA with
// the saved SPI (whose inbound SA is among the saved ones) and exactly the saved inbound SAs;
// for a family saved without SAs, no outbound SA. A dual-stack group is adopted whole or not
// at all; a group saved with no family is not adopted.
std::optional<std::vector<AdoptedPlane>> adoptable_planes(const SavedGroup& saved,
                                                          std::span<const xfrm::SaState> sas,
                                                          std::span<const CarrierFacts> carriers);

}  // namespace member
