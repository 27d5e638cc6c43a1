// KernelDataplane: the Dataplane of the daemon on Linux — xfrm/ (SAs, policies, the IPIP
// carrier, routes, the fwmark rule) and policy/ (the member's nft table), in the layout of
// xfrm/dataplane.h and ARCHITECTURE.md. One object per member; the pieces live in dataplane_*.h:
// selectors (dataplane_selectors.h), TEK checks and lifetimes incl. the GCM packet limit
// (dataplane_tek.h), the rekey scheduler (dataplane_rekey.h), the nft rule model
// (dataplane_rules.h), host facts (dataplane_host.h).
//
// Decisions (defaults of KernelDataplaneOptions):
// - G_IN 169.254.0.71, G_OUT 169.254.0.72, the same on every member. From 169.254.0.0/24,
//   the first /24 of IPv4 link-local space, which RFC 3927 §2.1 reserves: link-local
//   autoconfiguration never assigns it, and link-local addresses are never routed, so no
//   customer network, key server or peer can be there (100.64.0.0/10 can: carrier-grade NAT
//   and overlay VPNs number real hosts from it). The pseudo addresses never reach the wire:
//   nft rewrites the outer header before ESP leaves, and ESP arriving is readdressed to them.
// - Local protected scope: the networks of the lan_interfaces' IPv4 and global IPv6 addresses
//   (getifaddrs(3)), read at start() and on every apply(). Remote prefixes: the TEK
//   selectors' sources and destinations minus the local scope, minus G_IN/G_OUT and the key
//   servers (dataplane_selectors.h).
// - Clear traffic (exclude, fail-open) and the carrier: remote prefixes are routed into the
//   carrier in their own table (kCarrierTable, 18244 = 0x4744 "GD"), looked up by the rule
//   `ip rule add fwmark 0/kClearMark table 18244 priority 1000`: every packet whose mark
//   does not have the clear bit uses the carrier routes; packets nft marked clear skip the
//   table and follow the main table like any other traffic (the operator's own route to the
//   WAN). No WAN gateway has to be copied into a separate clear table, and the main table is
//   never touched except for the G_OUT host route. kClearMark is one bit (0x00800000): the
//   rule then means exactly "not marked clear".
// - G_OUT is routed via the WAN interface's default gateway (from rtnetlink, or the
//   gateway option), else on-link on the WAN device. ESP follows that route: one uplink.
// - Carrier device, G_IN on lo, G_OUT route, out policy, IPIP guard, fwmark rule: prepared
//   before keys arrive (start(), add_group(), a registration under way: prepare_group()), so a
//   registration only adds SAs, fwd policies, the carrier MTU (its transform) and routes, in one
//   XFRM and one rtnetlink batch. Safe without keys: nothing is routed into the carrier until
//   the group sends (the fwmark rule's table is empty, lookups fall through to main), its out
//   policy has no SA (the kernel drops what would use it), and nft drops group traffic
//   without a TEK. A group failed closed after an error loses its carrier; it is prepared
//   again with the next registration.
// - start(): the nft table with every group fail-closed (except adopted ones, below), applied
//   atomically over whatever a previous run left (policy::apply replaces the table in one
//   transaction: no window), then the previous run's other SAs, policies, carriers, routes and
//   rule are removed (safe: the table already drops group traffic, and the carrier guard drops
//   carrier packets without SA). A start that fails still applies the fail-closed table.
// - Restart adoption (kernel_dataplane_adopt.cpp): every change of the keyed groups is saved
//   beside the control socket (dataplane_saved_state.h: slot, selectors, scope; no keys). A
//   restarted start() whose nft table and saved state are there adopts each configured group
//   (same name and id) whose slot still has its carrier and SAs in the kernel: the new table
//   keeps it keyed with its saved selectors (one atomic replacement, other groups fail-closed),
//   its SAs, carrier and routes stay, and its registration continues from them as from a
//   rekey (same SPIs: nothing to do; new ones: make-before-break). Traffic keeps flowing
//   encrypted across the restart. Everything else of the previous run is removed as before.
// - Exclude rules are XFRM allow policies too (dataplane_exclude.h): excluded cleartext from the
//   WAN passes the carriers' fwd policies. Member-wide, kept in line with the configuration.
// - shutdown(): leaves everything in place: the table (with its fail-closed rules), the SAs,
//   the carrier. Traffic stays encrypted while the daemon is down; when the SAs reach their
//   hard lifetime the kernel deletes them and the nft carrier guard and fail-closed rules drop
//   the traffic. Nothing leaks in clear at any point, and a restart (start()) replaces it all.
// - A kernel step that fails (apply() or a timer) leaves the group fail-closed: its SAs, the
//   carrier and the rule are removed and its rules drop its traffic until the next apply()
//   (the next registration) installs everything again. Security over availability.
// - Several groups at once: each group has a carrier slot k (the lowest free one, kept while
//   the group is configured): device gdoi<k>, peer G_OUT_k = G_OUT + k, reqid R + k. The
//   out policy G_IN -> G_OUT_k selects group k's SA; all groups share G_IN and receive on
//   G_OUT -> G_IN (the inbound SA is found by its SPI; the fwd policies' reqid R + k admit
//   only group k's SAs for group k's prefixes). A remote prefix protected by two keyed groups
//   goes into the carrier of the first in configuration order. A kernel error fails one group
//   closed; the others keep running. At most kMaxCarriers groups per member.
// - IPv6 (a group's TEKs with IPv6 selectors): the same layout per family (xfrm/dataplane.h,
//   tests/vm/ipv6-layout.sh). Slot k's IPv6 carrier is the ip6ip6 device gdoi<k>v6 from G_IN6
//   100::47 to G_OUT6_k = 100::48 + k, reqid R6 + k, all receiving on G_OUT6 -> G_IN6. The
//   pseudo addresses come from 100::/64, RFC 6666's discard-only prefix: assigned to no host,
//   routed nowhere (an operator's network has it only as a blackhole), and never on the wire
//   (nft rewrites them). Its remote prefixes go into table 18244 by an IPv6 fwmark rule like the
//   IPv4 one; the local scope adds the LAN interfaces' global IPv6 prefixes. A dual-stack group
//   (IPv4 and IPv6 TEKs in one state) keeps one rekey schedule per family: each family sends
//   with its own newest TEK and is rekeyed make-before-break on its own. The IPv6 carrier is
//   prepared when the group's first IPv6 TEK arrives (an IPv4-only member never gets one, and a
//   host with IPv6 disabled is no obstacle to it). Restart adoption covers both families: each
//   carrier that sent when the state was saved is adopted with its SAs (a dual-stack group:
//   both, or none if either is not as saved).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dataplane/dataplane.h"
#include "dataplane/dataplane_rekey.h"
#include "dataplane/dataplane_selectors.h"
#include "gdoi/log.h"
#include "xfrm/address.h"
#include "xfrm/dataplane.h"

