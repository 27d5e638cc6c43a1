// GroupDataplane: the issue-4 layout for one group, on top of Xfrm and Rtnl.
//
//   outbound: remote prefixes -> route into the IPIP carrier (G_IN -> G_OUT,
//             identical on every member) -> out policy G_IN->G_OUT proto 4 ->
//             ESP transport-mode SA (TEK SPI, reqid R). policy/ rewrites the outer
//             addresses to the inner ones in postrouting.
//   inbound:  policy/ rewrites ESP to the protected scope to G_OUT->G_IN in
//             prerouting -> tunnel-mode SA (src G_OUT, dst G_IN, TEK SPI, reqid R,
//             replay window 0) decrypts and decapsulates -> fwd policy
//             remote->local at level required (template without addresses) lets
//             only decrypted traffic through.
//   guard:    policy `src 0/0 dst G_IN proto 4 dir in action block`: cleartext
//             IPIP sent to G_IN would otherwise be decapsulated by the carrier.
//
// Kernel objects per member: 2 SAs per live TEK, 1 out + 1 block policy, 1 fwd
// policy per (remote prefix, local prefix) pair — independent of the number of hosts.
//
// Make-before-break rekey (the delays are the caller's timers):
//   1. install_inbound_sa(new)            on every member first
//   2. after the activation delay: activate(new, old spi)
//        = new outbound SA, then old outbound SA deleted, in that order (both have
//          reqid R; the kernel picks the newest state); an old SA the kernel already
//          removed at its hard lifetime is no error
//   3. after the deactivation delay: remove_inbound_sa(old spi)
//
// Batches (DataplaneBatch, the stage_* members): the steps of one registration or rekey go
// to the kernel as one XFRM batch, then one rtnetlink batch. The kernel handles the requests
// of a batch one after the other (netlink_rcv_skb walks the messages of a sendmsg in order,
// each under xfrm_cfg_mutex / rtnl_lock, and goes on after a failure), so a batch keeps the
// order above: new outbound SA, then the old one deleted; fwd policies (XFRM batch) before
// the routes into the carrier (rtnetlink batch, applied after it). A batch is not atomic: a
// failed request leaves the others in place, so a caller that sees an error fails the group
// closed (member/dataplane/kernel_dataplane_apply.cpp).
//
// Several groups on one member: every group has its own carrier
// (device, G_OUT_k, reqid R_k: the out policy G_IN -> G_OUT_k selects the
// group's SA), all share G_IN and the receive pair: ESP of every group is
// readdressed to inbound_peer -> G_IN, the inbound SA is found by its SPI and
// the fwd policies (template reqid R_k) accept only the group's own SAs for
// the group's prefixes, so one group's members cannot inject into another's.
// Member-wide objects (G_IN on lo, the IPIP guard) are installed by every
// group idempotently and removed only by teardown(); teardown_group() removes
// one group's objects and leaves the others' running.
//
// IPv6: the same layout with an IPv6 carrier (config.carrier with IPv6 addresses, from
// 100::/64, RFC 6666's discard-only prefix, never routed): an ip6tnl ip6ip6 device with
// encaplimit none (no destination option between the headers), out policy proto 41, the guard
// `src ::/0 dst G_IN6 proto 41 dir in action block`, a carrier MTU from the 40-octet header
// of at least 1280 (RFC 8200 §5). A dual-stack group has one GroupDataplane per family.
//
// Known limit: ESP follows the route to G_OUT, i.e. one WAN uplink.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"
#include "xfrm/rtnl.h"
#include "xfrm/xfrm.h"

namespace xfrm {

struct DataplaneConfig {
    CarrierSpec carrier;  // name, local = G_IN, remote = G_OUT; mtu derived
    // Source of the inbound SAs: the address policy/ readdresses arriving ESP from
    // (shared by the member's groups). nullopt: carrier.remote.
    std::optional<Address> inbound_peer;
    uint32_t wan_mtu = 1500;
    // Route to G_OUT (the WAN next hop); empty device: the caller routes G_OUT.
    std::string wan_device;
    std::optional<Address> wan_gateway;
    uint32_t route_table = kMainTable;  // remote prefixes -> carrier
    uint32_t reqid = 0x47440001;        // R: all of this group's SAs and templates
    uint32_t policy_priority = 1000;    // fwd/out policies
    uint32_t block_priority = 100;      // IPIP guard (lower value wins)
    // Also install `dir in` policies remote->local. Off by default: traffic to
    // the member's own addresses inside the local prefixes (BGP/OSPF excluded
    // in clear) would be dropped by them.
    bool in_policies = false;
};

// One TEK as the SAs need it. Keys are borrowed (see SaSpec).
struct Tek {
    uint32_t spi = 0;
    EspTransform transform;
    std::span<const uint8_t> encryption_key;
    std::span<const uint8_t> integrity_key;
    Lifetime soft;
    Lifetime hard;
    // The outbound SA's starting sequence number (SaSpec::outbound_seq); 0: the kernel's default.
    uint32_t outbound_seq = 0;
};

// The staged requests of one step list: `xfrm` is applied first, then `rtnl`.
struct DataplaneBatch {
    explicit DataplaneBatch(uint32_t owner) : xfrm(owner) {}
    XfrmBatch xfrm;
    RtnlBatch rtnl;
    bool empty() const { return xfrm.empty() && rtnl.empty(); }
};

class GroupDataplane {
public:
    GroupDataplane(Xfrm& xfrm, Rtnl& rtnl, DataplaneConfig config);

