// What the dataplane reads from the host without netlink: the IPv4 prefixes on the LAN
// interfaces (getifaddrs(3)) and the WAN's default gateway (rtnetlink, per netns).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "dataplane/dataplane_selectors.h"
#include "xfrm/address.h"

namespace member {

// The member's local protected scope: the IPv4 networks of these interfaces' addresses
// (10.1.0.1/24 -> 10.1.0.0/24). Error when an interface has no IPv4 address: without it the
// member cannot tell its own LAN from the remote sites.
common::Result<std::vector<NetPrefix>> interface_prefixes(const std::vector<std::string>& ifnames);

// The gateway of the IPv4 default route through `ifname` in the main table
// (xfrm::Rtnl::default_gateway, in the calling thread's netns); nullopt when there is none
// (G_OUT is then routed on-link on the WAN device).
std::optional<xfrm::Address> default_gateway(std::string_view ifname);

}  // namespace member
