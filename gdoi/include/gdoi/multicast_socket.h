// Multicast rekeys (RFC 6407 §4, §5.3). The SA KEK's SRC ID and DST ID name the source and
// destination of the GROUPKEY-PUSH datagrams; when the DST ID is a multicast address the
// GCKS sends its rekeys to that group address and port, and a member that wants them joins
// the group on its WAN interface. MulticastSocket is that membership: a UDP socket bound
// to the group address and port, joined on one interface; destroying it leaves the group.
#pragma once

#include <optional>
#include <string>

#include "common/result.h"
#include "gdoi/group_state.h"
#include "gdoi/udp_socket.h"

namespace gdoi {

// IPv4 224.0.0.0/4, IPv6 ff00::/8.
bool is_multicast_address(const Bytes& address);
bool is_multicast(const Endpoint& endpoint);

// The multicast group and port a KEK's rekeys are sent to (RFC 6407 §5.3 DST ID), or nullopt
// when the DST ID is not one multicast address (unicast, a range, a wider subnet). The DST
// ID Port 0 means "ignore the port" (§5.3): the GDOI port 848 (RFC 6407 §2) then.
std::optional<Endpoint> multicast_rekey_destination(const Kek& kek);

class MulticastSocket {
public:
    // Binds a UDP socket to `group` (address and port, SO_REUSEADDR) and joins the group on
    // `interface` (IP_ADD_MEMBERSHIP with the ifindex, or IPV6_JOIN_GROUP). Errors name the
    // group, the interface and what to check.
    static common::Result<MulticastSocket> join(const Endpoint& group, const std::string& interface);

    int fd() const { return socket_.fd(); }
    const UdpSocket& socket() const { return socket_; }
    const Endpoint& group() const { return group_; }
    const std::string& interface() const { return interface_; }

private:
    MulticastSocket(UdpSocket socket, Endpoint group, std::string interface)
        : socket_(std::move(socket)), group_(std::move(group)), interface_(std::move(interface)) {}
    // Closing the socket drops its memberships (the kernel leaves the group).
    UdpSocket socket_;
    Endpoint group_;
    std::string interface_;
};

}  // namespace gdoi
