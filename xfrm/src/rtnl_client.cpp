// Rtnl: rtnetlink operations, each one batch through NetlinkSocket::transact.
// clang-format off
#include <net/if.h>  // before linux/if_link.h: both define IFF_*
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
// clang-format on

#include <cerrno>
#include <cstring>
#include <vector>

#include "scratch.h"
#include "xfrm/rtnl.h"

namespace xfrm {

common::Result<Rtnl> Rtnl::open() {
    auto sock = NetlinkSocket::open(NETLINK_ROUTE);
    if (!sock) return sock.error();
    return Rtnl(std::move(sock).value());
}

common::Status Rtnl::apply(RtnlBatch& batch) {
    if (batch.empty()) return {};
    auto status = socket_.transact(batch.buffer());
    batch.buffer().clear();
    return status;
}

namespace {
template <typename Build>
common::Status one(Rtnl& r, Build&& build) {
    RtnlBatch b;
    if (common::Status s = build(b); !s) return s;
    return r.apply(b);
}
constexpr auto ok = [] { return common::Status{}; };
}  // namespace

common::Status Rtnl::create_ipip(const CarrierSpec& c) {
    return one(*this, [&](RtnlBatch& b) { return b.create_ipip(c); });
}
common::Status Rtnl::create_ip6tnl(const CarrierSpec& c) {
    return one(*this, [&](RtnlBatch& b) { return b.create_ip6tnl(c); });
}
common::Status Rtnl::delete_link(std::string_view n) {
    return one(*this, [&](RtnlBatch& b) {
        b.delete_link(n);
        return ok();
    });
}
common::Status Rtnl::set_link_up(std::string_view n, bool up) {
    return one(*this, [&](RtnlBatch& b) {
        b.set_link(n, up, std::nullopt);
        return ok();
    });
}
common::Status Rtnl::set_mtu(std::string_view n, uint32_t mtu) {
    return one(*this, [&](RtnlBatch& b) {
        b.set_link(n, std::nullopt, mtu);
        return ok();
    });
}
common::Status Rtnl::add_address(std::string_view d, const Prefix& a) {
    return one(*this, [&](RtnlBatch& b) { return b.add_address(d, a); });
}
common::Status Rtnl::delete_address(std::string_view d, const Prefix& a) {
    return one(*this, [&](RtnlBatch& b) { return b.delete_address(d, a); });
}
common::Status Rtnl::add_route(const RouteSpec& r) {
    return one(*this, [&](RtnlBatch& b) { return b.add_route(r); });
}
common::Status Rtnl::replace_route(const RouteSpec& r) {
    return one(*this, [&](RtnlBatch& b) { return b.replace_route(r); });
}
common::Status Rtnl::delete_route(const RouteSpec& r) {
    return one(*this, [&](RtnlBatch& b) { return b.delete_route(r); });
}
common::Status Rtnl::add_rule(const RuleSpec& r) {
    return one(*this, [&](RtnlBatch& b) {
        b.add_rule(r);
        return ok();
    });
}
common::Status Rtnl::delete_rule(const RuleSpec& r) {
    return one(*this, [&](RtnlBatch& b) {
        b.delete_rule(r);
        return ok();
    });
}

namespace {

int linkinfo_attr(const nlattr* attr, void* data) {
    if (mnl_attr_get_type(attr) == IFLA_INFO_KIND && mnl_attr_validate(attr, MNL_TYPE_STRING) >= 0)
        static_cast<LinkState*>(data)->kind.assign(
            static_cast<const char*>(mnl_attr_get_payload(attr)),
            strnlen(static_cast<const char*>(mnl_attr_get_payload(attr)), mnl_attr_get_payload_len(attr)));
    return MNL_CB_OK;
}

int link_attr(const nlattr* attr, void* data) {
    auto* link = static_cast<LinkState*>(data);
    switch (mnl_attr_get_type(attr)) {
        case IFLA_IFNAME:
            if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) >= 0) link->name = mnl_attr_get_str(attr);
            break;
        case IFLA_MTU:
            if (mnl_attr_validate(attr, MNL_TYPE_U32) >= 0) link->mtu = mnl_attr_get_u32(attr);
            break;
        case IFLA_LINKINFO:
            if (mnl_attr_validate(attr, MNL_TYPE_NESTED) >= 0)
                mnl_attr_parse_nested(attr, linkinfo_attr, link);
            break;
        default:
            break;
    }
    return MNL_CB_OK;
}

}  // namespace

