// The compiled form of MemberRules: the nftables table as plain data (chains, ordered rules,
// sets), before any libnftnl object exists. The compiler produces it, the netlink encoder
// consumes it, and tests and `gdoictl show policy` read it (to_string() prints nft syntax).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "policy/selector.h"

namespace policy {

// Matches. Each is one predicate on the packet; a rule's matches are ANDed, in order.
struct MatchIfname {
    bool output = false;  // oifname instead of iifname
    std::string name;
    bool negate = false;
};
struct MatchIfnameSet {  // iifname/oifname @set
    bool output = false;
    std::string set;
    bool negate = false;
};
struct MatchFamily {  // meta nfproto: guards every IPv4/IPv6 header access in an inet table
    Family family;
};
struct MatchL4Proto {
    std::uint8_t protocol;
};
struct MatchPrefix {
    bool source;
    Prefix prefix;
};
struct MatchPort {
    bool source;
    PortRange range;
};
struct MatchMark {
    std::uint32_t mark;
};
struct MatchSecpath {  // meta ipsec exists / missing: the packet was decrypted by an SA
    bool exists;
};
struct MatchRtIpsec {  // rt ipsec exists / missing: the route will apply an SA
    bool exists;
};
// ip frag-off & 0x1fff != 0: an IPv4 non-first fragment (it has no transport header, so no ports).
struct MatchIpv4Fragment {};
// fib daddr oifname NAME: the main routing decision (mark 0) for the destination leaves by NAME.
struct MatchRouteOifname {
    std::string name;
};
// Lookup of (saddr . daddr . l4proto . sport . dport) in a fail-open set; mirrored swaps
// source and destination fields so replies / inbound traffic match the same elements.
struct MatchFailOpenSet {
    std::string set;
    Family family;
    bool mirrored = false;
};
// Lookup of (saddr . daddr . l4proto) in a group's scope set: the group policies without ports.
// No transport header is read, so fragments match too (fail-closed must catch them).
struct MatchScopeSet {
    std::string set;
    Family family;
};
// tcp flags & (syn | rst) == syn: a connection's first segment or its answer (MSS option).
struct MatchTcpSyn {};
// icmpv6 type FIRST-LAST (the caller matches meta l4proto ipv6-icmp before).
struct MatchIcmpv6Types {
    std::uint8_t first;
    std::uint8_t last;
};
// ip6 hoplimit N (the caller matches meta nfproto ipv6 before).
struct MatchHopLimit {
    std::uint8_t value;
};
// esp spi N (the caller matches meta l4proto esp before): bytes 0-3 of the ESP header (RFC 4303 §2.1).
struct MatchEspSpi {
    std::uint32_t spi;
};
// The ESP sequence number (bytes 4-7 of the ESP header, RFC 4303 §2.2, covered by the ICV and
// readable before decryption) is outside the accepted ranges: 1 range -> esp sequence != F-L;
// 2 ranges [0, A] and [B, max] (across the wrap) -> esp sequence A+1-B-1. The values are in the
// rule (nft range expression), so moving the window is an atomic rule replacement: a set refilled
// in a transaction can miss a lookup while it changes (rbtree and pipapo alike), which would drop.
struct MatchEspSequenceOutside {
    std::vector<SequenceRange> accepted;
};
using Match = std::variant<MatchIfname, MatchIfnameSet, MatchFamily, MatchL4Proto, MatchPrefix, MatchPort,
                           MatchMark, MatchSecpath, MatchRtIpsec, MatchFailOpenSet, MatchRouteOifname,
                           MatchScopeSet, MatchIpv4Fragment, MatchTcpSyn, MatchIcmpv6Types, MatchHopLimit,
                           MatchEspSpi, MatchEspSequenceOutside>;

// Statements, executed in order after the matches.
struct SetMark {
    std::uint32_t mark;
};
struct SetAddresses {  // ip saddr set A ip daddr set B (ip6 ... for IPv6 addresses)
    common::IpAddress source;
    common::IpAddress destination;
};
// The carrier's outer addresses := its inner packet's. IPv4 (IPIP, 20-octet outer header):
// ip saddr set @nh,256,32 ip daddr set @nh,288,32. IPv6 (ip6ip6 without the encapsulation limit
// option, 40-octet outer header, RFC 8200 §3): ip6 saddr set @nh,384,128 ip6 daddr set @nh,512,128.
struct CopyInnerAddresses {
    Family family = Family::ipv4;
};
struct Notrack {};          // notrack: conntrack (and so NAT) never sees the packet
struct ClearDf {};          // ip frag-off set ip frag-off & 0xbfff: clear Don't Fragment
struct ClampMssToRoute {};  // tcp option maxseg size set rt mtu (the kernel only lowers it)
using Statement = std::variant<SetMark, SetAddresses, CopyInnerAddresses, Notrack, ClearDf, ClampMssToRoute>;

enum class VerdictKind { none, accept, drop, ret, jump };
struct Verdict {
    VerdictKind kind = VerdictKind::none;
    std::string chain;  // for jump
};

// What a rule is for; lets tests and show commands find rules without parsing text.
enum class RuleRole {
    plumbing,         // jumps, interface scoping
    esp_inbound,      // prerouting -300 readdressing of ESP to g_out -> g_in (per family)
    exclude,          // 1
    group_policy,     // 2
    fail_open,        // 3
    fail_closed,      // 4
    carrier_rewrite,  // postrouting copy of the inner addresses
    carrier_guard,    // carrier without an SA never leaves
    wan_guard,        // last-resort postrouting guard
    inbound,          // WAN -> protected scope checks
    own_traffic,      // the member's IKE/GDOI with its key servers: exempt from every other rule
    link_signalling,  // IPv6 neighbour discovery and MLD on the member's links: never group traffic
    no_conntrack,     // carrier and group ESP kept away from conntrack and NAT
    mss_clamp,        // TCP MSS of group traffic lowered to the carrier's MTU
    health,           // counts only (member/'s health check)
    replay,           // ESP of a group SPI outside the anti-replay time window: dropped, counted
};

struct RuleSpec {
    RuleRole role = RuleRole::plumbing;
    std::uint32_t group_id = 0;  // 0 when not tied to a group
    std::vector<Match> matches;
    std::vector<Statement> statements;
    bool counter = true;  // every rule counts (counters visible in nft list table)
    Verdict verdict;
    std::string comment;

