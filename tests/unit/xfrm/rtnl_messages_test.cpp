// rtnetlink requests read back with libmnl.
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/fib_rules.h>
#include <linux/if_link.h>
#include <linux/if_tunnel.h>
#include <linux/rtnetlink.h>

#include <catch2/catch.hpp>
#include <map>
#include <string>

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
    REQUIRE(b.create_ipip({"gdoi0", *Address::parse("169.254.0.1"), *Address::parse("169.254.0.2"), 1446, true}));
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
    CHECK_FALSE(b.create_ipip({"gdoi0", *Address::parse("2001:db8::1"), *Address::parse("2001:db8::2"), 0, true}));
    CHECK_FALSE(b.create_ipip({"a-very-long-device-name", *Address::parse("169.254.0.1"),
                               *Address::parse("169.254.0.2"), 0, true}));
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
    CHECK(s.error().message == "add route 10.0.0.0/8 dev nothere0 table 100: no network device named 'nothere0'");
}