    const DataplaneConfig& config() const { return config_; }

    // G_IN/32 (G_IN6/128) on lo, then the carrier device (created, or adopted if it exists)
    // with the MTU for this transform, up; route to G_OUT; out policy; IPIP (ip6ip6) guard.
    // Safe to call again (adoption after a restart). Without a transform (the carrier
    // prepared before keys arrive) the device keeps the MTU it has (a new one: the kernel's
    // default); the first activation sets it, before anything is routed into the carrier.
    common::Status install_carrier(const std::optional<EspTransform>& transform);
    // Route `remote` into the carrier and require ESP from it towards every
    // local prefix (fwd policies; in policies if configured).
    common::Status install_remote_prefix(const Prefix& remote, std::span<const Prefix> local);
    common::Status remove_remote_prefix(const Prefix& remote, std::span<const Prefix> local);

    common::Status install_inbound_sa(const Tek& tek);   // tunnel, G_OUT -> G_IN
    common::Status install_outbound_sa(const Tek& tek);  // transport, G_IN -> G_OUT
    common::Status remove_inbound_sa(uint32_t spi);
    common::Status remove_outbound_sa(uint32_t spi);
    // The WAN's MTU changed: remember it, and with the active transform set the carrier's MTU.
    common::Status follow_wan_mtu(uint32_t wan_mtu, const std::optional<EspTransform>& transform);
    // Rekey step 2: new outbound, then the old outbound removed (already gone is fine).
    common::Status activate(const Tek& next, std::optional<uint32_t> previous_spi);

    DataplaneBatch batch() const { return DataplaneBatch(xfrm_.owner()); }
    // Applies the XFRM requests, then (if they all succeeded) the rtnetlink ones: routes only
    // ever follow the policies and SAs they need. Empties the batch; the first error is returned.
    common::Status apply(DataplaneBatch& batch);
    // The batched forms of install_inbound_sa, activate, remove_*_sa and install_remote_prefix.
    // An inbound SA that exists is no error, nor is an SA to remove that is gone already. The
    // first SA with a transform this object has not installed yet goes alone, after what is
    // staged (see Xfrm::add_sa: the kernel may still be loading its crypto modules); a carrier
    // MTU that must shrink before the new outbound SA is set then too.
    common::Status stage_inbound_sa(DataplaneBatch& batch, const Tek& tek);
    common::Status stage_activate(DataplaneBatch& batch, const Tek& next,
                                  std::optional<uint32_t> previous_spi);
    void stage_remove_inbound_sa(DataplaneBatch& batch, uint32_t spi) const;
    void stage_remove_outbound_sa(DataplaneBatch& batch, uint32_t spi) const;
    common::Status stage_remote_prefix(DataplaneBatch& batch, const Prefix& remote,
                                       std::span<const Prefix> local) const;

    // This group's objects: SAs and policies of reqid R (and the out policy),
    // the carrier device (its remote-prefix routes go with it), the G_OUT route.
    // Other groups' objects and the member-wide ones stay.
    common::Status teardown_group();
    // Everything this member installed: teardown_group(), then every own SA and
    // policy (owner tag) and G_IN on lo.
    common::Status teardown();

    // The SA specs this dataplane installs (exposed for tests and `gdoictl show`).
    SaSpec inbound_sa(const Tek& tek) const;
    SaSpec outbound_sa(const Tek& tek) const;
    SaId outbound_sa_id(uint32_t spi) const { return {config_.carrier.remote, spi, std::nullopt}; }
    PolicySpec carrier_policy() const;
    PolicySpec ipip_guard_policy() const;
    std::vector<PolicySpec> prefix_policies(const Prefix& remote, std::span<const Prefix> local) const;

private:
    // The carrier MTU for this transform at the WAN MTU, or the operator's error.
    common::Result<uint32_t> mtu_for(const EspTransform& transform) const;
    common::Status set_carrier_mtu(const EspTransform& transform);
    // An SA staged, or installed alone (with Xfrm::add_sa's retries) if its transform is new here.
    common::Status stage_sa(DataplaneBatch& batch, const SaSpec& sa, Tolerate tolerate);
    Xfrm& xfrm_;
    Rtnl& rtnl_;
    DataplaneConfig config_;
    std::optional<uint32_t> mtu_;       // the carrier MTU this object set last (nullopt: not known)
    std::vector<EspTransform> proven_;  // transforms of SAs the kernel accepted from this object
};

}  // namespace xfrm
