// rtnetlink requests for the carrier device, addresses, routes and rules
// (linux/rtnetlink.h, linux/if_link.h, linux/if_tunnel.h, linux/fib_rules.h).
#include "xfrm/rtnl.h"

// clang-format off: net/if.h must come before the linux/ headers (both define IFF_*)
#include <net/if.h>
// clang-format on

#include <linux/fib_rules.h>
#include <linux/if_link.h>
#include <linux/if_tunnel.h>
#include <linux/ip6_tunnel.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstring>

#include "scratch.h"

namespace xfrm {
namespace {

using detail::append;
using detail::Scratch;

void put_address(nlmsghdr* nlh, uint16_t type, const Address& a) {
    mnl_attr_put(nlh, type, a.family == Family::ipv4 ? 4 : 16, a.bytes.data());
}

std::string name_of(std::string_view n) { return std::string(n); }

common::Result<uint32_t> index_of(std::string_view device, const std::string& what) {
    unsigned index = if_nametoindex(name_of(device).c_str());
    if (index == 0)
        return common::make_error(what + ": no network device named '" + name_of(device) + "'", ENODEV);
    return static_cast<uint32_t>(index);
}

ifinfomsg* link_header(nlmsghdr* nlh) {
    auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
    ifi->ifi_family = AF_UNSPEC;
    return ifi;
}

common::Status address_request(MessageBuffer& out, uint16_t type, uint16_t flags, std::string_view device,
                               const Prefix& p) {
    const std::string what = std::string(type == RTM_NEWADDR ? "add" : "delete") + " address " +
                             p.to_string() + " on " + name_of(device);
    auto index = index_of(device, what);
    if (!index) return index.error();
    Scratch s;
    nlmsghdr* nlh = s.header(type, flags);
    auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
    ifa->ifa_family = static_cast<uint8_t>(to_af(p.address.family));
    ifa->ifa_prefixlen = p.length;
    ifa->ifa_scope = RT_SCOPE_UNIVERSE;
    ifa->ifa_index = *index;
    put_address(nlh, IFA_LOCAL, p.address);
    put_address(nlh, IFA_ADDRESS, p.address);
    append(out, nlh, ObjectKind::address, p.address.family, what);
    return {};
}

common::Status route_request(MessageBuffer& out, uint16_t type, uint16_t flags, const RouteSpec& r) {
    std::string what = std::string(type == RTM_DELROUTE ? "delete" : "add") + " route " + r.dst.to_string();
    if (r.gateway) what += " via " + r.gateway->to_string();
    what += " dev " + r.device + " table " + std::to_string(r.table);
    auto index = index_of(r.device, what);
    if (!index) return index.error();
    Scratch s;
    nlmsghdr* nlh = s.header(type, flags);
    auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
    rtm->rtm_family = static_cast<uint8_t>(to_af(r.dst.address.family));
    rtm->rtm_dst_len = r.dst.length;
    // Tables above 255 only fit RTA_TABLE; rtm_table then says RT_TABLE_UNSPEC.
    rtm->rtm_table = r.table < 256 ? static_cast<uint8_t>(r.table) : static_cast<uint8_t>(RT_TABLE_UNSPEC);
    rtm->rtm_protocol = kRouteProtocol;
    rtm->rtm_type = RTN_UNICAST;
    // A delete with RT_SCOPE_NOWHERE matches any scope (as iproute2 does).
    rtm->rtm_scope =
        type == RTM_DELROUTE ? RT_SCOPE_NOWHERE : (r.gateway ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK);
    put_address(nlh, RTA_DST, r.dst.address);
    mnl_attr_put_u32(nlh, RTA_OIF, *index);
    if (r.gateway) put_address(nlh, RTA_GATEWAY, *r.gateway);
    mnl_attr_put_u32(nlh, RTA_TABLE, r.table);
    if (r.metric) mnl_attr_put_u32(nlh, RTA_PRIORITY, r.metric);
    append(out, nlh, ObjectKind::route, r.dst.address.family, what);
    return {};
}

void rule_request(MessageBuffer& out, uint16_t type, uint16_t flags, const RuleSpec& r) {
    const std::string what = std::string(type == RTM_NEWRULE ? "add" : "delete") + " rule fwmark " +
                             std::to_string(r.fwmark) + "/" + std::to_string(r.fwmask) + " table " +
                             std::to_string(r.table);
    Scratch s;
    nlmsghdr* nlh = s.header(type, flags);
    auto* frh = static_cast<fib_rule_hdr*>(mnl_nlmsg_put_extra_header(nlh, sizeof(fib_rule_hdr)));
    frh->family = static_cast<uint8_t>(to_af(r.family));
    frh->table = r.table < 256 ? static_cast<uint8_t>(r.table) : static_cast<uint8_t>(RT_TABLE_UNSPEC);
    frh->action = FR_ACT_TO_TBL;
    mnl_attr_put_u32(nlh, FRA_FWMARK, r.fwmark);
    mnl_attr_put_u32(nlh, FRA_FWMASK, r.fwmask);
    mnl_attr_put_u32(nlh, FRA_TABLE, r.table);
    if (r.priority) mnl_attr_put_u32(nlh, FRA_PRIORITY, r.priority);
    mnl_attr_put_u8(nlh, FRA_PROTOCOL, kRouteProtocol);
    append(out, nlh, ObjectKind::rule, r.family, what);
}

// The RTM_NEWLINK both carriers share, up to their own tunnel attributes: name, MTU, kind, and
// in IFLA_INFO_DATA the outer local and remote addresses. The caller adds its attributes, then
// close_carrier().
struct CarrierMessage {
    nlmsghdr* nlh;
    nlattr* linkinfo;
    nlattr* data;
};

common::Result<CarrierMessage> open_carrier(Scratch& s, const CarrierSpec& c, Family family, const char* kind,
                                            const std::string& what) {
    if (c.local.family != family || c.remote.family != family)
        return common::make_error(what + ": the carrier's outer addresses must both be " +
                                  (family == Family::ipv4 ? "IPv4 (IPIP)" : "IPv6 (ip6tnl)"));
    if (c.name.empty() || c.name.size() >= IFNAMSIZ)
        return common::make_error(what + ": device names are 1-15 characters");
    CarrierMessage m{};
    m.nlh = s.header(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
    link_header(m.nlh);
    mnl_attr_put_strz(m.nlh, IFLA_IFNAME, c.name.c_str());
    if (c.mtu) mnl_attr_put_u32(m.nlh, IFLA_MTU, c.mtu);
    m.linkinfo = mnl_attr_nest_start(m.nlh, IFLA_LINKINFO);
    mnl_attr_put_strz(m.nlh, IFLA_INFO_KIND, kind);
    m.data = mnl_attr_nest_start(m.nlh, IFLA_INFO_DATA);
    put_address(m.nlh, IFLA_IPTUN_LOCAL, c.local);
    put_address(m.nlh, IFLA_IPTUN_REMOTE, c.remote);
    return m;
}

void close_carrier(const CarrierMessage& m) {
    mnl_attr_nest_end(m.nlh, m.data);
    mnl_attr_nest_end(m.nlh, m.linkinfo);
}

std::string carrier_what(const char* kind, const CarrierSpec& c) {
    return std::string("create ") + kind + " carrier " + c.name + " local " + c.local.to_string() +
           " remote " + c.remote.to_string();
}

}  // namespace

const char* carrier_kind(Family family) { return family == Family::ipv6 ? "ip6tnl" : "ipip"; }

common::Status RtnlBatch::create_ipip(const CarrierSpec& c) {
    const std::string what = carrier_what("IPIP", c);
    Scratch s;
    auto m = open_carrier(s, c, Family::ipv4, carrier_kind(Family::ipv4), what);
    if (!m) return m.error();
    nlmsghdr* nlh = m->nlh;
    // "ttl inherit" is TTL 0 and "tos inherit" is TOS 1 (iproute2 link_iptnl.c,
    // ip_tunnel_xmit): the outer header copies the inner packet's values, so the
    // rewritten packet looks like the original on the WAN.
    mnl_attr_put_u8(nlh, IFLA_IPTUN_TTL, 0);
    mnl_attr_put_u8(nlh, IFLA_IPTUN_TOS, 1);
    mnl_attr_put_u8(nlh, IFLA_IPTUN_PMTUDISC, c.pmtudisc ? 1 : 0);
    close_carrier(*m);
    append(buffer_, nlh, ObjectKind::link, Family::ipv4, what);
    return {};
}

common::Status RtnlBatch::create_ip6tnl(const CarrierSpec& c) {
    const std::string what = carrier_what("ip6tnl", c);
    Scratch s;
    auto m = open_carrier(s, c, Family::ipv6, carrier_kind(Family::ipv6), what);
    if (!m) return m.error();
    nlmsghdr* nlh = m->nlh;
    // `mode ip6ip6 encaplimit none hoplimit 64 tclass inherit flowlabel inherit` (iproute2
    // link_ip6tnl.c). encaplimit none is mandatory: ip6tnl's default inserts a Tunnel
    // Encapsulation Limit destination option (RFC 2473 §5.1, 8 octets) between the outer header
    // and the inner packet, which is not the address-preserving wire format (RFC 6407 §5.4.2.1)
    // and moves the inner addresses away from the offsets the nft rewrite reads. The hop limit
    // is that of the outer header; the nft rewrite keeps it, like the kernel's own tunnel mode.
    mnl_attr_put_u8(nlh, IFLA_IPTUN_PROTO, IPPROTO_IPV6);
    mnl_attr_put_u8(nlh, IFLA_IPTUN_TTL, 64);
    mnl_attr_put_u8(nlh, IFLA_IPTUN_ENCAP_LIMIT, 0);
    mnl_attr_put_u32(nlh, IFLA_IPTUN_FLOWINFO, 0);
    mnl_attr_put_u32(nlh, IFLA_IPTUN_FLAGS,
                     IP6_TNL_F_IGN_ENCAP_LIMIT | IP6_TNL_F_USE_ORIG_TCLASS | IP6_TNL_F_USE_ORIG_FLOWLABEL);
    close_carrier(*m);
    append(buffer_, nlh, ObjectKind::link, Family::ipv6, what);

    // `ip link set NAME addrgenmode none` before the device is up: no link-local address, so
    // the carrier sends no ND/MLD of its own (it would be encapsulated to the pseudo peer).
    Scratch gen;
    nlmsghdr* set = gen.header(RTM_NEWLINK, 0);
    link_header(set);
    mnl_attr_put_strz(set, IFLA_IFNAME, c.name.c_str());
    nlattr* af_spec = mnl_attr_nest_start(set, IFLA_AF_SPEC);
    nlattr* inet6 = mnl_attr_nest_start(set, AF_INET6);
    mnl_attr_put_u8(set, IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE);
    mnl_attr_nest_end(set, inet6);
    mnl_attr_nest_end(set, af_spec);
    append(buffer_, set, ObjectKind::link, Family::ipv6, "set carrier " + c.name + " addrgenmode none");
    return {};
}

void RtnlBatch::delete_link(std::string_view name) {
    Scratch s;
    nlmsghdr* nlh = s.header(RTM_DELLINK, 0);
    link_header(nlh);
    mnl_attr_put_strz(nlh, IFLA_IFNAME, name_of(name).c_str());
    append(buffer_, nlh, ObjectKind::link, Family::ipv4, "delete device " + name_of(name));
}

void RtnlBatch::set_link(std::string_view name, std::optional<bool> up, std::optional<uint32_t> mtu) {
    Scratch s;
    nlmsghdr* nlh = s.header(RTM_NEWLINK, 0);
    ifinfomsg* ifi = link_header(nlh);
    std::string what = "set device " + name_of(name);
    if (up) {
        ifi->ifi_change = IFF_UP;
        ifi->ifi_flags = *up ? IFF_UP : 0;
        what += *up ? " up" : " down";
    }
    mnl_attr_put_strz(nlh, IFLA_IFNAME, name_of(name).c_str());
    if (mtu) {
        mnl_attr_put_u32(nlh, IFLA_MTU, *mtu);
        what += " mtu " + std::to_string(*mtu);
    }
    append(buffer_, nlh, ObjectKind::link, Family::ipv4, what);
}

common::Status RtnlBatch::add_address(std::string_view device, const Prefix& a) {
    return address_request(buffer_, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, device, a);
}
common::Status RtnlBatch::delete_address(std::string_view device, const Prefix& a) {
    return address_request(buffer_, RTM_DELADDR, 0, device, a);
}
common::Status RtnlBatch::add_route(const RouteSpec& r) {
    return route_request(buffer_, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, r);
}
common::Status RtnlBatch::replace_route(const RouteSpec& r) {
    return route_request(buffer_, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, r);
}
common::Status RtnlBatch::delete_route(const RouteSpec& r) {
    return route_request(buffer_, RTM_DELROUTE, 0, r);
}
void RtnlBatch::add_rule(const RuleSpec& r) {
    rule_request(buffer_, RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL, r);
}
void RtnlBatch::delete_rule(const RuleSpec& r) { rule_request(buffer_, RTM_DELRULE, 0, r); }

}  // namespace xfrm
