// rtnetlink (NETLINK_ROUTE) for the dataplane layout: the IPIP carrier device,
// its up/down state and MTU, the pseudo address on lo, routes into a table and
// fwmark rules. Objects here are tagged by what they are: the device by its name,
// routes and rules by the protocol number kRouteProtocol (rtm_protocol /
// FRA_PROTOCOL, shown as "proto 0x..." by ip route / ip rule).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/result.h"
#include "xfrm/address.h"
#include "xfrm/netlink.h"

namespace xfrm {

// Unassigned in iproute2's rt_protos ("gdoi" could be added to /etc/iproute2/rt_protos).
inline constexpr uint8_t kRouteProtocol = 0xc7;
inline constexpr uint32_t kMainTable = 254;  // RT_TABLE_MAIN

// `ip link add NAME type ipip local LOCAL remote REMOTE ttl inherit tos inherit`, or the IPv6
// carrier (create_ip6tnl: ip6tnl mode ip6ip6, IPv6 LOCAL and REMOTE).
struct CarrierSpec {
    std::string name = "gdoi0";
    Address local;     // G_IN
    Address remote;    // G_OUT
    uint32_t mtu = 0;  // 0: kernel default (WAN MTU - 20 for IPIP, - 40 for ip6tnl)
    // Kernel default (on): the outer header gets DF. Kept so oversize inner
    // packets are fragmented before encapsulation at the carrier MTU.
    bool pmtudisc = true;
};

struct RouteSpec {
    Prefix dst;
    std::string device;              // RTA_OIF
    std::optional<Address> gateway;  // RTA_GATEWAY; none: on-link (scope link)
    uint32_t table = kMainTable;
    uint32_t metric = 0;
};

// `ip rule add fwmark MARK/MASK table TABLE priority PRIORITY`.
struct RuleSpec {
    Family family = Family::ipv4;
    uint32_t fwmark = 0;
    uint32_t fwmask = 0xffffffff;
    uint32_t table = kMainTable;
    uint32_t priority = 0;
};

struct LinkState {
    std::string name;
    int index = 0;
    uint32_t mtu = 0;
    bool up = false;
    std::string kind;  // "ipip", "veth", "" for none
};

// One route of an RTM_GETROUTE dump (RTM_NEWROUTE), as far as the dataplane needs it.
struct RouteState {
    Family family = Family::ipv4;
    Prefix dst;  // 0.0.0.0/0 for a default route
    uint32_t table = 0;
    uint8_t type = 0;                // RTN_UNICAST, RTN_LOCAL, ...
    int oif = 0;                     // RTA_OIF, or the first nexthop's device of a multipath route
    std::optional<Address> gateway;  // RTA_GATEWAY, or the first nexthop's
    uint32_t priority = 0;           // RTA_PRIORITY (the metric)
};

// Pure: the route in one RTM_NEWROUTE message; nullopt for another message type, a
// truncated message or an address family other than IPv4/IPv6.
std::optional<RouteState> parse_route(std::span<const uint8_t> message);

// Pure: the gateway of the default route of `family` (main table, unicast) leaving through
// device `ifindex`, the lowest metric first; nullopt when there is none.
std::optional<Address> default_gateway(std::span<const RouteState> routes, int ifindex,
                                       Family family = Family::ipv4);

// The rtnetlink kind (IFLA_INFO_KIND) of a family's carrier device: "ipip" or "ip6tnl", as
// create_ipip / create_ip6tnl make it and find_link reports it (LinkState::kind).
const char* carrier_kind(Family family);

class RtnlBatch {
public:
    common::Status create_ipip(const CarrierSpec& carrier);  // RTM_NEWLINK, create + excl
    // The IPv6 carrier: `ip link add NAME type ip6tnl mode ip6ip6 local L remote R encaplimit none
    // hoplimit 64 tclass inherit flowlabel inherit`, then `addrgenmode none` (two messages).
    common::Status create_ip6tnl(const CarrierSpec& carrier);
    void delete_link(std::string_view name);  // RTM_DELLINK by IFLA_IFNAME
    // RTM_NEWLINK on an existing device: IFF_UP and/or IFLA_MTU.
    void set_link(std::string_view name, std::optional<bool> up, std::optional<uint32_t> mtu);
    // Device indexes are resolved now (if_nametoindex in the calling thread's netns).
    common::Status add_address(std::string_view device, const Prefix& address);
    common::Status delete_address(std::string_view device, const Prefix& address);
    common::Status add_route(const RouteSpec& route);      // create + excl
    common::Status replace_route(const RouteSpec& route);  // create or replace
    common::Status delete_route(const RouteSpec& route);
    void add_rule(const RuleSpec& rule);
    void delete_rule(const RuleSpec& rule);

    std::size_t count() const { return buffer_.count(); }
    bool empty() const { return buffer_.empty(); }
    std::span<const uint8_t> bytes() const { return buffer_.bytes(); }
    MessageBuffer& buffer() { return buffer_; }

private:
    MessageBuffer buffer_;
};

class Rtnl {
public:
    static common::Result<Rtnl> open();
    common::Status apply(RtnlBatch& batch);  // every ACK checked; empties the batch

    common::Status create_ipip(const CarrierSpec& carrier);
    common::Status create_ip6tnl(const CarrierSpec& carrier);
    common::Status delete_link(std::string_view name);
    common::Status set_link_up(std::string_view name, bool up);
    common::Status set_mtu(std::string_view name, uint32_t mtu);
    common::Status add_address(std::string_view device, const Prefix& address);
    common::Status delete_address(std::string_view device, const Prefix& address);
    common::Status add_route(const RouteSpec& route);
    common::Status replace_route(const RouteSpec& route);
    common::Status delete_route(const RouteSpec& route);
    common::Status add_rule(const RuleSpec& rule);
    common::Status delete_rule(const RuleSpec& rule);
    // nullopt when no device has this name (RTM_GETLINK answered ENODEV).
    common::Result<std::optional<LinkState>> find_link(std::string_view name);
    // The gateway of the default route of `family` through `device` in the main table (an
    // RTM_GETROUTE dump); nullopt when there is none or no such device. IPv6: often link-local.
    common::Result<std::optional<Address>> default_gateway(std::string_view device,
                                                           Family family = Family::ipv4);

private:
    explicit Rtnl(NetlinkSocket socket) : socket_(std::move(socket)) {}
    NetlinkSocket socket_;
};

}  // namespace xfrm
