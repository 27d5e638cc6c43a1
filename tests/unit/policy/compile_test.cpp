// The compiled table: chains, hooks, priorities, and above all the order of the rules
// (1 exclude, 2 group policy, 3 fail-open, 4 fail-closed).
#include "policy/compile.h"

#include <algorithm>
#include <catch2/catch.hpp>

#include "test_rules.h"

using namespace policy;
using policy::test::member;

namespace {

// The chain without its IPv6 link-signalling exemptions (the same in every chain that has them;
// their own test below): the other tests look at the group rules' order.
ChainSpec chain(const TableSpec& t, const char* name) {
    const auto* c = t.find_chain(name);
    REQUIRE(c != nullptr);
    ChainSpec out = *c;
    std::erase_if(out.rules, [](const RuleSpec& r) { return r.role == RuleRole::link_signalling; });
    return out;
}

std::vector<RuleRole> roles(const ChainSpec& c) {
    std::vector<RuleRole> out;
    for (const auto& r : c.rules) out.push_back(r.role);
    return out;
}

std::vector<std::string> texts(const ChainSpec& c) {
    std::vector<std::string> out;
    for (const auto& r : c.rules) out.push_back(r.to_string());
    return out;
}

}  // namespace

TEST_CASE("invalid rules do not compile") {
    auto r = member(false);
    r.lan_ifnames.clear();
    CHECK_FALSE(compile(r).ok());
}

TEST_CASE("base chains hook where the layout needs them") {
    const auto t = *compile(member(true));
    CHECK(t.name == "gdoi_member");
    const auto& esp = chain(t, kChainEspInbound);
    REQUIRE(esp.base);
    CHECK(esp.base->hook == Hook::prerouting);
    CHECK(esp.base->priority == -300);  // before conntrack (-200)
    CHECK(chain(t, kChainLocalClassify).base->type == ChainType::route);
    CHECK(chain(t, kChainLocalClassify).base->hook == Hook::output);
    CHECK(chain(t, kChainLanClassify).base->hook == Hook::prerouting);
    CHECK(chain(t, kChainPostrouting).base->hook == Hook::postrouting);
    CHECK_FALSE(chain(t, kChainClassify).base);
    // Every jump target is created before the chain that jumps to it.
    const auto pos = [&](const char* n) {
        return std::find_if(t.chains.begin(), t.chains.end(),
                            [&](const ChainSpec& c) { return c.name == n; }) -
               t.chains.begin();
    };
    CHECK(pos(kChainClassify) < pos(kChainLanClassify));
    CHECK(pos(kChainOutbound) < pos(kChainForward));
    CHECK(pos(kChainInbound) < pos(kChainInput));
}

TEST_CASE("classify: exclude, then group policy, then fail-open") {
    const auto t = *compile(member(false));
    const auto& c = chain(t, kChainClassify);
    CHECK(roles(c) == std::vector<RuleRole>{RuleRole::exclude, RuleRole::exclude, RuleRole::group_policy,
                                            RuleRole::fail_open, RuleRole::fail_open});
    CHECK(texts(c)[0] ==
          "meta l4proto tcp th dport 179 meta mark set 0x00000010 counter accept comment "
          "\"exclude 1 of GROUP_ID-0001: any -> any tcp dport 179\"");
    CHECK(texts(c)[1].find("th sport 179") != std::string::npos);  // replies of excluded flows
    CHECK(std::all_of(c.rules.begin(), c.rules.end(), [](const RuleSpec& r) { return r.counter; }));
}

