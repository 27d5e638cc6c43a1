// What gdoictl shows for a TEK: its algorithms and what the dataplane holds for it.
#pragma once

#include <string>

#include "dataplane/dataplane.h"
#include "gdoi/group_state.h"

namespace member {

// The ESP transform's IKE name, "-<bits>" when the SA TEK carried a Key Length attribute
// (RFC 2407 §4.5: none for fixed-length ciphers such as 3DES), "/<auth>" when not AEAD.
std::string tek_algorithm_name(const gdoi::Tek& t);

// "active", "inbound-only (activating)", "refused: <reason>", ... (control/status.h TekStatus::role).
std::string tek_role_text(const TekRole& role);

}  // namespace member
