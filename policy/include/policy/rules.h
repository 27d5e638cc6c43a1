// The member's rule model: per group, what to leave in clear (exclude), what to encrypt (the
// key server's group policies), what may pass in clear while the group has no key (fail-open),
// and the fail-closed scope (everything the group protects). ARCHITECTURE.md fixes the priority order:
// 1 exclude, 2 group policy (encrypt), 3 fail-open (only without a valid TEK), 4 fail-closed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "policy/selector.h"

namespace policy {

// Limits of the seed / Group VPNv2 vocabulary ("at most 10").
inline constexpr std::size_t kMaxExcludeRules = 10;
inline constexpr std::size_t kMaxFailOpenRules = 10;

inline constexpr const char* kDefaultTableName = "gdoi_member";

struct ExcludeRule {
    Selector selector;
    bool operator==(const ExcludeRule&) const = default;
};

// One policy of the group, from the key server's SA TEK payload (RFC 6407 §5.4).
struct GroupPolicy {
    Selector selector;
    bool operator==(const GroupPolicy&) const = default;
};

struct FailOpenRule {
    Selector selector;
    bool operator==(const FailOpenRule&) const = default;
};

// Time-based anti-replay of a group (member/dataplane/anti_replay.h): ESP arriving on the WAN for
// one of these inbound SPIs whose sequence number lies outside `accepted` is dropped before
// decryption, and counted per SPI (replay_rule_comment in compile.h).
struct ReplayCheck {
    std::vector<std::uint32_t> spis;
    // 1 or 2 ranges (the pseudotime wraps). The dataplane moves them every second
    // (set_replay_window in nft_table.h): only the check rules are replaced, the counting rules stay.
    std::vector<SequenceRange> accepted;
    bool operator==(const ReplayCheck&) const = default;
};

struct RuleSet {
    std::uint32_t group_id = 0;
    std::string group_name;
    std::vector<ExcludeRule> exclude;
    std::vector<GroupPolicy> policies;
    std::vector<FailOpenRule> fail_open;
    // Whether the group currently has a TEK to encrypt with. Without one, group traffic is
    // never sent into the carrier: it falls through to fail-open, then fail-closed.
    bool has_valid_tek = false;
    // The carrier device the group's traffic is routed into (each keyed group has its own,
    // see xfrm/dataplane.h); empty: MemberRules::carrier.ifname.
    std::string carrier_ifname;
    // The group's carrier peer G_OUT_k, when the group has a carrier: its outer IPv4 header
    // may have Don't Fragment cleared (df-bit = "clear") on the way out.
    std::optional<Ipv4> carrier_peer;
    bool clear_df = false;
    // The group's IPv6 carrier (ip6tnl), once it carries IPv6 TEKs: its device and its peer
    // G_OUT6_k. Empty / nullopt: the group has none (its IPv6 traffic is never routed into one).
    std::string carrier6_ifname;
    std::optional<common::IpAddress> carrier6_peer;
    // Anti-replay-time-window on: the replay check of the group's inbound SPIs.
    std::optional<ReplayCheck> replay;

    // The group's protected scope: every group policy selector. Traffic in it that is neither
    // excluded, encrypted nor fail-open is dropped.
    std::vector<Selector> fail_closed_scope() const;
    bool operator==(const RuleSet&) const = default;
};

// The IPIP carrier (ARCHITECTURE.md): packets routed into it leave from pseudo address g_in to pseudo
// peer g_out; ESP in transport mode protects the carrier; nft copies the inner addresses out.
// Every group's carrier sends from g_in (to its own peer address): IPIP from g_in is carrier
// traffic whatever its destination. Arriving ESP is readdressed to g_out -> g_in.
// The IPv6 carrier (ip6tnl mode ip6ip6, encaplimit none; tests/vm/ipv6-layout.sh): the same
// layout with IPv6 pseudo addresses (from 100::/64, RFC 6666's discard-only prefix, never routed)
// and a 40-octet outer header. ip6ip6 from g_in is carrier traffic; arriving ESP for the IPv6
// local scope is readdressed to g_out -> g_in.
struct Carrier6 {
    common::IpAddress g_in;
    common::IpAddress g_out;
    // Every IPv6 carrier peer (G_OUT6_k). Empty: g_out/128.
    std::optional<Prefix> peers;
    bool operator==(const Carrier6&) const = default;
};

struct Carrier {
    std::string ifname = "gdoi0";
    Ipv4 g_in;
    Ipv4 g_out;
    // Every carrier peer of the member (G_OUT_k): IPIP to these never leaves in clear, whatever
    // NAT did to its source. Empty: g_out/32.
    std::optional<Prefix> peers;
    // The IPv6 carrier's addresses, when the member has one (a group with IPv6 TEKs).
    std::optional<Carrier6> ipv6;
    bool operator==(const Carrier&) const = default;
};

struct MemberRules {
    std::string table_name = kDefaultTableName;
    Carrier carrier;
    std::string wan_ifname;
    std::vector<std::string> lan_ifnames;
    // fwmark of traffic that leaves in clear (exclude, fail-open); an ip rule (xfrm/) sends it
    // to the WAN routing table instead of the carrier.
    std::uint32_t clear_mark = 0;
    // The member's own protected scope (the prefixes behind its LAN interfaces): ESP arriving
    // for these destinations is readdressed to g_out -> g_in of the carrier of its family (IPv6:
    // only with carrier.ipv6) so the one inbound SA matches it.
    std::vector<Prefix> local_scope;
    // The member's own IKE/GDOI traffic with its key servers (local port <-> server address
    // and port, each selector also in the reply direction): exempt from every group policy,
    // fail-closed and last-resort rule, in every state, so the member can always register.
    std::vector<Selector> own_traffic;
    std::vector<RuleSet> groups;

    const RuleSet* find_group(std::uint32_t group_id) const;
    bool operator==(const MemberRules&) const = default;
};

// Everything an operator can get wrong, each with a message naming the group and rule.
common::Status validate(const RuleSet& group);
common::Status validate(const MemberRules& rules);

}  // namespace policy
