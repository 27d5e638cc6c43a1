// rtnetlink requests read back with libmnl.
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/fib_rules.h>
#include <linux/if_link.h>
#include <linux/if_tunnel.h>
#include <linux/ip6_tunnel.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "xfrm/rtnl.h"

using namespace xfrm;

namespace {
using Attrs = std::map<uint16_t, const nlattr*>;
int collect(const nlattr* a, void* data) {
    (*static_cast<Attrs*>(data))[mnl_attr_get_type(a)] = a;
    return MNL_CB_OK;
}
}  // namespace

TEST_CASE("create_ipip nests the IPIP parameters with ttl and tos inherit", "[rtnl]") {
    RtnlBatch b;
    REQUIRE(
        b.create_ipip({"gdoi0", *Address::parse("169.254.0.1"), *Address::parse("169.254.0.2"), 1446, true}));
    const auto* nlh = reinterpret_cast<const nlmsghdr*>(b.bytes().data());
    CHECK(nlh->nlmsg_type == RTM_NEWLINK);
    CHECK((nlh->nlmsg_flags & (NLM_F_CREATE | NLM_F_EXCL)) == (NLM_F_CREATE | NLM_F_EXCL));
    CHECK(nlh->nlmsg_len == b.bytes().size());
    Attrs top;
    mnl_attr_parse(nlh, sizeof(ifinfomsg), collect, &top);
    CHECK(std::string(mnl_attr_get_str(top[IFLA_IFNAME])) == "gdoi0");
    CHECK(mnl_attr_get_u32(top[IFLA_MTU]) == 1446);
    Attrs info;
    mnl_attr_parse_nested(top[IFLA_LINKINFO], collect, &info);
    CHECK(std::string(mnl_attr_get_str(info[IFLA_INFO_KIND])) == "ipip");
    Attrs data;
    mnl_attr_parse_nested(info[IFLA_INFO_DATA], collect, &data);
    CHECK(mnl_attr_get_u32(data[IFLA_IPTUN_LOCAL]) == htonl(0xa9fe0001));
    CHECK(mnl_attr_get_u32(data[IFLA_IPTUN_REMOTE]) == htonl(0xa9fe0002));
    CHECK(mnl_attr_get_u8(data[IFLA_IPTUN_TTL]) == 0);
    CHECK(mnl_attr_get_u8(data[IFLA_IPTUN_TOS]) == 1);
    CHECK(mnl_attr_get_u8(data[IFLA_IPTUN_PMTUDISC]) == 1);
}

TEST_CASE("IPIP needs IPv4 endpoints and a short name", "[rtnl]") {
    RtnlBatch b;
    CHECK_FALSE(
        b.create_ipip({"gdoi0", *Address::parse("2001:db8::1"), *Address::parse("2001:db8::2"), 0, true}));
    CHECK_FALSE(b.create_ipip({"a-very-long-device-name", *Address::parse("169.254.0.1"),
                               *Address::parse("169.254.0.2"), 0, true}));
    CHECK(b.empty());
}

TEST_CASE("create_ip6tnl: ip6ip6, encaplimit none, hoplimit 64, tclass and flowlabel inherit, no addrgen",
          "[rtnl][ipv6]") {
    RtnlBatch b;
    const auto local = *Address::parse("100::47");
    const auto remote = *Address::parse("100::48");
    REQUIRE(b.create_ip6tnl({"gdoi0", local, remote, 1406, true}));
    REQUIRE(b.count() == 2);
    const auto* nlh = reinterpret_cast<const nlmsghdr*>(b.bytes().data());
    CHECK(nlh->nlmsg_type == RTM_NEWLINK);
    CHECK((nlh->nlmsg_flags & (NLM_F_CREATE | NLM_F_EXCL)) == (NLM_F_CREATE | NLM_F_EXCL));
    Attrs top;
    mnl_attr_parse(nlh, sizeof(ifinfomsg), collect, &top);
    CHECK(std::string(mnl_attr_get_str(top[IFLA_IFNAME])) == "gdoi0");
    CHECK(mnl_attr_get_u32(top[IFLA_MTU]) == 1406);
    Attrs info;
    mnl_attr_parse_nested(top[IFLA_LINKINFO], collect, &info);
    CHECK(std::string(mnl_attr_get_str(info[IFLA_INFO_KIND])) == "ip6tnl");
    Attrs data;
    mnl_attr_parse_nested(info[IFLA_INFO_DATA], collect, &data);
    REQUIRE(mnl_attr_get_payload_len(data[IFLA_IPTUN_LOCAL]) == 16);
    CHECK(std::memcmp(mnl_attr_get_payload(data[IFLA_IPTUN_LOCAL]), local.bytes.data(), 16) == 0);
    CHECK(std::memcmp(mnl_attr_get_payload(data[IFLA_IPTUN_REMOTE]), remote.bytes.data(), 16) == 0);
    CHECK(mnl_attr_get_u8(data[IFLA_IPTUN_PROTO]) == IPPROTO_IPV6);
    CHECK(mnl_attr_get_u8(data[IFLA_IPTUN_TTL]) == 64);
    CHECK(mnl_attr_get_u32(data[IFLA_IPTUN_FLAGS]) ==
          (IP6_TNL_F_IGN_ENCAP_LIMIT | IP6_TNL_F_USE_ORIG_TCLASS | IP6_TNL_F_USE_ORIG_FLOWLABEL));

    // The second message: addrgenmode none on the new device.
    const int left = static_cast<int>(b.bytes().size() - nlh->nlmsg_len);
    const auto* set = reinterpret_cast<const nlmsghdr*>(b.bytes().data() + nlh->nlmsg_len);
    REQUIRE(mnl_nlmsg_ok(set, left));
    CHECK(set->nlmsg_type == RTM_NEWLINK);
    CHECK((set->nlmsg_flags & NLM_F_CREATE) == 0);
    Attrs set_top;
    mnl_attr_parse(set, sizeof(ifinfomsg), collect, &set_top);
    CHECK(std::string(mnl_attr_get_str(set_top[IFLA_IFNAME])) == "gdoi0");
    Attrs af;
    mnl_attr_parse_nested(set_top[IFLA_AF_SPEC], collect, &af);
    Attrs inet6;
    mnl_attr_parse_nested(af[AF_INET6], collect, &inet6);
    CHECK(mnl_attr_get_u8(inet6[IFLA_INET6_ADDR_GEN_MODE]) == IN6_ADDR_GEN_MODE_NONE);
}

