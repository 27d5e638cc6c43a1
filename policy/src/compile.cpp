// MemberRules -> TableSpec: the rule layout of ARCHITECTURE.md.
//
// Decision and enforcement are split, because routing happens in between:
//  - classify (prerouting for LAN traffic, route/output for the member's own traffic) decides
//    in priority order 1 exclude -> mark clear, 2 group policy -> accept unmarked (routed into
//    the carrier), 3 fail-open -> mark clear. The mark must be set before the routing decision
//    so the fwmark rule (xfrm/) sends clear traffic to the WAN table.
//  - outbound (forward) enforces after routing: marked clear passes, group traffic passes only
//    into the carrier, the rest of the scope is dropped (4 fail-closed).
//  - postrouting rewrites the carrier, never lets a carrier without SA out, and as a last resort
//    drops scope traffic leaving by the WAN that is neither ESP nor marked clear.
//  - inbound (forward + input from the WAN) lets decrypted traffic in and drops cleartext into
//    the protected scope; esp_inbound (prerouting -300) readdresses ESP to the one inbound SA.
//  - Coexistence with the router's own rules: the carrier's IPIP and the group's ESP
//    are untracked (raw priority, before conntrack at -200), so no NAT rule of the operator can
//    rewrite them (a masqueraded carrier no longer matches its out policy and would leave as
//    cleartext IPIP). The postrouting guard, after NAT, matches what NAT cannot change: IPIP to
//    the carrier peers; the scope guard also runs before source NAT (postrouting_early).
//  - The member's own IKE/GDOI traffic with its key servers comes first everywhere:
//    a key server inside a group's scope must stay reachable while the group is fail-closed.
// Every selector applies in both directions (the selector and its mirror): replies of excluded
// or fail-open flows must pass too, and scope traffic is dropped whichever way it goes.
// Group policies without ports live in per-group scope sets (saddr . daddr . l4proto, see
// compile_sets.cpp): each use is one lookup, so the per-packet cost and the batch size do not
// grow with the number of policies (1,000 policies as rules added 0.2 ms to a LAN round trip).
// Policies with ports stay one rule per direction.
#include "policy/compile.h"

#include "common/hex_spi.h"
#include "compile_sets.h"
#include "policy/nft_counters.h"