TEST_CASE("without a valid TEK group policy only counts and the fail-open set is filled") {
    const auto t = *compile(member(false));
    const auto& c = chain(t, kChainClassify);
    CHECK(c.rules[2].verdict.kind == VerdictKind::none);
    CHECK_THAT(c.rules[2].comment, Catch::Contains("no valid TEK"));
    const auto* set = t.find_set(fail_open_set_name(1, Family::ipv4));
    REQUIRE(set != nullptr);
    CHECK(set->elements.size() == 1);
    CHECK(set->available.size() == 1);
    CHECK_FALSE(t.find_set(fail_open_set_name(1, Family::ipv6)));  // no IPv6 fail-open rule
    CHECK(c.rules[3].to_string() ==
          "meta nfproto ipv4 ip saddr . ip daddr . meta l4proto . th sport . th dport @failopen4_1 "
          "meta mark set 0x00000010 counter accept comment \"fail-open of GROUP_ID-0001 @failopen4_1\"");
    CHECK(c.rules[4].to_string().find(
              "ip daddr . ip saddr . meta l4proto . th dport . th sport @failopen4_1") != std::string::npos);
    // No group rule leads into the carrier.
    for (const auto& r : chain(t, kChainOutbound).rules) CHECK(r.role != RuleRole::group_policy);
}

TEST_CASE("with a valid TEK group policy accepts (encrypt) and the fail-open set is empty") {
    const auto t = *compile(member(true));
    const auto& c = chain(t, kChainClassify);
    CHECK(c.rules[2].verdict.kind == VerdictKind::accept);
    CHECK_THAT(c.rules[2].comment, Catch::EndsWith("encrypt"));
    CHECK(t.find_set(fail_open_set_name(1, Family::ipv4))->elements.empty());
    CHECK(t.find_set(fail_open_set_name(1, Family::ipv4))->available.size() == 1);
}

TEST_CASE("outbound enforcement: clear marks pass, group traffic only into the carrier, then fail-closed") {
    const auto t = *compile(member(true));
    const auto& o = chain(t, kChainOutbound);
    CHECK(roles(o) == std::vector<RuleRole>{RuleRole::plumbing, RuleRole::exclude, RuleRole::mss_clamp,
                                            RuleRole::group_policy, RuleRole::fail_closed});
    CHECK(texts(o)[0] == "oifname @lan_ifnames counter return comment \"LAN to LAN: not group traffic\"");
    // TCP into the carrier: the MSS follows the carrier's MTU (no verdict: enforcement goes on).
    CHECK(texts(o)[2] ==
          "oifname \"gdoi0\" tcp flags & (syn | rst) == syn tcp option maxseg size set rt mtu counter "
          "comment \"GROUP_ID-0001: TCP MSS of SYNs into carrier gdoi0 := its MTU - 40\"");
    CHECK(texts(o)[3] ==
          "oifname \"gdoi0\" meta nfproto ipv4 ip saddr . ip daddr . meta l4proto @scope4_1 counter "
          "accept comment \"GROUP_ID-0001 policies @scope4_1: into carrier gdoi0\"");
    CHECK(texts(o)[4] ==
          "meta nfproto ipv4 ip saddr . ip daddr . meta l4proto @scope4_1 counter drop comment "
          "\"fail-closed GROUP_ID-0001 policies @scope4_1\"");
}

TEST_CASE("each keyed group's traffic goes only into its own carrier") {
    auto m = member(true);
    m.groups[0].carrier_ifname = "gdoi3";
    const auto t = *compile(m);
    const auto& o = chain(t, kChainOutbound);
    CHECK(texts(o)[3] ==
          "oifname \"gdoi3\" meta nfproto ipv4 ip saddr . ip daddr . meta l4proto @scope4_1 counter "
          "accept comment \"GROUP_ID-0001 policies @scope4_1: into carrier gdoi3\"");
}

TEST_CASE("inbound: decrypted passes, exclude and fail-open pass, cleartext into the scope drops") {
    const auto t = *compile(member(false));
    const auto& i = chain(t, kChainInbound);
    CHECK(texts(i)[0] == "meta ipsec exists counter accept comment \"decrypted by a group SA\"");
    CHECK(i.rules.back().role == RuleRole::fail_closed);
    CHECK(i.rules.back().verdict.kind == VerdictKind::drop);
    const auto& in = chain(t, kChainInput);
    CHECK(texts(in)[0] ==
          "iifname \"wan0\" meta nfproto ipv4 ip daddr 192.0.0.1 meta l4proto ipencap meta ipsec "
          "missing counter drop comment \"cleartext IPIP to G_IN (carrier bypass)\"");
}