TEST_CASE("ip6tnl needs IPv6 endpoints and a short name", "[rtnl][ipv6]") {
    RtnlBatch b;
    CHECK_FALSE(
        b.create_ip6tnl({"gdoi0", *Address::parse("169.254.0.1"), *Address::parse("169.254.0.2"), 0, true}));
    CHECK_FALSE(
        b.create_ip6tnl({"gdoi0", *Address::parse("100::47"), *Address::parse("169.254.0.2"), 0, true}));
    CHECK_FALSE(b.create_ip6tnl(
        {"a-very-long-device-name", *Address::parse("100::47"), *Address::parse("100::48"), 0, true}));
    CHECK(b.empty());
}

TEST_CASE("fwmark rules carry table, priority and the protocol tag", "[rtnl]") {
    RtnlBatch b;
    b.add_rule({Family::ipv4, 0x10, 0xff, 1000, 500});
    const auto* nlh = reinterpret_cast<const nlmsghdr*>(b.bytes().data());
    CHECK(nlh->nlmsg_type == RTM_NEWRULE);
    const auto* frh = static_cast<const fib_rule_hdr*>(mnl_nlmsg_get_payload(nlh));
    CHECK(frh->action == FR_ACT_TO_TBL);
    CHECK(frh->table == RT_TABLE_UNSPEC);  // 1000 does not fit the 8-bit field
    Attrs a;
    mnl_attr_parse(nlh, sizeof(fib_rule_hdr), collect, &a);
    CHECK(mnl_attr_get_u32(a[FRA_FWMARK]) == 0x10);
    CHECK(mnl_attr_get_u32(a[FRA_FWMASK]) == 0xff);
    CHECK(mnl_attr_get_u32(a[FRA_TABLE]) == 1000);
    CHECK(mnl_attr_get_u32(a[FRA_PRIORITY]) == 500);
    CHECK(mnl_attr_get_u8(a[FRA_PROTOCOL]) == kRouteProtocol);
}

TEST_CASE("routes on a missing device fail before reaching the kernel", "[rtnl]") {
    RtnlBatch b;
    auto s = b.add_route({*Prefix::parse("10.0.0.0/8"), "nothere0", std::nullopt, 100, 0});
    REQUIRE_FALSE(s);
    CHECK(s.error().message ==
          "add route 10.0.0.0/8 dev nothere0 table 100: no network device named 'nothere0'");
}

