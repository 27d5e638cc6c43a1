// GroupDataplane: the kernel objects of the issue-4 layout, in make-before-break order.
#include "xfrm/dataplane.h"

#include <netinet/in.h>

#include <algorithm>
#include <cerrno>

#include "xfrm/mtu.h"

namespace xfrm {
namespace {

void keep_first(common::Status& first, common::Status next) {
    if (first && !next) first = std::move(next);
}

// The carrier's outer next protocol: IPv4 in IPv4 (RFC 2003) or IPv6 in IPv6 (RFC 2473).
uint8_t carrier_protocol(Family f) { return f == Family::ipv6 ? IPPROTO_IPV6 : IPPROTO_IPIP; }

}  // namespace

GroupDataplane::GroupDataplane(Xfrm& xfrm, Rtnl& rtnl, DataplaneConfig config)
    : xfrm_(xfrm), rtnl_(rtnl), config_(std::move(config)) {}

SaSpec GroupDataplane::inbound_sa(const Tek& tek) const {
    SaSpec sa;
    // Tunnel mode from the pseudo peer to the pseudo address: policy/ rewrites
    // every group ESP packet to G_OUT -> G_IN, so one SA serves all senders, and
    // the kernel decapsulates the inner packet itself (no device on receive).
    sa.src = config_.inbound_peer.value_or(config_.carrier.remote);
    sa.dst = config_.carrier.local;
    sa.spi = tek.spi;
    sa.mode = Mode::tunnel;
    sa.reqid = config_.reqid;
    sa.transform = tek.transform;
    sa.encryption_key = tek.encryption_key;
    sa.integrity_key = tek.integrity_key;
    sa.replay_window = 0;  // all senders count from 1 on one SPI
    sa.soft = tek.soft;
    sa.hard = tek.hard;
    return sa;
}

SaSpec GroupDataplane::outbound_sa(const Tek& tek) const {
    SaSpec sa = inbound_sa(tek);
    // Transport mode on the IPIP carrier: ESP goes between the carrier's outer
    // header and the inner packet, giving the RFC tunnel-mode wire format.
    sa.src = config_.carrier.local;
    sa.dst = config_.carrier.remote;
    sa.mode = Mode::transport;
    sa.outbound_seq = tek.outbound_seq;
    return sa;
}

PolicySpec GroupDataplane::carrier_policy() const {
    PolicySpec p;
    p.selector = {Prefix::host(config_.carrier.local), Prefix::host(config_.carrier.remote),
                  carrier_protocol(config_.carrier.local.family), 0, 0};
    p.dir = Direction::out;
    p.priority = config_.policy_priority;
    // Transport-mode templates take the flow's addresses; reqid R selects the
    // group's outbound SAs, of which the kernel uses the newest.
    p.templates.push_back(
        Template{std::nullopt, std::nullopt, 0, Mode::transport, config_.reqid, Level::required});
    return p;
}

PolicySpec GroupDataplane::ipip_guard_policy() const {
    PolicySpec p;
    const Family f = config_.carrier.local.family;
    p.selector = {Prefix::any(f), Prefix::host(config_.carrier.local), carrier_protocol(f), 0, 0};
    p.dir = Direction::in;
    p.action = Action::block;
    p.priority = config_.block_priority;
    return p;
}

std::vector<PolicySpec> GroupDataplane::prefix_policies(const Prefix& remote,
                                                        std::span<const Prefix> local) const {
    std::vector<PolicySpec> out;
    for (const Prefix& l : local) {
        PolicySpec p;
        p.selector = {remote, l, 0, 0, 0};
        p.dir = Direction::fwd;
        p.priority = config_.policy_priority;
        // No addresses and no SPI: accepts the group SA whatever the rewritten
        // outer addresses, and both SPIs during a rekey.
        p.templates.push_back(
            Template{std::nullopt, std::nullopt, 0, Mode::tunnel, config_.reqid, Level::required});
        out.push_back(p);
        if (config_.in_policies) {
            p.dir = Direction::in;
            out.push_back(p);
        }
    }
    return out;
}

common::Result<uint32_t> GroupDataplane::mtu_for(const EspTransform& transform) const {
    const Family f = config_.carrier.local.family;
    const uint32_t mtu = carrier_mtu(config_.wan_mtu, transform, f);
    if (mtu != 0) return mtu;
    const std::string what =
        "carrier " + config_.carrier.name + ": WAN MTU " + std::to_string(config_.wan_mtu);
    if (f == Family::ipv4) return common::make_error(what + " leaves no room for ESP");
    // IPv6 links carry at least 1280 octets (RFC 8200 §5): a smaller carrier would break IPv6.
    uint32_t needed = config_.wan_mtu;
    while (needed < 65535 && carrier_mtu(needed, transform, f) == 0) ++needed;
    return common::make_error(what +
                              " cannot carry IPv6's minimum MTU of 1280 inside ip6ip6 and this TEK's ESP: "
                              "the WAN needs an MTU of at least " +
                              std::to_string(needed));
}

common::Status GroupDataplane::set_carrier_mtu(const EspTransform& transform) {
    const auto mtu = mtu_for(transform);
    if (!mtu) return mtu.error();
    auto s = rtnl_.set_mtu(config_.carrier.name, *mtu);
    mtu_ = s ? std::optional<uint32_t>(*mtu) : std::nullopt;
    return s;
}

common::Status GroupDataplane::follow_wan_mtu(uint32_t wan_mtu,
                                              const std::optional<EspTransform>& transform) {
    config_.wan_mtu = wan_mtu;
    return transform ? set_carrier_mtu(*transform) : common::Status{};
}

common::Status GroupDataplane::install_carrier(const std::optional<EspTransform>& transform) {
    const CarrierSpec& c = config_.carrier;
    const bool v6 = c.local.family == Family::ipv6;
    uint32_t mtu = 0;
    if (transform) {
        const auto checked = mtu_for(*transform);
        if (!checked) return checked.error();
        mtu = *checked;
    }
    // The pseudo address first: ip6tnl takes its transmit/receive capability from its local
    // address when it is created (tests/vm/ipv6-layout.sh).
    if (auto s = rtnl_.add_address("lo", Prefix::host(c.local)); !s && s.error().code != EEXIST) return s;
    auto existing = rtnl_.find_link(c.name);
    if (!existing) return existing.error();
    RtnlBatch links;
    if (existing->has_value()) {
        // Adoption after a restart: the device keeps forwarding meanwhile.
        if ((*existing)->kind != carrier_kind(c.local.family))
            return common::make_error("device " + c.name + " exists and is not an " +
                                          (v6 ? "ip6tnl" : "IPIP") +
                                          " tunnel: not ours, choose another carrier name",
                                      EEXIST);
    } else {
        CarrierSpec with_mtu = c;
        with_mtu.mtu = mtu;
        if (auto s = v6 ? links.create_ip6tnl(with_mtu) : links.create_ipip(with_mtu); !s) return s;
    }
    links.set_link(c.name, true, transform ? std::optional<uint32_t>(mtu) : std::nullopt);
    if (auto s = rtnl_.apply(links); !s) return s;
    if (transform)
        mtu_ = mtu;
    else if (existing->has_value())
        mtu_ = (*existing)->mtu;
    else
        mtu_.reset();  // the kernel's default, set at the first activation

    if (!config_.wan_device.empty()) {
        RouteSpec to_peer{Prefix::host(c.remote), config_.wan_device, config_.wan_gateway, kMainTable, 0};
        if (auto s = rtnl_.replace_route(to_peer); !s) return s;
    }
    XfrmBatch b = xfrm_.batch();
    if (auto s = b.update_policy(ipip_guard_policy()); !s) return s;
    if (auto s = b.update_policy(carrier_policy()); !s) return s;
    return xfrm_.apply(b);
}

common::Status GroupDataplane::stage_remote_prefix(DataplaneBatch& batch, const Prefix& remote,
                                                   std::span<const Prefix> local) const {
    for (const auto& p : prefix_policies(remote, local))
        if (auto s = batch.xfrm.update_policy(p); !s) return s;
    // Policies (XFRM batch) before the route (rtnetlink batch, applied after it): the moment
    // traffic enters the carrier, the receive side already requires ESP.
    return batch.rtnl.replace_route({remote, config_.carrier.name, std::nullopt, config_.route_table, 0});
}

common::Status GroupDataplane::install_remote_prefix(const Prefix& remote, std::span<const Prefix> local) {
    DataplaneBatch b = batch();
    if (auto s = stage_remote_prefix(b, remote, local); !s) return s;
    return apply(b);
}

common::Status GroupDataplane::remove_remote_prefix(const Prefix& remote, std::span<const Prefix> local) {
    common::Status first;
    keep_first(first,
               rtnl_.delete_route({remote, config_.carrier.name, std::nullopt, config_.route_table, 0}));
    XfrmBatch b = xfrm_.batch();
    for (const auto& p : prefix_policies(remote, local)) b.delete_policy({p.selector, p.dir, p.mark});
    keep_first(first, xfrm_.apply(b));
    return first;
}

common::Status GroupDataplane::apply(DataplaneBatch& batch) {
    auto s = xfrm_.apply(batch.xfrm);
    // A route whose policies or SAs failed would lead into a carrier that is not ready.
    if (s) s = rtnl_.apply(batch.rtnl);
    batch.rtnl.buffer().clear();
    if (!s) mtu_.reset();  // a staged MTU may not have been set: ask the kernel next time
    return s;
}

common::Status GroupDataplane::stage_sa(DataplaneBatch& batch, const SaSpec& sa, Tolerate tolerate) {
    if (std::find(proven_.begin(), proven_.end(), sa.transform) != proven_.end()) {
        if (auto s = batch.xfrm.add_sa(sa); !s) return s;
        batch.xfrm.buffer().tolerate_last(tolerate);
        return {};
    }
    // A batch cannot be retried (its other requests took effect): what is staged goes first,
    // then this SA alone, retried while the kernel loads the algorithm (Xfrm::add_sa).
    if (auto s = apply(batch); !s) return s;
    auto s = xfrm_.add_sa(sa);
    if (!s && !tolerated(tolerate, s.error().code)) return s;
    proven_.push_back(sa.transform);
    return {};
}

common::Status GroupDataplane::stage_inbound_sa(DataplaneBatch& batch, const Tek& tek) {
    // The SA may be there already: adopted from a previous run with this SPI.
    return stage_sa(batch, inbound_sa(tek), Tolerate::exists);
}

void GroupDataplane::stage_remove_inbound_sa(DataplaneBatch& batch, uint32_t spi) const {
    batch.xfrm.delete_sa({config_.carrier.local, spi, std::nullopt});
    batch.xfrm.buffer().tolerate_last(Tolerate::gone);
}

void GroupDataplane::stage_remove_outbound_sa(DataplaneBatch& batch, uint32_t spi) const {
    // The kernel deletes an SA at its hard lifetime: gone already is what was wanted.
    batch.xfrm.delete_sa(outbound_sa_id(spi));
    batch.xfrm.buffer().tolerate_last(Tolerate::gone);
}

common::Status GroupDataplane::stage_activate(DataplaneBatch& batch, const Tek& next,
                                              std::optional<uint32_t> previous_spi) {
    const auto checked = mtu_for(next.transform);
    if (!checked) return checked.error();
    const uint32_t mtu = *checked;
    const bool replaces = previous_spi && *previous_spi != next.spi;
    std::optional<uint32_t> current = mtu_;
    if (!current && replaces) {
        auto link = rtnl_.find_link(config_.carrier.name);
        if (!link) return link.error();
        if (link->has_value()) current = (*link)->mtu;
    }
    // A smaller MTU first (packets sized for it fit both SAs); a larger one only once the old
    // SA, with its bigger overhead, is gone. Without an old SA nothing is sized for the carrier
    // yet (its routes come after this step), so the MTU goes with the routes' batch.
    const bool shrink = replaces && current && mtu < *current;
    if (shrink) {
        if (auto s = apply(batch); !s) return s;
        if (auto s = set_carrier_mtu(next.transform); !s) return s;
    }
    if (auto s = stage_sa(batch, outbound_sa(next), Tolerate::nothing); !s) return s;
    if (replaces) stage_remove_outbound_sa(batch, *previous_spi);
    if (!shrink && current != mtu) {
        batch.rtnl.set_link(config_.carrier.name, std::nullopt, mtu);
        mtu_ = mtu;
    }
    return {};
}

common::Status GroupDataplane::install_inbound_sa(const Tek& tek) { return xfrm_.add_sa(inbound_sa(tek)); }

common::Status GroupDataplane::install_outbound_sa(const Tek& tek) {
    if (auto s = set_carrier_mtu(tek.transform); !s) return s;
    return xfrm_.add_sa(outbound_sa(tek));
}

common::Status GroupDataplane::remove_inbound_sa(uint32_t spi) {
    return xfrm_.delete_sa({config_.carrier.local, spi, std::nullopt});
}

common::Status GroupDataplane::remove_outbound_sa(uint32_t spi) {
    return xfrm_.delete_sa(outbound_sa_id(spi));
}

common::Status GroupDataplane::activate(const Tek& next, std::optional<uint32_t> previous_spi) {
    DataplaneBatch b = batch();
    if (auto s = stage_activate(b, next, previous_spi); !s) return s;
    return apply(b);
}

common::Status GroupDataplane::teardown_group() {
    common::Status first;
    auto gone = [&](common::Status s) {
        if (!already_gone(s)) keep_first(first, std::move(s));
    };
    XfrmBatch b = xfrm_.batch();
    auto sas = xfrm_.dump_sas();
    if (!sas) return sas.error();
    for (const auto& sa : *sas)
        if (sa.reqid == config_.reqid) b.delete_sa({sa.dst, sa.spi, sa.mark});
    auto policies = xfrm_.dump_policies();
    if (!policies) return policies.error();
    const PolicySpec out = carrier_policy();
    for (const auto& p : *policies) {
        const bool ours = std::any_of(p.spec.templates.begin(), p.spec.templates.end(),
                                      [&](const Template& t) { return t.reqid == config_.reqid; });
        if (ours || (p.spec.dir == out.dir && p.spec.selector == out.selector)) b.delete_policy(p.id());
    }
    gone(xfrm_.apply(b));
    mtu_.reset();
    // Deleting the device removes the routes through it.
    gone(rtnl_.delete_link(config_.carrier.name));
    if (!config_.wan_device.empty())
        gone(rtnl_.delete_route(
            {Prefix::host(config_.carrier.remote), config_.wan_device, config_.wan_gateway, kMainTable, 0}));
    return first;
}

common::Status GroupDataplane::teardown() {
    common::Status first = teardown_group();
    keep_first(first, xfrm_.flush_own());
    if (auto s = rtnl_.delete_address("lo", Prefix::host(config_.carrier.local)); !already_gone(s))
        keep_first(first, std::move(s));
    return first;
}

}  // namespace xfrm