namespace member {

inline constexpr uint32_t kClearMark = 0x00800000;
inline constexpr uint32_t kCarrierTable = 0x4744;
inline constexpr uint32_t kCarrierRulePriority = 1000;
// Carrier slots: G_OUT_k = G_OUT + k must stay inside 169.254.0.0/24 (.72 .. .135).
inline constexpr unsigned kMaxCarriers = 64;

// 100::N, from RFC 6666's discard-only prefix 100::/64 (the IPv6 pseudo addresses).
inline xfrm::Address discard_only_address(uint8_t n) {
    xfrm::Address a;
    a.family = common::IpFamily::ipv6;
    a.bytes[0] = 0x01;
    a.bytes[15] = n;
    return a;
}

struct KernelDataplaneOptions {
    std::string carrier_prefix = "gdoi";  // carrier of slot k: gdoi<k>
    xfrm::Address g_in = xfrm::Address::ipv4(169, 254, 0, 71);
    xfrm::Address g_out = xfrm::Address::ipv4(169, 254, 0, 72);
    uint32_t clear_mark = kClearMark;
    uint32_t carrier_table = kCarrierTable;
    uint32_t carrier_rule_priority = kCarrierRulePriority;
    uint32_t reqid = 0x47440001;  // slot k: reqid + k
    // The IPv6 carriers (device gdoi<k>v6): G_IN6, G_OUT6 (slot k: + k), reqid6 + k.
    xfrm::Address g_in6 = discard_only_address(0x47);
    xfrm::Address g_out6 = discard_only_address(0x48);
    uint32_t reqid6 = 0x47440101;
    std::string nft_table = "gdoi_member";
    // Next hop of G_OUT (G_OUT6); nullopt: the WAN's default gateway of that family, else
    // on-link on the WAN.
    std::optional<xfrm::Address> wan_gateway;
    std::optional<xfrm::Address> wan_gateway6;
    // The local protected scope; nullopt: the IPv4 networks and global IPv6 prefixes of the LAN
    // interfaces.
    std::optional<std::vector<NetPrefix>> local_scope;
    // Restart adoption state (dataplane_saved_state.h); empty: no adoption.
    std::string state_file;
    gdoi::LogSink log;
};

class KernelDataplane : public Dataplane {
public:
    explicit KernelDataplane(KernelDataplaneOptions options = {});
    ~KernelDataplane() override;

    common::Status start(const MemberConfig& config) override;
    common::Status add_group(const GroupConfig& group) override;
    common::Status prepare_group(const GroupConfig& group) override;
    common::Status apply(const GroupConfig& group, const gdoi::GroupState& state,
                         std::chrono::steady_clock::time_point now) override;
    common::Status remove_group(const GroupConfig& group) override;
    common::Status reset_group(const GroupConfig& group) override;
    std::chrono::steady_clock::time_point next_deadline() const override;
    void on_timer(std::chrono::steady_clock::time_point now) override;
    common::Status flush() override;
    void shutdown() override;
    std::optional<GroupRules> rules(const GroupConfig& group) const override;
    TekRole tek_role(const GroupConfig& group, uint32_t spi) const override;
    std::optional<uint32_t> sa_owner_tag() const override;
    bool sending(const GroupConfig& group) const override;
    common::Result<std::vector<SaTraffic>> sa_traffic(const GroupConfig& group) override;
    common::Result<std::optional<HealthCounters>> health_counters(const GroupConfig& group) override;
    common::Result<ReplayDrops> replay_drops(const GroupConfig& group) override;
    void follow_wan_mtu() override;

