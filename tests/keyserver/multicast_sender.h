// gdoi-test-keyserver --multicast: the SA KEK's DST ID names a multicast group (RFC 6407
// §5.3) and the pushes are sent there (§4). The sending side of the socket is set here.
#pragma once

#include "common/result.h"
#include "gdoi/group_state.h"
#include "gdoi/udp_socket.h"

namespace keyserver {

inline constexpr int kMulticastTtl = 8;  // hop limit of the pushes: a few routers at most

// Multicast from `fd` leaves through the interface holding `local` (IP_MULTICAST_IF /
// IPV6_MULTICAST_IF; the kernel's choice when `local` is unspecified) with TTL/hop limit `ttl`.
common::Status set_multicast_sender(int fd, const gdoi::Endpoint& local, int ttl);

// An SA KEK SRC/DST ID naming one address and port: ID_IPV4_ADDR or ID_IPV6_ADDR
// (RFC 2407 §4.6.2.1).
gdoi::TrafficId traffic_id_of(const gdoi::Endpoint& endpoint);

}  // namespace keyserver
