// What the dataplane reads from the host: the prefixes on the LAN interfaces (getifaddrs(3)) and
// the WAN's default gateways (rtnetlink, per netns).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "dataplane/dataplane_selectors.h"
#include "xfrm/address.h"

namespace member {

// The member's local protected scope: the networks of these interfaces' IPv4 and global IPv6
// addresses (10.1.0.1/24 -> 10.1.0.0/24, 2001:db8:1::1/64 -> 2001:db8:1::/64; link-local ones
// protect nothing). Error when an interface has neither: without them the member cannot tell its
// own LAN from the remote sites.
common::Result<std::vector<NetPrefix>> interface_prefixes(const std::vector<std::string>& ifnames);

// The gateway of the default route of `family` through `ifname` in the main table
// (xfrm::Rtnl::default_gateway, in the calling thread's netns); nullopt when there is none
// (G_OUT / G_OUT6 is then routed on-link on the WAN device).
std::optional<xfrm::Address> default_gateway(std::string_view ifname,
                                             common::IpFamily family = common::IpFamily::ipv4);

}  // namespace member
