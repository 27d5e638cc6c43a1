// The daemon keeps CAP_NET_ADMIN (XFRM, nftables, routes) and CAP_NET_BIND_SERVICE
// (UDP 848) and drops every other capability; with --user it also becomes that user.
#pragma once

#include <string>

#include "common/result.h"

namespace member {

// user empty: stay the current user, drop capabilities only. A process without
// capabilities (not root, no ambient caps) is left as it is.
common::Status drop_privileges(const std::string& user);

}  // namespace member
