// IP addresses and prefixes as the XFRM and rtnetlink APIs take them: the shared
// common::IpAddress / common::IpPrefix (the kernel's xfrm_address_t is 16 bytes for both families).
#pragma once

#include "common/ip_address.h"

namespace xfrm {

using Family = common::IpFamily;
using Address = common::IpAddress;
using Prefix = common::IpPrefix;
using common::to_af;

}  // namespace xfrm
