// A typical member for the policy unit tests: one LAN, one group 10.1/16 <-> 10.2/16.
#pragma once

#include "policy/rules.h"

namespace policy::test {

inline Selector sel(const char* src, const char* dst) {
    Selector s;
    if (src) s.source = *Prefix::parse(src);
    if (dst) s.destination = *Prefix::parse(dst);
    return s;
}

inline Selector tcp_dport(std::uint16_t port) {
    Selector s;
    s.protocol = 6;
    s.destination_port = PortRange::single(port);
    return s;
}

inline MemberRules member(bool tek) {
    MemberRules r;
    r.wan_ifname = "wan0";
    r.lan_ifnames = {"lan0"};
    r.carrier.g_in = *Ipv4::parse("192.0.0.1");
    r.carrier.g_out = *Ipv4::parse("192.0.0.2");
    r.clear_mark = 0x10;
    r.local_scope = {*Prefix::parse("10.1.0.0/16")};
    RuleSet g;
    g.group_id = 1;
    g.group_name = "GROUP_ID-0001";
    g.has_valid_tek = tek;
    g.policies.push_back({sel("10.1.0.0/16", "10.2.0.0/16")});
    g.exclude.push_back({tcp_dport(179)});
    auto fo = sel("10.1.0.0/16", "10.2.5.0/24");
    fo.protocol = 1;
    g.fail_open.push_back({fo});
    r.groups.push_back(g);
    return r;
}

}  // namespace policy::test
