// Rtnl: rtnetlink operations, each one batch through NetlinkSocket::transact.
#include <net/if.h>  // before linux/if_link.h: both define IFF_*
#include <linux/if_link.h>
#include <linux/rtnetlink.h>

#include <cerrno>
#include <cstring>

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
common::Status Rtnl::delete_link(std::string_view n) {
    return one(*this, [&](RtnlBatch& b) { b.delete_link(n); return ok(); });
}
common::Status Rtnl::set_link_up(std::string_view n, bool up) {
    return one(*this, [&](RtnlBatch& b) { b.set_link(n, up, std::nullopt); return ok(); });
}
common::Status Rtnl::set_mtu(std::string_view n, uint32_t mtu) {
    return one(*this, [&](RtnlBatch& b) { b.set_link(n, std::nullopt, mtu); return ok(); });
}
common::Status Rtnl::add_address(std::string_view d, const Prefix& a) {
    return one(*this, [&](RtnlBatch& b) { return b.add_address(d, a); });
}
common::Status Rtnl::delete_address(std::string_view d, const Prefix& a) {
    return one(*this, [&](RtnlBatch& b) { return b.delete_address(d, a); });
}
common::Status Rtnl::add_route(const RouteSpec& r) { return one(*this, [&](RtnlBatch& b) { return b.add_route(r); }); }
common::Status Rtnl::replace_route(const RouteSpec& r) {
    return one(*this, [&](RtnlBatch& b) { return b.replace_route(r); });
}
common::Status Rtnl::delete_route(const RouteSpec& r) {
    return one(*this, [&](RtnlBatch& b) { return b.delete_route(r); });
}
common::Status Rtnl::add_rule(const RuleSpec& r) {
    return one(*this, [&](RtnlBatch& b) { b.add_rule(r); return ok(); });
}
common::Status Rtnl::delete_rule(const RuleSpec& r) {
    return one(*this, [&](RtnlBatch& b) { b.delete_rule(r); return ok(); });
}

namespace {

int linkinfo_attr(const nlattr* attr, void* data) {
    if (mnl_attr_get_type(attr) == IFLA_INFO_KIND && mnl_attr_validate(attr, MNL_TYPE_STRING) >= 0)
        static_cast<LinkState*>(data)->kind.assign(static_cast<const char*>(mnl_attr_get_payload(attr)),
                                                   strnlen(static_cast<const char*>(mnl_attr_get_payload(attr)),
                                                           mnl_attr_get_payload_len(attr)));
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
            if (mnl_attr_validate(attr, MNL_TYPE_NESTED) >= 0) mnl_attr_parse_nested(attr, linkinfo_attr, link);
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

}  // namespace xfrm