common::Result<std::optional<LinkState>> Rtnl::find_link(std::string_view name) {
    MessageBuffer request;
    {
        detail::Scratch s;
        nlmsghdr* nlh = s.header(RTM_GETLINK, 0);
        auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
        ifi->ifi_family = AF_UNSPEC;
        mnl_attr_put_strz(nlh, IFLA_IFNAME, std::string(name).c_str());
        detail::append(request, nlh, ObjectKind::link, Family::ipv4, "get device " + std::string(name));
    }
    std::optional<LinkState> found;
    auto status = socket_.transact(request, [&](std::span<const uint8_t> msg) -> common::Status {
        const auto* nlh = reinterpret_cast<const nlmsghdr*>(msg.data());
        if (nlh->nlmsg_type != RTM_NEWLINK || nlh->nlmsg_len < mnl_nlmsg_size(sizeof(ifinfomsg))) return {};
        const auto* ifi = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(nlh));
        LinkState link;
        link.index = ifi->ifi_index;
        link.up = ifi->ifi_flags & IFF_UP;
        mnl_attr_parse(nlh, sizeof(ifinfomsg), link_attr, &link);
        found = link;
        return {};
    });
    if (!status) {
        if (status.error().code == ENODEV) return std::optional<LinkState>{};
        return status.error();
    }
    return found;
}

namespace {

// An address attribute of the route's family (4 or 16 bytes); nullopt when it does not fit.
std::optional<Address> address_attr(const nlattr* attr, Family family) {
    const std::size_t size = family == Family::ipv4 ? 4 : 16;
    if (mnl_attr_get_payload_len(attr) != size) return std::nullopt;
    Address a;
    a.family = family;
    std::memcpy(a.bytes.data(), mnl_attr_get_payload(attr), size);
    return a;
}

struct RouteAttrs {
    RouteState* route;
    const nlattr* multipath = nullptr;
};

int route_attr(const nlattr* attr, void* data) {
    auto* r = static_cast<RouteAttrs*>(data);
    RouteState& route = *r->route;
    switch (mnl_attr_get_type(attr)) {
        case RTA_DST:
            if (auto a = address_attr(attr, route.family)) route.dst.address = *a;
            break;
        case RTA_GATEWAY:
            route.gateway = address_attr(attr, route.family);
            break;
        case RTA_OIF:
            if (mnl_attr_validate(attr, MNL_TYPE_U32) >= 0)
                route.oif = static_cast<int>(mnl_attr_get_u32(attr));
            break;
        case RTA_TABLE:
            if (mnl_attr_validate(attr, MNL_TYPE_U32) >= 0) route.table = mnl_attr_get_u32(attr);
            break;
        case RTA_PRIORITY:
            if (mnl_attr_validate(attr, MNL_TYPE_U32) >= 0) route.priority = mnl_attr_get_u32(attr);
            break;
        case RTA_MULTIPATH:
            r->multipath = attr;
            break;
        default:
            break;
    }
    return MNL_CB_OK;
}

int nexthop_gateway(const nlattr* attr, void* data) {
    auto* route = static_cast<RouteState*>(data);
    if (mnl_attr_get_type(attr) == RTA_GATEWAY) route->gateway = address_attr(attr, route->family);
    return MNL_CB_OK;
}

// A multipath route names its devices and gateways per nexthop (struct rtnexthop, then its
// attributes); like /proc/net/route, the first nexthop stands for the route.
void first_nexthop(const nlattr* multipath, RouteState& route) {
    const auto len = mnl_attr_get_payload_len(multipath);
    if (len < sizeof(rtnexthop)) return;
    rtnexthop nh;
    std::memcpy(&nh, mnl_attr_get_payload(multipath), sizeof nh);
    if (nh.rtnh_len < sizeof(rtnexthop) || nh.rtnh_len > len) return;
    route.oif = nh.rtnh_ifindex;
    const auto* attrs =
        static_cast<const uint8_t*>(mnl_attr_get_payload(multipath)) + RTNH_ALIGN(sizeof(rtnexthop));
    const auto* end = static_cast<const uint8_t*>(mnl_attr_get_payload(multipath)) + nh.rtnh_len;
    if (attrs < end) mnl_attr_parse_payload(attrs, static_cast<size_t>(end - attrs), nexthop_gateway, &route);
}

}  // namespace

