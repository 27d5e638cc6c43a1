// The daemon keeps CAP_NET_ADMIN (XFRM, nftables, routes) and CAP_NET_BIND_SERVICE
// (UDP 848) and drops every other capability; with --user it also becomes that user.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"

namespace member {

// user empty: stay the current user, drop capabilities only. A process without
// capabilities (not root, no ambient caps) is left as it is.
// hand_over: paths (the runtime directory the daemon created as root) given to that user first,
// so it can still write there (the restart-adoption state) after the switch.
common::Status drop_privileges(const std::string& user, const std::vector<std::string>& hand_over = {});

}  // namespace member