namespace {
// An RTM_NEWROUTE as the kernel dumps it (main table, unicast); the optional parts by flag.
std::vector<uint8_t> route_message(uint8_t dst_len, const char* gateway, uint32_t oif, uint32_t priority = 0,
                                   uint32_t table = RT_TABLE_MAIN, uint8_t family = AF_INET) {
    std::vector<uint8_t> buf(MNL_SOCKET_BUFFER_SIZE);
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
    nlh->nlmsg_type = RTM_NEWROUTE;
    nlh->nlmsg_flags = NLM_F_MULTI;
    auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
    rtm->rtm_family = family;
    rtm->rtm_dst_len = dst_len;
    rtm->rtm_table = table < 256 ? static_cast<uint8_t>(table) : static_cast<uint8_t>(RT_TABLE_UNSPEC);
    rtm->rtm_type = RTN_UNICAST;
    mnl_attr_put_u32(nlh, RTA_TABLE, table);
    if (dst_len) {
        in_addr dst{};
        inet_pton(AF_INET, "10.9.0.0", &dst);
        mnl_attr_put(nlh, RTA_DST, 4, &dst);
    }
    if (priority) mnl_attr_put_u32(nlh, RTA_PRIORITY, priority);
    if (gateway) {
        in_addr gw{};
        inet_pton(AF_INET, gateway, &gw);
        mnl_attr_put(nlh, RTA_GATEWAY, 4, &gw);
    }
    if (oif) mnl_attr_put_u32(nlh, RTA_OIF, oif);
    buf.resize(nlh->nlmsg_len);
    return buf;
}

std::vector<RouteState> parse_all(const std::vector<std::vector<uint8_t>>& messages) {
    std::vector<RouteState> routes;
    for (const auto& m : messages)
        if (auto r = parse_route(m)) routes.push_back(*r);
    return routes;
}
}  // namespace

TEST_CASE("an RTM_NEWROUTE is read back: prefix, table, device, gateway, metric", "[rtnl]") {
    auto r = parse_route(route_message(16, "192.168.1.1", 3, 100, 1000));
    REQUIRE(r);
    CHECK(r->family == Family::ipv4);
    CHECK(r->dst.to_string() == "10.9.0.0/16");
    CHECK(r->table == 1000);
    CHECK(r->type == RTN_UNICAST);
    CHECK(r->oif == 3);
    REQUIRE(r->gateway);
    CHECK(r->gateway->to_string() == "192.168.1.1");  // network order on any host
    CHECK(r->priority == 100);

    auto link = parse_route(route_message(0, nullptr, 2));
    REQUIRE(link);
    CHECK(link->dst.to_string() == "0.0.0.0/0");
    CHECK(!link->gateway);

    auto truncated = route_message(0, "192.168.1.1", 2);
    truncated.resize(sizeof(nlmsghdr) + 4);
    CHECK(!parse_route(truncated));
    auto other = route_message(0, "192.168.1.1", 2);
    reinterpret_cast<nlmsghdr*>(other.data())->nlmsg_type = RTM_NEWLINK;
    CHECK(!parse_route(other));
    CHECK(!parse_route(route_message(0, "192.168.1.1", 2, 0, RT_TABLE_MAIN, AF_BRIDGE)));
}

TEST_CASE("a multipath route stands for its first nexthop's device and gateway", "[rtnl]") {
    std::vector<uint8_t> buf(MNL_SOCKET_BUFFER_SIZE);
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
    nlh->nlmsg_type = RTM_NEWROUTE;
    auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
    rtm->rtm_family = AF_INET;
    rtm->rtm_table = RT_TABLE_MAIN;
    rtm->rtm_type = RTN_UNICAST;
    nlattr* multipath = mnl_attr_nest_start(nlh, RTA_MULTIPATH);
    for (const auto& [ifindex, gateway] : {std::pair{7, "192.0.2.1"}, std::pair{8, "198.51.100.1"}}) {
        auto* nh = static_cast<rtnexthop*>(mnl_nlmsg_get_payload_tail(nlh));
        nlh->nlmsg_len += RTNH_ALIGN(sizeof(rtnexthop));
        nh->rtnh_ifindex = ifindex;
        in_addr gw{};
        inet_pton(AF_INET, gateway, &gw);
        mnl_attr_put(nlh, RTA_GATEWAY, 4, &gw);
        nh->rtnh_len = static_cast<unsigned short>(
            reinterpret_cast<uint8_t*>(mnl_nlmsg_get_payload_tail(nlh)) - reinterpret_cast<uint8_t*>(nh));
    }
    mnl_attr_nest_end(nlh, multipath);
    auto r = parse_route({buf.data(), nlh->nlmsg_len});
    REQUIRE(r);
    CHECK(r->oif == 7);
    REQUIRE(r->gateway);
    CHECK(r->gateway->to_string() == "192.0.2.1");
}

TEST_CASE("the default gateway is the main table's IPv4 default route through the device", "[rtnl]") {
    const auto routes = parse_all({
        route_message(16, "10.0.0.254", 2),         // not a default route
        route_message(0, "10.0.0.1", 3),            // another device
        route_message(0, "10.0.0.2", 2, 0, 100),    // another table
        route_message(0, nullptr, 2),               // on-link default: no gateway
        route_message(0, "192.168.1.1", 2, 200),    // the one, but a higher metric
        route_message(0, "192.168.1.254", 2, 100),  // the one
    });
    auto gw = default_gateway(routes, 2);
    REQUIRE(gw);
    CHECK(gw->to_string() == "192.168.1.254");
    CHECK(default_gateway(routes, 3)->to_string() == "10.0.0.1");
    CHECK(!default_gateway(routes, 4));
    CHECK(!default_gateway(parse_all({route_message(0, nullptr, 2)}), 2));
}