std::optional<RouteState> parse_route(std::span<const uint8_t> message) {
    if (message.size() < mnl_nlmsg_size(sizeof(rtmsg))) return std::nullopt;
    const auto* nlh = reinterpret_cast<const nlmsghdr*>(message.data());
    if (nlh->nlmsg_type != RTM_NEWROUTE || nlh->nlmsg_len < mnl_nlmsg_size(sizeof(rtmsg)) ||
        nlh->nlmsg_len > message.size())
        return std::nullopt;
    rtmsg rtm;
    std::memcpy(&rtm, mnl_nlmsg_get_payload(nlh), sizeof rtm);
    RouteState route;
    if (rtm.rtm_family == AF_INET)
        route.family = Family::ipv4;
    else if (rtm.rtm_family == AF_INET6)
        route.family = Family::ipv6;
    else
        return std::nullopt;
    route.dst = Prefix::any(route.family);
    route.dst.length = rtm.rtm_dst_len;
    route.table = rtm.rtm_table;  // RTA_TABLE, when present, overrides (tables above 255)
    route.type = rtm.rtm_type;
    RouteAttrs attrs{&route};
    mnl_attr_parse(nlh, sizeof(rtmsg), route_attr, &attrs);
    if (attrs.multipath && !route.oif) first_nexthop(attrs.multipath, route);
    return route;
}

std::optional<Address> default_gateway(std::span<const RouteState> routes, int ifindex, Family family) {
    const RouteState* best = nullptr;
    for (const RouteState& r : routes) {
        if (r.family != family || r.dst.length != 0 || r.table != kMainTable || r.type != RTN_UNICAST ||
            r.oif != ifindex || !r.gateway || r.gateway->is_any())
            continue;
        if (!best || r.priority < best->priority) best = &r;
    }
    if (!best) return std::nullopt;
    return best->gateway;
}

common::Result<std::optional<Address>> Rtnl::default_gateway(std::string_view device, Family family) {
    const unsigned index = if_nametoindex(std::string(device).c_str());
    if (index == 0) return std::optional<Address>{};
    // A dump interrupted by a concurrent change (NLM_F_DUMP_INTR) is read again.
    constexpr int kDumpAttempts = 3;
    for (int attempt = 1;; ++attempt) {
        MessageBuffer request;
        {
            detail::Scratch s;
            nlmsghdr* nlh = s.header(RTM_GETROUTE, 0);
            auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
            rtm->rtm_family = static_cast<uint8_t>(to_af(family));
            detail::append(request, nlh, ObjectKind::route, family,
                           family == Family::ipv6 ? "dump IPv6 routes" : "dump IPv4 routes");
        }
        std::vector<RouteState> routes;
        auto status = socket_.dump(request, [&](std::span<const uint8_t> msg) -> common::Status {
            if (auto route = parse_route(msg)) routes.push_back(*route);
            return {};
        });
        if (status) return xfrm::default_gateway(routes, static_cast<int>(index), family);
        if (status.error().code != EINTR || attempt == kDumpAttempts) return status.error();
    }
}

}  // namespace xfrm