namespace policy {
namespace {

using detail::both_directions;
using detail::group_label;
using detail::has_ports;

constexpr std::uint8_t kProtoIpip = 4;
constexpr std::uint8_t kProtoIpv6 = 41;  // ip6ip6: the IPv6 carrier's outer next header
constexpr std::uint8_t kProtoEsp = 50;
constexpr std::uint8_t kProtoIcmpv6 = 58;

Prefix host(const common::IpAddress& a) { return Prefix::from(common::IpPrefix::host(a)); }
Prefix host(const Ipv4& a) { return host(a.ip()); }

// One carrier of the member as the rules see it: IPIP (always) and ip6ip6 (carrier.ipv6). The
// rules of both are the same but for family, protocol and offsets; the IPv6 ones come after the
// IPv4 ones (disjoint by family, so the order changes no verdict).
struct CarrierView {
    Family family;
    common::IpAddress g_in;
    common::IpAddress g_out;
    Prefix peers;
    std::uint8_t protocol;  // of the outer header: IPIP or IPv6
    const char* name;       // in comments
};

std::vector<CarrierView> carriers(const MemberRules& r) {
    std::vector<CarrierView> out{{Family::ipv4, r.carrier.g_in.ip(), r.carrier.g_out.ip(),
                                  r.carrier.peers ? *r.carrier.peers : host(r.carrier.g_out), kProtoIpip,
                                  "IPIP"}};
    if (const auto& v6 = r.carrier.ipv6)
        out.push_back({Family::ipv6, v6->g_in, v6->g_out, v6->peers ? *v6->peers : host(v6->g_out),
                       kProtoIpv6, "ip6ip6"});
    return out;
}

// The group's carrier of a family: its device and peer (nullopt: none of that family).
struct GroupCarrier {
    std::string ifname;
    std::optional<common::IpAddress> peer;
};
std::optional<GroupCarrier> group_carrier(const MemberRules& r, const RuleSet& g, Family family) {
    if (family == Family::ipv6) {
        if (!r.carrier.ipv6 || g.carrier6_ifname.empty()) return std::nullopt;
        return GroupCarrier{g.carrier6_ifname, g.carrier6_peer};
    }
    std::optional<common::IpAddress> peer;
    if (g.carrier_peer) peer = g.carrier_peer->ip();
    return GroupCarrier{g.carrier_ifname.empty() ? r.carrier.ifname : g.carrier_ifname, peer};
}

std::vector<Match> selector_matches(const Selector& s) {
    std::vector<Match> m;
    if (s.family() != Family::any) m.push_back(MatchFamily{s.family()});
    if (s.source && s.source->length > 0) m.push_back(MatchPrefix{true, *s.source});
    if (s.destination && s.destination->length > 0) m.push_back(MatchPrefix{false, *s.destination});
    if (s.protocol) m.push_back(MatchL4Proto{*s.protocol});
    if (s.source_port) m.push_back(MatchPort{true, *s.source_port});
    if (s.destination_port) m.push_back(MatchPort{false, *s.destination_port});
    return m;
}

RuleSpec rule(RuleRole role, std::uint32_t group, std::vector<Match> matches, Verdict verdict,
              std::string comment) {
    RuleSpec r;
    r.role = role;
    r.group_id = group;
    r.matches = std::move(matches);
    r.verdict = std::move(verdict);
    r.comment = std::move(comment);
    return r;
}

std::vector<Match> plus(std::vector<Match> a, std::vector<Match> b) {
    a.insert(a.begin(), b.begin(), b.end());
    return a;
}

const Verdict kAccept{VerdictKind::accept, {}};
const Verdict kDrop{VerdictKind::drop, {}};
const Verdict kReturn{VerdictKind::ret, {}};
const Verdict kNone{VerdictKind::none, {}};
Verdict jump(const char* chain) { return {VerdictKind::jump, chain}; }

std::vector<const SetSpec*> sets_of(const TableSpec& t, SetSpec::Kind kind, std::uint32_t group) {
    std::vector<const SetSpec*> out;
    for (const auto& s : t.sets)
        if (s.kind == kind && s.group_id == group) out.push_back(&s);
    return out;
}

// How a rule matches "the group's policies": one lookup per scope set, plus one rule per
// direction of each policy with ports (ports cannot go in the fragment-safe scope set).
struct PolicyMatch {
    std::vector<Match> matches;
    std::string what;             // for comments
    Family family = Family::any;  // of the traffic it matches (any: both)
};
std::vector<PolicyMatch> policy_matches(const TableSpec& t, const RuleSet& g) {
    std::vector<PolicyMatch> out;
    for (const auto* s : sets_of(t, SetSpec::Kind::scope, g.group_id))
        out.push_back(
            {{MatchFamily{s->family}, MatchScopeSet{s->name, s->family}}, "policies @" + s->name, s->family});
    const auto scope = g.fail_closed_scope();
    for (std::size_t i = 0; i < scope.size(); ++i) {
        if (!has_ports(scope[i])) continue;
        for (const auto& s : both_directions(scope[i]))
            out.push_back(
                {selector_matches(s), "policy " + std::to_string(i + 1) + ": " + s.to_string(), s.family()});
        // Its IPv4 non-first fragments carry no ports: match them by addresses and protocol,
        // else they would leave in clear while fail-closed (useless without the first
        // fragment to the receiver, but their bytes would cross the WAN).
        if (scope[i].family() == Family::ipv6) continue;
        auto unported = scope[i];
        unported.source_port.reset();
        unported.destination_port.reset();
        unported.source = unported.source ? unported.source : Prefix::any(Family::ipv4);
        for (const auto& s : both_directions(unported)) {
            auto m = selector_matches(s);
            m.push_back(MatchIpv4Fragment{});
            out.push_back({std::move(m), "policy " + std::to_string(i + 1) + " fragments: " + s.to_string(),
                           Family::ipv4});
        }
    }
    return out;
}

// Fail-open lookups, both directions (replies of a fail-open flow pass too).
std::vector<PolicyMatch> fail_open_matches(const TableSpec& t, const RuleSet& g) {
    std::vector<PolicyMatch> out;
    for (const auto* s : sets_of(t, SetSpec::Kind::fail_open, g.group_id))
        for (const bool mirrored : {false, true})
            out.push_back({{MatchFamily{s->family}, MatchFailOpenSet{s->name, s->family, mirrored}},
                           "@" + s->name + (mirrored ? " (reply direction)" : "")});
    return out;
}

// The member's own IKE/GDOI with its key servers, both directions: one match list each.
std::vector<PolicyMatch> own_traffic_matches(const MemberRules& r) {
    std::vector<PolicyMatch> out;
    for (const auto& sel : r.own_traffic)
        for (const auto& s : both_directions(sel))
            out.push_back({selector_matches(s), "member's IKE/GDOI " + s.to_string()});
    return out;
}

// IPv6 signalling that never leaves a link, of the member and of its neighbours: neighbour
// discovery (RS, RA, NS, NA, redirect: ICMPv6 133-137, sent and accepted only with hop limit
// 255, RFC 4861 §6.1, §7.1) and multicast listener discovery (queries and reports 130-132,
// MLDv2 reports 143: hop limit 1 and a link-local source, RFC 2710 §3, RFC 3810 §5; a router
// never forwards a link-local source, so a forwarded packet cannot pose as one). Their
// addresses may lie in a group's scope (a scope that covers the link's prefix, or ::/0), yet
// they are never group traffic: a member that dropped its own neighbour advertisements could
// not reach its next hop.
std::vector<PolicyMatch> link_signalling_matches() {
    const auto icmpv6 = [](std::uint8_t first, std::uint8_t last, std::uint8_t hop_limit) {
        std::vector<Match> m{MatchFamily{Family::ipv6}, MatchL4Proto{kProtoIcmpv6},
                             MatchIcmpv6Types{first, last}, MatchHopLimit{hop_limit}};
        if (hop_limit == 1) m.push_back(MatchPrefix{true, *Prefix::parse("fe80::/10")});
        return m;
    };
    return {{icmpv6(133, 137, 255), "IPv6 neighbour discovery (hop limit 255)"},
            {icmpv6(130, 132, 1), "IPv6 multicast listener discovery (hop limit 1, link-local source)"},
            {icmpv6(143, 143, 1), "IPv6 MLDv2 reports (hop limit 1, link-local source)"}};
}

void add_own_traffic(ChainSpec& c, const MemberRules& r, bool mark_clear) {
    for (const auto& p : own_traffic_matches(r)) {
        auto x = rule(RuleRole::own_traffic, 0, p.matches, kAccept, p.what + ": never encrypted or dropped");
        if (mark_clear) x.statements.push_back(SetMark{r.clear_mark});
        c.rules.push_back(std::move(x));
    }
}

// Only where the hop limit tells a link's own signalling apart: arriving (input) and leaving
// the member (postrouting). A forwarded packet's hop limit is already decremented at the forward
// and postrouting hooks (ip6_forward), so a LAN host cannot make its packets pass as signalling
// (which is also why classify, at prerouting, has no such rule).
void add_link_signalling(ChainSpec& c) {
    for (const auto& p : link_signalling_matches())
        c.rules.push_back(rule(RuleRole::link_signalling, 0, p.matches, kAccept,
                               p.what + ": link-local, never group traffic"));
}

void add_classify(ChainSpec& c, const MemberRules& r, const TableSpec& t) {
    // 0 the member's own IKE/GDOI: marked clear, so it follows the WAN table, never the carrier.
    add_own_traffic(c, r, true);
    // 1 exclude: leave in clear via the fwmark (routed by the WAN table).
    for (const auto& g : r.groups)
        for (std::size_t i = 0; i < g.exclude.size(); ++i)
            for (const auto& s : both_directions(g.exclude[i].selector)) {
                auto x =
                    rule(RuleRole::exclude, g.group_id, selector_matches(s), kAccept,
                         "exclude " + std::to_string(i + 1) + " of " + group_label(g) + ": " + s.to_string());
                x.statements.push_back(SetMark{r.clear_mark});
                c.rules.push_back(std::move(x));
            }
    // 2 group policy: with a valid TEK, accept unmarked (the routes lead into the carrier);
    //   without, count and fall through to fail-open / fail-closed.
    for (const auto& g : r.groups)
        for (const auto& p : policy_matches(t, g)) {
            const auto what = group_label(g) + " " + p.what;
            c.rules.push_back(
                g.has_valid_tek
                    ? rule(RuleRole::group_policy, g.group_id, p.matches, kAccept, what + ": encrypt")
                    : rule(RuleRole::group_policy, g.group_id, p.matches, kNone, what + ": no valid TEK"));
        }
    // 3 fail-open: the sets are non-empty only while the group has no valid TEK.
    for (const auto& g : r.groups)
        for (const auto& p : fail_open_matches(t, g)) {
            auto x = rule(RuleRole::fail_open, g.group_id, p.matches, kAccept,
                          "fail-open of " + group_label(g) + " " + p.what);
            x.statements.push_back(SetMark{r.clear_mark});
            c.rules.push_back(std::move(x));
        }
}

void add_outbound(ChainSpec& c, const MemberRules& r, const TableSpec& t) {
    c.rules.push_back(rule(RuleRole::plumbing, 0, {MatchIfnameSet{true, kSetLanIfnames, false}}, kReturn,
                           "LAN to LAN: not group traffic"));
    c.rules.push_back(rule(RuleRole::exclude, 0, {MatchMark{r.clear_mark}}, kAccept,
                           "excluded or fail-open (marked clear by classify)"));
    for (const auto& g : r.groups) {
        if (!g.has_valid_tek) continue;
        // Each family's policies into the carrier of that family (IPIP carries only IPv4, ip6ip6
        // only IPv6); a family without a carrier falls through to fail-closed.
        for (const auto& cv : carriers(r)) {
            const auto gc = group_carrier(r, g, cv.family);
            if (!gc) continue;
            const std::string& ifname = gc->ifname;
            // TCP segments that fit the carrier: the MSS of SYNs into it follows its route MTU
            // (the kernel only ever lowers the option), as routers clamp for tunnels.
            auto clamp = rule(RuleRole::mss_clamp, g.group_id,
                              {MatchIfname{true, ifname, false}, MatchTcpSyn{}}, kNone,
                              group_label(g) + ": TCP MSS of SYNs into carrier " + ifname + " := its MTU - " +
                                  (cv.family == Family::ipv6 ? "60" : "40"));
            clamp.statements.push_back(ClampMssToRoute{});
            c.rules.push_back(std::move(clamp));
            for (const auto& p : policy_matches(t, g)) {
                if (p.family != Family::any && p.family != cv.family) continue;
                c.rules.push_back(rule(RuleRole::group_policy, g.group_id,
                                       plus(p.matches, {MatchIfname{true, ifname, false}}), kAccept,
                                       group_label(g) + " " + p.what + ": into carrier " + ifname));
            }
        }
    }
    // 4 fail-closed.
    for (const auto& g : r.groups)
        for (const auto& p : policy_matches(t, g))
            c.rules.push_back(rule(RuleRole::fail_closed, g.group_id, p.matches, kDrop,
                                   "fail-closed " + group_label(g) + " " + p.what));
}

void add_inbound(ChainSpec& c, const MemberRules& r, const TableSpec& t) {
    // The group's own packets first (every packet of the dataplane passes here): the accepts
    // before the drops are disjoint, so their order changes no verdict, only the rules a packet
    // is matched against.
    c.rules.push_back(rule(RuleRole::inbound, 0, {MatchSecpath{true}}, kAccept, "decrypted by a group SA"));
    for (const auto& cv : carriers(r))
        c.rules.push_back(rule(
            RuleRole::inbound, 0,
            {MatchFamily{cv.family}, MatchL4Proto{kProtoEsp}, MatchPrefix{false, host(cv.g_in)}}, kAccept,
            cv.family == Family::ipv6 ? "group ESP readdressed to G_IN6" : "group ESP readdressed to G_IN"));
    add_own_traffic(c, r, false);
    add_link_signalling(c);
    for (const auto& g : r.groups)
        for (std::size_t i = 0; i < g.exclude.size(); ++i)
            for (const auto& s : both_directions(g.exclude[i].selector))
                c.rules.push_back(rule(
                    RuleRole::exclude, g.group_id, selector_matches(s), kAccept,
                    "exclude " + std::to_string(i + 1) + " of " + group_label(g) + ": " + s.to_string()));
    for (const auto& g : r.groups)
        for (const auto& p : fail_open_matches(t, g))
            c.rules.push_back(rule(RuleRole::fail_open, g.group_id, p.matches, kAccept,
                                   "fail-open of " + group_label(g) + " " + p.what));
    for (const auto& g : r.groups)
        for (const auto& p : policy_matches(t, g))
            c.rules.push_back(rule(RuleRole::fail_closed, g.group_id, p.matches, kDrop,
                                   "cleartext from WAN into " + group_label(g) + " scope, " + p.what));
}

void add_wan_guard(ChainSpec& c, const MemberRules& r, const TableSpec& t);

// ESP leaving by the WAN: the first rule of both postrouting chains, since every packet the
// group sends passes them as ESP (no drop of either chain concerns ESP: they guard the carrier's
// IPIP and cleartext scope traffic).
RuleSpec esp_leaves(const MemberRules& r) {
    return rule(RuleRole::wan_guard, 0, {MatchIfname{true, r.wan_ifname, false}, MatchL4Proto{kProtoEsp}},
                kAccept, "ESP");
}

// The member's carrier of a family (nullopt: none, e.g. IPv6 without carrier.ipv6).
std::optional<CarrierView> carrier_of(const MemberRules& r, Family family) {
    for (auto& cv : carriers(r))
        if (cv.family == family) return cv;
    return std::nullopt;
}

std::vector<Match> carrier_matches(const CarrierView& cv) {
    return {MatchFamily{cv.family}, MatchPrefix{true, host(cv.g_in)}, MatchL4Proto{cv.protocol}};
}

// The carrier of one family after routing: readdressed and accepted when its route applies an
// SA, else dropped (per group first: the health check counts them by group; then for any
// carrier, and by destination in case NAT rewrote the source).
void add_carrier_guards(ChainSpec& c, const MemberRules& r, const CarrierView& cv) {
    // Every group's carrier sends from G_IN (rules.h), each to its own peer address.
    const std::vector<Match> carrier = carrier_matches(cv);
    const bool v6 = cv.family == Family::ipv6;
    // df-bit = "clear" (per group, by its peer): the outer header may be fragmented on the path.
    // IPv4 only: IPv6 has no DF bit (only the source fragments, RFC 8200 §4.5).
    for (const auto& g : r.groups) {
        const auto gc = group_carrier(r, g, cv.family);
        if (v6 || !g.clear_df || !gc || !gc->peer) continue;
        auto to_peer = carrier;
        to_peer.push_back(MatchPrefix{false, host(*gc->peer)});
        to_peer.push_back(MatchRtIpsec{true});
        auto clear = rule(RuleRole::carrier_rewrite, g.group_id, std::move(to_peer), kAccept,
                          "carrier of " + group_label(g) + ": inner addresses out, DF cleared, then ESP");
        clear.statements.push_back(CopyInnerAddresses{cv.family});
        clear.statements.push_back(ClearDf{});
        c.rules.push_back(std::move(clear));
    }
    auto rewrite = rule(RuleRole::carrier_rewrite, 0, carrier, kAccept,
                        std::string(v6 ? "IPv6 carrier" : "carrier") +
                            ": outer addresses := inner addresses, then ESP (transport) by the route's SA");
    rewrite.matches.push_back(MatchRtIpsec{true});
    rewrite.statements.push_back(CopyInnerAddresses{cv.family});
    c.rules.push_back(std::move(rewrite));
    // Per group first (the health check counts them by group), then for any carrier.
    for (const auto& g : r.groups) {
        const auto gc = group_carrier(r, g, cv.family);
        if (!gc || !gc->peer) continue;
        auto to_peer = carrier;
        to_peer.push_back(MatchPrefix{false, host(*gc->peer)});
        c.rules.push_back(rule(RuleRole::carrier_guard, g.group_id, std::move(to_peer), kDrop,
                               carrier_guard_comment(g, cv.family)));
    }
    c.rules.push_back(
        rule(RuleRole::carrier_guard, 0, carrier, kDrop,
             std::string(v6 ? "IPv6 carrier" : "carrier") + " without SA: never leaves in clear"));
    // While apply() runs, a bridge copy of this table has already readdressed the carrier
    // (nft_table.cpp): a carrier packet whose route applies an SA leaves only as ESP, so it may pass.
    c.rules.push_back(rule(
        RuleRole::carrier_rewrite, 0, {MatchFamily{cv.family}, MatchL4Proto{cv.protocol}, MatchRtIpsec{true}},
        kAccept, std::string(v6 ? "IPv6 carrier" : "carrier") + " already readdressed, SA applies"));
    // NAT may have rewritten the carrier's source (it is untracked, but another table may
    // still rewrite it statelessly): the destination still names a carrier peer.
    for (const auto& g : r.groups) {
        const auto gc = group_carrier(r, g, cv.family);
        if (!gc || !gc->peer) continue;
        c.rules.push_back(
            rule(RuleRole::carrier_guard, g.group_id,
                 {MatchFamily{cv.family}, MatchL4Proto{cv.protocol}, MatchPrefix{false, host(*gc->peer)}},
                 kDrop, peer_guard_comment(g, cv.family)));
    }
    c.rules.push_back(rule(
        RuleRole::carrier_guard, 0,
        {MatchFamily{cv.family}, MatchL4Proto{cv.protocol}, MatchPrefix{false, cv.peers}}, kDrop,
        std::string(cv.name) + " to a carrier peer without SA (source rewritten): never leaves in clear"));
}

void add_postrouting(ChainSpec& c, const MemberRules& r, const TableSpec& t) {
    c.rules.push_back(esp_leaves(r));
    // What reached each keyed group's carrier (LAN and the member's own), for the health check.
    // Nothing below concerns a packet routed into a carrier (it leaves inside the carrier's
    // IPIP, which is checked here in its turn): it is accepted where it is counted.
    for (const auto& g : r.groups) {
        if (!g.has_valid_tek) continue;
        for (const auto& cv : carriers(r))
            if (const auto gc = group_carrier(r, g, cv.family))
                c.rules.push_back(rule(RuleRole::health, g.group_id, {MatchIfname{true, gc->ifname, false}},
                                       kAccept, std::string(kHealthIntoCarrier) + gc->ifname));
    }
    for (const auto& cv : carriers(r)) add_carrier_guards(c, r, cv);
    add_wan_guard(c, r, t);
}

// The last resort on the WAN: nothing of a group's scope leaves in clear unless marked clear
// (exclude, fail-open). Twice: before source NAT (the addresses are still the original ones:
// a masqueraded fail-closed packet no longer matches the scope after NAT) and after every
// other postrouting rule of the router.
// (ESP leaving by the WAN is accepted at the top of both chains: esp_leaves.)
void add_wan_guard(ChainSpec& c, const MemberRules& r, const TableSpec& t) {
    add_own_traffic(c, r, false);
    add_link_signalling(c);
    const MatchIfname wan{true, r.wan_ifname, false};
    c.rules.push_back(rule(RuleRole::wan_guard, 0, {wan, MatchMark{r.clear_mark}}, kAccept, "marked clear"));
    for (const auto& g : r.groups)
        for (const auto& p : policy_matches(t, g))
            c.rules.push_back(rule(RuleRole::wan_guard, g.group_id, plus(p.matches, {wan}), kDrop,
                                   "last resort, " + group_label(g) + " scope in clear, " + p.what));
}

// Raw output: the carrier's IPIP and the ESP the member sends for its own scope (address
// preservation: the outer source is a LAN address) never enter conntrack, so NAT leaves them
// alone and no conntrack entry outlives a rekey.
ChainSpec notrack_output(const MemberRules& r) {
    auto c = ChainSpec{kChainNotrackOutput, BaseChain{ChainType::filter, Hook::output, kPriorityRaw}, {}};
    for (const auto& cv : carriers(r)) {
        auto carrier = rule(RuleRole::no_conntrack, 0, carrier_matches(cv), kNone,
                            std::string("carrier ") + cv.name + ": no conntrack, no NAT");
        carrier.statements.push_back(Notrack{});
        c.rules.push_back(std::move(carrier));
    }
    for (const auto& p : r.local_scope) {
        if (!carrier_of(r, p.family)) continue;
        auto esp = rule(RuleRole::no_conntrack, 0,
                        {MatchFamily{p.family}, MatchL4Proto{kProtoEsp}, MatchPrefix{true, p}}, kNone,
                        "group ESP from own scope " + p.to_string() + ": no conntrack, no NAT");
        esp.statements.push_back(Notrack{});
        c.rules.push_back(std::move(esp));
    }
    return c;
}

ChainSpec base(const char* name, ChainType type, Hook hook, int priority) {
    return ChainSpec{name, BaseChain{type, hook, priority}, {}};
}

}  // namespace

std::string carrier_guard_comment(const RuleSet& g, Family family) {
    return std::string(family == Family::ipv6 ? "IPv6 carrier" : "carrier") + " of " + group_label(g) +
           " without SA: never leaves in clear";
}

std::string peer_guard_comment(const RuleSet& g, Family family) {
    return std::string(family == Family::ipv6 ? "ip6ip6" : "IPIP") + " to the carrier peer of " +
           group_label(g) + " without SA: never leaves in clear";
}

std::string scope_set_name(std::uint32_t group_id, Family family) {
    return std::string(family == Family::ipv6 ? "scope6_" : "scope4_") + std::to_string(group_id);
}

std::string replay_chain_name(std::uint32_t group_id) { return "replay_" + std::to_string(group_id); }

std::string replay_rule_comment(const RuleSet& g, std::uint32_t spi) {
    return "anti-replay " + group_label(g) + " SPI " + common::hex_spi(spi) + ": outside the time window";
}

std::vector<RuleSpec> detail::replay_check_rules(const RuleSet& g, const std::string& wan_ifname) {
    std::vector<RuleSpec> out;
    if (!g.replay) return out;
    for (const auto spi : g.replay->spis) {
        auto x = rule(RuleRole::replay, g.group_id,
                      {MatchIfname{false, wan_ifname, false}, MatchL4Proto{kProtoEsp}, MatchEspSpi{spi},
                       MatchEspSequenceOutside{g.replay->accepted}},
                      Verdict{VerdictKind::jump, replay_chain_name(g.group_id)},
                      "anti-replay " + group_label(g) + " SPI " + common::hex_spi(spi) + ": window check");
        x.counter = false;  // replaced every second: replay_<id> counts
        out.push_back(std::move(x));
    }
    return out;
}

std::string fail_open_set_name(std::uint32_t group_id, Family family) {
    return std::string(family == Family::ipv6 ? "failopen6_" : "failopen4_") + std::to_string(group_id);
}

common::Result<TableSpec> compile(const MemberRules& r) {
    if (auto st = validate(r); !st) return st.error();
    TableSpec t;
    t.name = r.table_name;

    SetSpec lan;
    lan.kind = SetSpec::Kind::ifname;
    lan.name = kSetLanIfnames;
    lan.ifnames = r.lan_ifnames;
    t.sets.push_back(std::move(lan));
    for (const auto& g : r.groups)
        for (auto& s : detail::group_sets(g)) t.sets.push_back(std::move(s));

    auto esp = base(kChainEspInbound, ChainType::filter, Hook::prerouting, kPriorityRaw);
    // Anti-replay first: a group SPI's ESP whose sequence number is outside the window is counted
    // and dropped before it is readdressed (so before decryption).
    for (const auto& g : r.groups) {
        if (!g.replay) continue;
        ChainSpec count{replay_chain_name(g.group_id), std::nullopt, {}};
        for (const auto spi : g.replay->spis)
            count.rules.push_back(rule(RuleRole::replay, g.group_id,
                                       {MatchL4Proto{kProtoEsp}, MatchEspSpi{spi}}, kDrop,
                                       replay_rule_comment(g, spi)));
        t.chains.push_back(std::move(count));  // before esp_inbound, which jumps to it
        for (auto& x : detail::replay_check_rules(g, r.wan_ifname)) esp.rules.push_back(std::move(x));
    }
    for (const auto& p : r.local_scope) {
        // Only for a family with a carrier: ESP to the IPv6 scope of a member without an IPv6
        // carrier is not the group's (no inbound SA could take it).
        const auto cv = carrier_of(r, p.family);
        if (!cv) continue;
        const bool v6 = cv->family == Family::ipv6;
        auto x = rule(RuleRole::esp_inbound, 0,
                      {MatchIfname{false, r.wan_ifname, false}, MatchFamily{p.family},
                       MatchL4Proto{kProtoEsp}, MatchPrefix{false, p}},
                      kNone,
                      "ESP for own scope " + p.to_string() + ": readdress to " +
                          (v6 ? "G_OUT6 -> G_IN6" : "G_OUT -> G_IN") + " (one inbound SA)");
        x.statements.push_back(SetAddresses{cv->g_out, cv->g_in});
        x.statements.push_back(Notrack{});  // before conntrack: a router's NAT/state never sees it
        esp.rules.push_back(std::move(x));
    }
    t.chains.push_back(std::move(esp));
    t.chains.push_back(notrack_output(r));

    ChainSpec classify{kChainClassify, std::nullopt, {}};
    add_classify(classify, r, t);
    ChainSpec outbound{kChainOutbound, std::nullopt, {}};
    add_outbound(outbound, r, t);
    ChainSpec inbound{kChainInbound, std::nullopt, {}};
    add_inbound(inbound, r, t);
    // Regular chains before the base chains that jump to them (a jump needs its target).
    t.chains.push_back(std::move(classify));
    t.chains.push_back(std::move(outbound));
    t.chains.push_back(std::move(inbound));

    auto lan_classify = base(kChainLanClassify, ChainType::filter, Hook::prerouting, kPriorityMangle);
    // Only the LAN's traffic is classified here: the WAN's (ESP, and what it decrypts to) leaves
    // at the first rule, before the route lookups below.
    lan_classify.rules.push_back(rule(RuleRole::plumbing, 0, {MatchIfnameSet{false, kSetLanIfnames, true}},
                                      kReturn, "not from the LAN"));
    // Traffic routed back to a LAN is not group traffic; marking it clear would send it to the
    // WAN table (which may hold only a default route via the WAN) instead of the other LAN.
    for (const auto& name : r.lan_ifnames)
        lan_classify.rules.push_back(rule(RuleRole::plumbing, 0, {MatchRouteOifname{name}}, kReturn,
                                          "routed to LAN " + name + ": not group traffic"));
    lan_classify.rules.push_back(rule(RuleRole::plumbing, 0, {MatchIfnameSet{false, kSetLanIfnames, false}},
                                      jump(kChainClassify), "from the LAN"));
    t.chains.push_back(std::move(lan_classify));

    // A route chain: changing the mark of locally generated traffic re-runs the route lookup.
    auto local = base(kChainLocalClassify, ChainType::route, Hook::output, kPriorityMangle);
    local.rules.push_back(
        rule(RuleRole::plumbing, 0, {MatchIfnameSet{true, kSetLanIfnames, false}}, kReturn, "to the LAN"));
    local.rules.push_back(
        rule(RuleRole::plumbing, 0, {MatchIfname{true, "lo", false}}, kReturn, "to the member itself"));
    // What the dataplane itself sends (classify has decided on the packet inside): the carrier's
    // IPIP and, after the SA, its ESP. ESP carries no cleartext, so no rule below concerns it.
    for (const auto& cv : carriers(r))
        local.rules.push_back(rule(RuleRole::plumbing, 0, carrier_matches(cv), kReturn,
                                   std::string("the carrier's ") + cv.name));
    local.rules.push_back(
        rule(RuleRole::plumbing, 0, {MatchL4Proto{kProtoEsp}}, kReturn, "ESP: encrypted already"));
    local.rules.push_back(rule(RuleRole::plumbing, 0, {}, jump(kChainClassify), "member's own traffic"));
    t.chains.push_back(std::move(local));

    auto forward = base(kChainForward, ChainType::filter, Hook::forward, kPriorityFilter);
    forward.rules.push_back(rule(RuleRole::plumbing, 0, {MatchIfname{false, r.wan_ifname, false}},
                                 jump(kChainInbound), "from the WAN"));
    forward.rules.push_back(rule(RuleRole::plumbing, 0, {MatchIfnameSet{false, kSetLanIfnames, false}},
                                 jump(kChainOutbound), "from the LAN"));
    t.chains.push_back(std::move(forward));

    auto input = base(kChainInput, ChainType::filter, Hook::input, kPriorityFilter);
    // The carrier device would decapsulate cleartext IPIP (ip6ip6) sent to G_IN (G_IN6): a
    // decapsulation bypass.
    for (const auto& cv : carriers(r))
        input.rules.push_back(
            rule(RuleRole::inbound, 0,
                 {MatchIfname{false, r.wan_ifname, false}, MatchFamily{cv.family},
                  MatchPrefix{false, host(cv.g_in)}, MatchL4Proto{cv.protocol}, MatchSecpath{false}},
                 kDrop,
                 std::string("cleartext ") + cv.name + " to " +
                     (cv.family == Family::ipv6 ? "G_IN6" : "G_IN") + " (carrier bypass)"));
    input.rules.push_back(rule(RuleRole::plumbing, 0, {MatchIfname{false, r.wan_ifname, false}},
                               jump(kChainInbound), "from the WAN"));
    t.chains.push_back(std::move(input));

    // Decrypted traffic that got past every filter of the router (late priority), for the health
    // check: an rp-filter or a forward/input rule that drops it shows as SA packets without these.
    for (const auto& [name, hook] :
         {std::pair{kChainHealthForward, Hook::forward}, std::pair{kChainHealthInput, Hook::input}}) {
        auto health = base(name, ChainType::filter, hook, kPriorityGuard);
        health.rules.push_back(rule(RuleRole::health, 0, {MatchSecpath{true}}, kNone, kHealthDecrypted));
        t.chains.push_back(std::move(health));
    }

    auto early = base(kChainPostroutingEarly, ChainType::filter, Hook::postrouting, kPriorityMangle);
    // Every drop of this chain is of packets leaving by the WAN: the rest (the LAN's, and group
    // traffic entering a carrier) is done here with one rule.
    early.rules.push_back(rule(RuleRole::plumbing, 0, {MatchIfname{true, r.wan_ifname, true}}, kAccept,
                               "not leaving by the WAN: nothing to guard before NAT"));
    early.rules.push_back(esp_leaves(r));
    // The carrier itself is still IPIP here (ESP comes after postrouting): a scope that covers
    // the pseudo addresses (any <-> any) must not take it; postrouting rewrites it later.
    for (const auto& cv : carriers(r)) {
        auto with_sa = carrier_matches(cv);
        with_sa.push_back(MatchRtIpsec{true});
        early.rules.push_back(rule(RuleRole::carrier_rewrite, 0, std::move(with_sa), kAccept,
                                   std::string(cv.family == Family::ipv6 ? "IPv6 carrier" : "carrier") +
                                       " with an SA: leaves as ESP"));
    }
    add_wan_guard(early, r, t);
    t.chains.push_back(std::move(early));

    auto post = base(kChainPostrouting, ChainType::filter, Hook::postrouting, kPriorityGuard);
    add_postrouting(post, r, t);
    t.chains.push_back(std::move(post));
    return t;
}

}  // namespace policy