    // For the pull exchange: empty = acceptable, else why not (member::accept_tek in
    // dataplane_tek.h, usable without an object).
    std::string accept_tek(const GroupConfig& group, const gdoi::Tek& tek) const override;

    // For tests and the note: what is installed now.
    std::vector<NetPrefix> remote_prefixes() const;
    std::vector<NetPrefix> local_prefixes() const;

private:
    struct FamilyPlane;
    struct Group;
    Group* find(const GroupConfig& group);
    const Group* find(const GroupConfig& group) const;
    struct Adoptable;
    struct Pending;
    common::Result<Group*> make_group(const GroupConfig& config, std::optional<unsigned> slot = std::nullopt);
    std::vector<Adoptable> find_adoptable();
    void adopt(Group& g, const Adoptable& a);
    // The carrier device exists and is of our kind (an operator's own "gdoi3" bridge is not).
    bool carrier_present(const std::string& name, common::IpFamily family);
    void save_state();
    xfrm::DataplaneConfig carrier_config(unsigned slot, common::IpFamily family) const;
    std::string carrier_name(unsigned slot, common::IpFamily family) const;
    // The fwmark rule of a family: lookups of packets not marked clear go to the carrier table.
    xfrm::RuleSpec carrier_rule(common::IpFamily family) const;
    // Stages the steps of one family in `pending` (applied in order: a keyed(false) step applies
    // what is staged before it); a keyed(true) step leaves the table to the caller (after the batch).
    common::Status run(Group& g, FamilyPlane& plane, const std::vector<RekeyStep>& steps, Pending& pending);
    // Applies what is staged; on failure the staged routes are not counted as installed.
    common::Status commit(Pending& pending);
    void log_keyed(const Group& g, const FamilyPlane& plane, bool keyed) const;
    void fail_closed_after_error(Group& g, const std::string& why);
    // Both families' objects of the group; the member-wide ones of a family go with its last carrier.
    common::Status teardown_group(Group& g);
    // The previous run's objects, except those of the reqids in `keep` (adopted groups).
    common::Status remove_member_objects(const std::vector<uint32_t>& keep = {});
    common::Status prepare_carrier(FamilyPlane& plane);
    common::Status ensure_carrier(FamilyPlane& plane);
    // Without `into`, applied here; with it, the installs are staged there (removals go now).
    common::Status sync_prefixes(Pending* into = nullptr);
    common::Status sync_rules();
    // The exclude rules' XFRM allow policies (dataplane_exclude.h) as the configuration wants them.
    common::Status sync_exclude_policies();
    common::Status refresh_local_scope();
    // Time-based anti-replay (kernel_dataplane_replay.cpp, anti_replay.h). The group's check for
    // the rule model (nullopt: off, or no TEK yet); every second: the receivers' window moves, the
    // outbound SAs' counters follow the pseudotime; every 10 s new drops are logged.
    std::optional<policy::ReplayCheck> replay_check(Group& g);
    void replay_tick(std::chrono::steady_clock::time_point now);
    void log_replay_drops(Group& g);
    void log(gdoi::LogLevel level, const std::string& line) const;
    // gdoi::group_line: "group NAME: text" ending with the group's fields, and the SA's when the
    // line is about one (what journald queries and log shippers filter on).
    void log_group(gdoi::LogLevel level, const GroupConfig& group, const std::string& text,
                   std::optional<uint32_t> spi = std::nullopt) const;

    KernelDataplaneOptions options_;
    MemberConfig config_;
    std::unique_ptr<xfrm::Xfrm> xfrm_;
    std::unique_ptr<xfrm::Rtnl> rtnl_;
    xfrm::DataplaneConfig wan_;  // WAN facts shared by every carrier (MTU, device, IPv4 gateway)
    std::optional<xfrm::Address> wan_gateway6_;  // the IPv6 carriers' next hop (nullopt: on-link)
    std::vector<NetPrefix> local_scope_;
    std::map<std::string, std::unique_ptr<Group>> groups_;
    // The rule model of the table last applied: an unchanged model is neither compiled nor applied.
    std::optional<policy::MemberRules> applied_rules_;
    // Counts the applies that wrote rules (HealthCounters::rules_generation).
    uint64_t rules_generation_ = 0;
    // The next anti-replay second (max: no group has anti-replay and TEKs).
    std::chrono::steady_clock::time_point next_replay_tick_ = std::chrono::steady_clock::time_point::max();
    std::string saved_state_;    // text of the last saved state (skip identical writes)
    std::string state_warning_;  // the last failure to save it (logged once)
};

}  // namespace member