TEST_CASE("LAN traffic routed back to a LAN is not classified") {
    auto r = member(true);
    r.lan_ifnames = {"lan0", "lan1"};
    const auto t = *compile(r);
    CHECK(texts(chain(t, kChainLanClassify)) ==
          std::vector<std::string>{
              // The WAN's packets (ESP, and what it decrypts to) leave before any route lookup.
              "iifname != @lan_ifnames counter return comment \"not from the LAN\"",
              "fib daddr oifname \"lan0\" counter return comment \"routed to LAN lan0: not group traffic\"",
              "fib daddr oifname \"lan1\" counter return comment \"routed to LAN lan1: not group traffic\"",
              "iifname @lan_ifnames counter jump classify comment \"from the LAN\""});
}

TEST_CASE("ESP for the own scope is readdressed to G_OUT -> G_IN before conntrack") {
    const auto t = *compile(member(true));
    const auto& e = chain(t, kChainEspInbound);
    REQUIRE(e.rules.size() == 1);
    CHECK(
        e.rules[0].to_string().rfind(
            "iifname \"wan0\" meta nfproto ipv4 meta l4proto esp ip daddr 10.1.0.0/16 ip saddr set 192.0.0.2 "
            "ip daddr set 192.0.0.1 notrack counter comment",
            0) == 0);
    // The member's own ESP leaves untracked too, and so does the carrier: no NAT can touch them.
    CHECK(texts(chain(t, kChainNotrackOutput)) ==
          std::vector<std::string>{"meta nfproto ipv4 ip saddr 192.0.0.1 meta l4proto ipencap notrack "
                                   "counter comment \"carrier IPIP: no "
                                   "conntrack, no NAT\"",
                                   "meta nfproto ipv4 meta l4proto esp ip saddr 10.1.0.0/16 notrack counter "
                                   "comment \"group ESP from own "
                                   "scope 10.1.0.0/16: no conntrack, no NAT\""});
    CHECK(chain(t, kChainNotrackOutput).base->priority < -200);  // before conntrack
}

TEST_CASE("postrouting: carrier rewrite, carrier guard, then the last-resort WAN guard") {
    const auto t = *compile(member(true));
    const auto& p = chain(t, kChainPostrouting);
    CHECK(roles(p) == std::vector<RuleRole>{RuleRole::wan_guard, RuleRole::health, RuleRole::carrier_rewrite,
                                            RuleRole::carrier_guard, RuleRole::carrier_rewrite,
                                            RuleRole::carrier_guard, RuleRole::wan_guard,
                                            RuleRole::wan_guard});
    // The group's ESP first: every packet the group sends passes here as ESP.
    CHECK(texts(p)[0] == "oifname \"wan0\" meta l4proto esp counter accept comment \"ESP\"");
    // Counted and done: a packet entering a carrier leaves inside its IPIP, checked in its turn.
    CHECK(texts(p)[1] == "oifname \"gdoi0\" counter accept comment \"health: into carrier gdoi0\"");
    // Any IPIP from G_IN is a carrier packet: every group's carrier has its own peer address.
    CHECK(texts(p)[2].rfind("meta nfproto ipv4 ip saddr 192.0.0.1 meta l4proto ipencap rt ipsec "
                            "exists ip saddr set @nh,256,32 ip daddr set @nh,288,32 counter accept",
                            0) == 0);
    CHECK(texts(p)[3].rfind("meta nfproto ipv4 ip saddr 192.0.0.1 meta l4proto ipencap counter drop", 0) ==
          0);
    // A carrier already readdressed (by the bridge table during apply) passes only with an SA.
    CHECK(texts(p)[4].rfind("meta nfproto ipv4 meta l4proto ipencap rt ipsec exists counter accept", 0) == 0);
    // Source NAT cannot hide a carrier: its destination is a carrier peer.
    CHECK(texts(p)[5].rfind("meta nfproto ipv4 meta l4proto ipencap ip daddr 192.0.0.2 counter drop", 0) ==
          0);
    CHECK(texts(p)[6].rfind("oifname \"wan0\" meta mark 0x00000010 counter accept", 0) == 0);
    CHECK(p.rules[7].verdict.kind == VerdictKind::drop);
    // The same WAN guard before source NAT, where the addresses are still the original ones; what
    // does not leave by the WAN is done at its first rule (every drop here is of WAN traffic).
    const auto& early = chain(t, kChainPostroutingEarly);
    CHECK(early.base->priority < 100);
    CHECK(roles(early) == std::vector<RuleRole>{RuleRole::plumbing, RuleRole::wan_guard,
                                                RuleRole::carrier_rewrite, RuleRole::wan_guard,
                                                RuleRole::wan_guard});
    CHECK(texts(early)[0] ==
          "oifname != \"wan0\" counter accept comment \"not leaving by the WAN: nothing "
          "to guard before NAT\"");
    CHECK(texts(early)[1] == texts(p)[0]);
    CHECK(texts(early)[4] == texts(p)[7]);
    for (std::size_t i = 1; i < early.rules.size(); ++i)
        if (early.rules[i].verdict.kind == VerdictKind::drop)
            CHECK_THAT(texts(early)[i], Catch::StartsWith("oifname \"wan0\" "));
}