    std::string to_string() const;  // nft syntax
};

enum class Hook { prerouting, input, forward, output, postrouting };
enum class ChainType { filter, route };

struct BaseChain {
    ChainType type = ChainType::filter;
    Hook hook = Hook::forward;
    int priority = 0;
    bool operator==(const BaseChain&) const = default;
};

struct ChainSpec {
    std::string name;
    std::optional<BaseChain> base;  // nullopt: regular chain, reached by jump
    std::vector<RuleSpec> rules;
};

struct SetElement {
    Selector selector;  // family-bound (any is expanded by the compiler)
    std::string comment;
    bool operator==(const SetElement&) const = default;
};

// Sets of the table:
//  ifname     the LAN interfaces
//  fail_open  saddr . daddr . l4proto . sport . dport, per group and family; filled only while
//             the group has no valid TEK
//  scope      saddr . daddr . l4proto, per group and family: the group policies without ports
//             (both directions), with a counter per element; one lookup replaces one rule per
//             policy, so a packet's cost does not grow with the number of policies
struct SetSpec {
    enum class Kind { ifname, fail_open, scope } kind = Kind::ifname;
    std::string name;
    Family family = Family::any;        // fail_open, scope: ipv4 or ipv6
    std::uint32_t group_id = 0;         // fail_open, scope: owner group
    std::vector<std::string> ifnames;   // ifname elements
    std::vector<SetElement> elements;   // elements currently in the set
    std::vector<SetElement> available;  // fail_open: elements the group defines (for set_fail_open)
    bool operator==(const SetSpec&) const = default;
};

struct TableSpec {
    std::string name;  // family is always inet: one table for IPv4 and IPv6
    std::vector<SetSpec> sets;
    std::vector<ChainSpec> chains;

    const ChainSpec* find_chain(const std::string& chain) const;
    const SetSpec* find_set(const std::string& set) const;
    std::size_t rule_count() const;
    std::string to_string() const;  // the whole table in nft syntax (no counters)
};

}  // namespace policy