TEST_CASE("df-bit clear: the group's carrier leaves without Don't Fragment") {
    auto m = member(true);
    m.groups[0].carrier_peer = *Ipv4::parse("192.0.0.5");
    m.groups[0].clear_df = true;
    m.carrier.peers = *Prefix::parse("192.0.0.0/24");
    const auto t = *compile(m);
    const auto& p = chain(t, kChainPostrouting);
    CHECK(texts(p)[2] ==
          "meta nfproto ipv4 ip saddr 192.0.0.1 meta l4proto ipencap ip daddr 192.0.0.5 rt ipsec exists ip "
          "saddr set @nh,256,32 ip daddr set @nh,288,32 ip frag-off set ip frag-off & 0xbfff counter "
          "accept comment \"carrier of GROUP_ID-0001: inner addresses out, DF cleared, then ESP\"");
    // The group's own guards (counted per group by the health check), then the catch-all ones.
    const auto t2 = texts(p);
    const auto has = [&](const std::string& prefix) {
        return std::any_of(t2.begin(), t2.end(),
                           [&](const std::string& x) { return x.rfind(prefix, 0) == 0; });
    };
    CHECK(has(
        "meta nfproto ipv4 ip saddr 192.0.0.1 meta l4proto ipencap ip daddr 192.0.0.5 counter drop comment "
        "\"carrier of GROUP_ID-0001 without SA"));
    CHECK(
        has("meta nfproto ipv4 meta l4proto ipencap ip daddr 192.0.0.5 counter drop comment \"IPIP to the "
            "carrier "
            "peer of GROUP_ID-0001"));
    CHECK(has("meta nfproto ipv4 meta l4proto ipencap ip daddr 192.0.0.0/24 counter drop"));
    m.groups[0].clear_df = false;
    CHECK(chain(*compile(m), kChainPostrouting).rules.size() == p.rules.size() - 1);
}

TEST_CASE("a scope covering the carrier's pseudo addresses never takes the carrier before NAT") {
    auto m = member(true);
    m.groups[0].policies = {{test::sel("0.0.0.0/0", "0.0.0.0/0")}};
    const auto t = *compile(m);
    const auto& early = chain(t, kChainPostroutingEarly);
    REQUIRE_FALSE(early.rules.empty());
    // The carrier with an SA is accepted before any scope drop (it leaves as ESP).
    CHECK(texts(early)[2].rfind(
              "meta nfproto ipv4 ip saddr 192.0.0.1 meta l4proto ipencap rt ipsec exists counter accept",
              0) == 0);
    CHECK(early.rules.back().verdict.kind == VerdictKind::drop);
}

TEST_CASE("IPv6 neighbour discovery and MLD arriving at and leaving the member pass, before any group rule") {
    const auto t = *compile(member(false));
    // Not in classify (prerouting): a LAN host's packet still has its full hop limit there.
    for (const auto& r : t.find_chain(kChainClassify)->rules) CHECK(r.role != RuleRole::link_signalling);
    for (const auto* name : {kChainInbound, kChainPostroutingEarly, kChainPostrouting}) {
        INFO(name);
        const auto* c = t.find_chain(name);
        REQUIRE(c != nullptr);
        std::vector<std::string> signalling;
        std::size_t first_group_rule = c->rules.size(), last_signalling = 0;
        for (std::size_t i = 0; i < c->rules.size(); ++i) {
            if (c->rules[i].role == RuleRole::link_signalling) {
                signalling.push_back(c->rules[i].to_string());
                last_signalling = i;
            }
            if (c->rules[i].group_id != 0) first_group_rule = std::min(first_group_rule, i);
        }
        REQUIRE(signalling.size() == 3);
        CHECK(last_signalling < first_group_rule);
        CHECK_THAT(signalling[0],
                   Catch::StartsWith("meta nfproto ipv6 meta l4proto ipv6-icmp icmpv6 type 133-137 "
                                     "ip6 hoplimit 255"));
        CHECK_THAT(signalling[1],
                   Catch::StartsWith("meta nfproto ipv6 meta l4proto ipv6-icmp icmpv6 type 130-132 "
                                     "ip6 hoplimit 1 ip6 saddr fe80::/10"));
        CHECK_THAT(signalling[2],
                   Catch::StartsWith("meta nfproto ipv6 meta l4proto ipv6-icmp icmpv6 type 143 "
                                     "ip6 hoplimit 1 ip6 saddr fe80::/10"));
        for (const auto& text : signalling) CHECK_THAT(text, Catch::Contains("accept"));
    }
}

TEST_CASE("the member's own IKE/GDOI comes before every group rule") {
    auto m = member(false);
    Selector ks = test::sel(nullptr, "10.2.0.9/32");
    ks.protocol = 17;
    ks.source_port = ks.destination_port = PortRange::single(848);
    m.own_traffic.push_back(ks);
    const auto t = *compile(m);
    // In classify, first; in inbound, after only the accepts of the group's own ESP and what it
    // decrypted, ahead of every drop and every group rule.
    for (const char* name : {kChainClassify, kChainInbound}) {
        const auto& c = chain(t, name);
        const auto first_own = std::find_if(c.rules.begin(), c.rules.end(), [](const RuleSpec& x) {
            return x.role == RuleRole::own_traffic;
        });
        REQUIRE(first_own + 1 < c.rules.end());
        CHECK((first_own + 1)->role == RuleRole::own_traffic);  // the reply direction
        CHECK(first_own->verdict.kind == VerdictKind::accept);
        for (auto it = c.rules.begin(); it != first_own; ++it) {
            CHECK(it->verdict.kind == VerdictKind::accept);
            CHECK(it->group_id == 0);
        }
    }
    CHECK(chain(t, kChainClassify).rules[0].role == RuleRole::own_traffic);
    CHECK(texts(chain(t, kChainClassify))[1] ==
          "meta nfproto ipv4 ip saddr 10.2.0.9 meta l4proto udp th sport 848 th dport 848 meta mark set "
          "0x00000010 "
          "counter accept comment \"member's IKE/GDOI 10.2.0.9/32 -> any udp sport 848 dport 848: never "
          "encrypted or "
          "dropped\"");
    // In both WAN guards, ahead of the scope drops.
    for (const char* name : {kChainPostrouting, kChainPostroutingEarly}) {
        const auto rs = roles(chain(t, name));
        const auto& c = chain(t, name);
        const auto own = std::find(rs.begin(), rs.end(), RuleRole::own_traffic) - rs.begin();
        const auto drop =
            std::find_if(c.rules.begin(), c.rules.end(),
                         [](const RuleSpec& x) {
                             return x.role == RuleRole::wan_guard && x.verdict.kind == VerdictKind::drop;
                         }) -
            c.rules.begin();
        CHECK(own < drop);
    }
}

TEST_CASE("several groups keep the global priority order") {
    auto r = member(true);
    auto g2 = r.groups[0];
    g2.group_id = 2;
    g2.group_name = "G2";
    g2.has_valid_tek = false;
    g2.fail_open.push_back({test::sel(nullptr, "2001:db8::/32")});
    r.groups.push_back(g2);
    const auto t = *compile(r);
    const auto rs = roles(chain(t, kChainClassify));
    CHECK(std::is_sorted(rs.begin(), rs.end(), [](RuleRole a, RuleRole b) {
        const auto rank = [](RuleRole x) {
            return x == RuleRole::exclude ? 1 : x == RuleRole::group_policy ? 2 : 3;
        };
        return rank(a) < rank(b);
    }));
    // An any-family fail-open rule lands in both families' sets; IPv4-only rules only in failopen4.
    CHECK(t.find_set("failopen4_2")->elements.size() == 1);
    CHECK(t.find_set("failopen6_2")->elements.size() == 1);
    CHECK(t.find_set("failopen6_2")->elements[0].selector.source->family == Family::ipv6);
}

TEST_CASE("a symmetric selector is not emitted twice") {
    auto r = member(true);
    r.groups[0].policies = {{test::sel("10.0.0.0/8", "10.0.0.0/8")}};
    const auto t = *compile(r);
    CHECK(t.find_set("scope4_1")->elements.size() == 1);
    auto ported = test::tcp_dport(443);
    ported.source = *Prefix::parse("10.0.0.0/8");
    ported.destination = ported.source;
    ported.source_port = ported.destination_port;  // 443 <-> 443: its own mirror
    r.groups[0].policies = {{ported}};
    // return, mark, MSS clamp, carrier + its fragments, fail-closed + its fragments: one of each, not two
    CHECK(chain(*compile(r), kChainOutbound).rules.size() == 7);
}

TEST_CASE("a policy with ports also catches its IPv4 non-first fragments") {
    auto r = member(false);
    auto web = test::sel("10.1.0.0/16", "10.3.0.0/16");
    web.protocol = 6;
    web.destination_port = PortRange::single(80);
    r.groups[0].policies = {{web}};
    const auto t = *compile(r);
    const auto o = texts(chain(t, kChainOutbound));
    REQUIRE(o.size() == 6);  // return, mark, 2 directions, 2 directions of fragments
    CHECK(o[2].rfind("meta nfproto ipv4 ip saddr 10.1.0.0/16 ip daddr 10.3.0.0/16 meta l4proto tcp th dport "
                     "80 counter drop",
                     0) == 0);
    CHECK(o[4].rfind("meta nfproto ipv4 ip saddr 10.1.0.0/16 ip daddr 10.3.0.0/16 meta l4proto tcp ip "
                     "frag-off & 0x1fff != 0 "
                     "counter drop comment \"fail-closed GROUP_ID-0001 policy 1 fragments",
                     0) == 0);
    CHECK_FALSE(t.find_set("scope4_1"));
}

TEST_CASE("policies without ports go into the scope set, both directions, with counters") {
    const auto t = *compile(member(true));
    const auto* s = t.find_set(scope_set_name(1, Family::ipv4));
    REQUIRE(s != nullptr);
    CHECK(s->kind == SetSpec::Kind::scope);
    REQUIRE(s->elements.size() == 2);
    CHECK(s->elements[0].selector.to_string() == "10.1.0.0/16 -> 10.2.0.0/16");
    CHECK(s->elements[1].selector.to_string() == "10.2.0.0/16 -> 10.1.0.0/16");
    CHECK(s->elements[0].comment == "GROUP_ID-0001 policy 1: 10.1.0.0/16 -> 10.2.0.0/16");
    CHECK_THAT(t.to_string(),
               Catch::Contains("set scope4_1 {\n\t\ttype ipv4_addr . ipv4_addr . inet_proto\n\t\tflags "
                               "interval\n\t\tcounter\n"));
}

TEST_CASE("1,000 policies cost the same number of rules as one") {
    auto r = member(false);
    const auto one = compile(r)->rule_count();
    r.groups[0].policies.clear();
    for (int i = 0; i < 1000; ++i)
        r.groups[0].policies.push_back({test::sel(
            "10.1.0.0/24",
            ("10." + std::to_string(2 + i / 256) + "." + std::to_string(i % 256) + ".0/24").c_str())});
    const auto t = *compile(r);
    CHECK(t.rule_count() == one);
    CHECK(t.find_set("scope4_1")->elements.size() == 2000);
}

TEST_CASE("overlapping elements are split over several sets (pipapo refuses overlaps)") {
    auto r = member(false);
    auto dns = Selector{};
    dns.protocol = 17;
    dns.destination_port = PortRange::single(53);
    r.groups[0].fail_open = {
        {test::sel("10.1.0.0/16", "10.2.0.0/16")}, {dns}, {test::sel("10.1.0.0/16", "10.2.0.0/16")}};
    const auto t = *compile(r);
    // 10.1/16 -> 10.2/16 (any protocol) overlaps udp/53 from anywhere; the exact duplicate is dropped.
    REQUIRE(t.find_set("failopen4_1") != nullptr);
    REQUIRE(t.find_set("failopen4_1_2") != nullptr);
    CHECK(t.find_set("failopen4_1")->elements.size() == 1);
    CHECK(t.find_set("failopen4_1_2")->elements.size() == 1);
    CHECK(t.find_set("failopen6_1")->elements.size() == 1);  // udp/53 for any family
    std::size_t lookups = 0;
    for (const auto& rule : chain(t, kChainClassify).rules) lookups += rule.role == RuleRole::fail_open;
    CHECK(lookups == 6);  // 3 sets x 2 directions
}

TEST_CASE("the table prints as nft syntax") {
    const auto text = compile(member(false))->to_string();
    CHECK_THAT(text, Catch::StartsWith("table inet gdoi_member {"));
    CHECK_THAT(text, Catch::Contains("type filter hook prerouting priority -300; policy accept;"));
    CHECK_THAT(text, Catch::Contains("10.1.0.0/16 . 10.2.5.0/24 . 1 . 0-65535 . 0-65535"));
}

TEST_CASE("anti-replay: per SPI a window check ahead of the readdressing, counted in replay_<id>") {
    auto rules = member(true);
    rules.groups[0].replay = ReplayCheck{{0x1000, 0x2000}, {{1000, 1999}}};
    const auto t = *compile(rules);
    CHECK(texts(chain(t, kChainEspInbound)).at(0) ==
          "iifname \"wan0\" meta l4proto esp esp spi 4096 esp sequence != 1000-1999 jump replay_1 comment "
          "\"anti-replay GROUP_ID-0001 SPI 0x00001000: window check\"");
    CHECK(texts(chain(t, kChainEspInbound)).at(1).find("esp spi 8192 esp sequence != 1000-1999") !=
          std::string::npos);
    CHECK(texts(chain(t, kChainEspInbound)).at(2).find("ESP for own scope") != std::string::npos);
    // The counting rules: one per SPI, in a chain created before esp_inbound jumps to it.
    CHECK(texts(chain(t, "replay_1")) ==
          std::vector<std::string>{"meta l4proto esp esp spi 4096 counter drop comment \"anti-replay "
                                   "GROUP_ID-0001 SPI 0x00001000: outside the time window\"",
                                   "meta l4proto esp esp spi 8192 counter drop comment \"anti-replay "
                                   "GROUP_ID-0001 SPI 0x00002000: outside the time window\""});
    const auto pos = [&](const std::string& n) {
        return std::find_if(t.chains.begin(), t.chains.end(),
                            [&](const ChainSpec& c) { return c.name == n; }) -
               t.chains.begin();
    };
    CHECK(pos("replay_1") < pos(kChainEspInbound));
    // Across the wrap ([0, 99] and [4000000000, max]): what lies between is outside.
    rules.groups[0].replay->accepted = {{0, 99}, {4000000000u, 0xffffffffu}};
    CHECK(texts(chain(*compile(rules), kChainEspInbound))
              .at(0)
              .find("esp sequence 100-3999999999 jump replay_1") != std::string::npos);
    // Off: no rule, no chain.
    CHECK(chain(*compile(member(true)), kChainEspInbound).rules.size() == 1);
    CHECK_FALSE(compile(member(true))->find_chain("replay_1"));
    // An empty or reversed window is refused (it would drop every packet of the SPIs).
    rules.groups[0].replay->accepted.clear();
    CHECK_FALSE(compile(rules));
    rules.groups[0].replay->accepted = {{2000, 1000}};
    CHECK_FALSE(compile(rules));
}
