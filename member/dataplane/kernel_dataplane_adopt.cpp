// KernelDataplane: restart adoption (decisions in kernel_dataplane.h) — which groups of a
// previous run can keep their SAs, taking them over, removing the rest, and saving the state
// a future restart needs.
#include <algorithm>
#include <cerrno>

#include "common/hex_spi.h"
#include "dataplane/dataplane_adoption.h"
#include "dataplane/dataplane_saved_state.h"
#include "dataplane/kernel_dataplane.h"
#include "dataplane/kernel_dataplane_group.h"
#include "policy/nft_table.h"
#include "xfrm/netlink.h"
#include "xfrm/rtnl.h"
#include "xfrm/xfrm.h"

namespace member {
namespace {

using xfrm::already_gone;

bool contains(const std::vector<uint32_t>& v, uint32_t x) {
    return std::find(v.begin(), v.end(), x) != v.end();
}

}  // namespace

std::vector<KernelDataplane::Adoptable> KernelDataplane::find_adoptable() {
    std::vector<Adoptable> out;
    if (options_.state_file.empty()) return out;
    auto table = policy::table_exists(options_.nft_table);
    if (!table || !*table) return out;  // flushed, or never ran: nothing protects old SAs' traffic
    auto saved = read_saved_state(options_.state_file);
    if (!saved) {
        log(gdoi::LogLevel::Warning, "restart adoption skipped: " + saved.error().message);
        return out;
    }
    if (!*saved) return out;
    auto sas = xfrm_->dump_sas();
    if (!sas) return out;
    std::vector<uint32_t> slots;
    std::vector<std::string> names;
    for (const auto& sg : **saved) {
        const auto cfg =
            std::find_if(config_.groups.begin(), config_.groups.end(),
                         [&](const GroupConfig& c) { return c.name == sg.name && c.id == sg.id; });
        if (cfg == config_.groups.end() || sg.slot >= kMaxCarriers || contains(slots, sg.slot) ||
            std::find(names.begin(), names.end(), sg.name) != names.end())
            continue;
        std::vector<CarrierFacts> carriers;
        for (const auto family : {common::IpFamily::ipv4, common::IpFamily::ipv6}) {
            const auto dc = carrier_config(sg.slot, family);
            carriers.push_back({family, dc.reqid, dc.carrier.local, dc.carrier.remote,
                                carrier_present(dc.carrier.name, family)});
        }
        auto planes = adoptable_planes(sg, *sas, carriers);
        if (!planes) {
            log(gdoi::LogLevel::Info, gdoi::group_line(sg.name, sg.id,
                                                       "the previous run's SAs are gone or not as saved: "
                                                       "fail-closed until registered"));
            continue;
        }
        Adoptable a{&*cfg, sg, std::move(*planes)};
        slots.push_back(sg.slot);
        names.push_back(sg.name);
        out.push_back(std::move(a));
    }
    return out;
}

void KernelDataplane::adopt(Group& g, const Adoptable& a) {
    g.selectors = a.saved.selectors;
    g.scope = a.saved.scope;
    g.registered = true;
    for (const auto& p : a.planes) {
        FamilyPlane& plane = g.plane(p.family);
        plane.carrier_up = true;  // start() installs what the carrier misses (carrier_ready)
        plane.schedule.adopt(p.inbound, p.active);
        log_group(gdoi::LogLevel::Info, g.config,
                  "adopted the previous run's SAs (sending with " + common::hex_spi(p.active) + ", carrier " +
                      plane.carrier->config().carrier.name +
                      "): traffic stays encrypted until the registration renews the keys",
                  p.active);
    }
}

bool KernelDataplane::carrier_present(const std::string& name, common::IpFamily family) {
    auto link = rtnl_->find_link(name);
    return link && link->has_value() && (*link)->kind == xfrm::carrier_kind(family);
}

common::Status KernelDataplane::remove_member_objects(const std::vector<uint32_t>& keep) {
    common::Status first;
    auto note = [&](common::Status s) {
        if (first && !already_gone(s)) first = std::move(s);
    };
    xfrm::XfrmBatch b = xfrm_->batch();
    if (auto sas = xfrm_->dump_sas(); sas) {
        for (const auto& sa : *sas)
            if (!contains(keep, sa.reqid)) b.delete_sa({sa.dst, sa.spi, sa.mark});
    } else {
        note(sas.error());
    }
    if (auto policies = xfrm_->dump_policies(); policies) {
        for (const auto& p : *policies) {
            // Member-wide policies (the IPIP guard) have no template: they go with the last group.
            const bool kept = keep.empty()
                                  ? false
                                  : p.spec.templates.empty() ||
                                        std::any_of(p.spec.templates.begin(), p.spec.templates.end(),
                                                    [&](const auto& t) { return contains(keep, t.reqid); });
            if (!kept) b.delete_policy(p.id());
        }
    } else {
        note(policies.error());
    }
    note(xfrm_->apply(b));
    for (unsigned slot = 0; slot < kMaxCarriers; ++slot)
        for (const auto family : {common::IpFamily::ipv4, common::IpFamily::ipv6}) {
            const auto dc = carrier_config(slot, family);
            if (contains(keep, dc.reqid)) continue;
            // Only our kind of device: an operator's own "gdoi3" bridge is not ours to delete.
            const bool ours = carrier_present(dc.carrier.name, family);
            if (ours) note(rtnl_->delete_link(dc.carrier.name));
            // The G_OUT6 route exists only where the IPv6 carrier was (IPv6 may be disabled).
            if (!dc.wan_device.empty() && (family == common::IpFamily::ipv4 || ours))
                note(rtnl_->delete_route({xfrm::Prefix::host(dc.carrier.remote), dc.wan_device,
                                          dc.wan_gateway, xfrm::kMainTable, 0}));
        }
    if (keep.empty()) {
        // A host with IPv6 disabled answers the IPv6 requests EAFNOSUPPORT: it holds nothing of them.
        const auto note_ipv6 = [&](common::Status s) {
            if (s || s.error().code != EAFNOSUPPORT) note(std::move(s));
        };
        note(rtnl_->delete_address("lo", xfrm::Prefix::host(options_.g_in)));
        note(rtnl_->delete_rule(carrier_rule(common::IpFamily::ipv4)));
        note_ipv6(rtnl_->delete_address("lo", xfrm::Prefix::host(options_.g_in6)));
        note_ipv6(rtnl_->delete_rule(carrier_rule(common::IpFamily::ipv6)));
    }
    return first;
}

// The keyed groups as a restart needs them; written when they change (after the nft table).
void KernelDataplane::save_state() {
    // Not before the kernel sockets are open: a start that failed must not erase the state
    // the next start needs.
    if (options_.state_file.empty() || !xfrm_) return;
    std::vector<SavedGroup> keyed;
    for (const auto& gc : config_.groups) {
        const Group* g = find(gc);
        if (!g || !g->sending()) continue;
        SavedGroup sg{g->config.id, g->config.name, g->slot, std::nullopt,
                      std::nullopt, g->selectors,   g->scope};
        for (const FamilyPlane* plane : g->planes()) {
            if (!plane->sending()) continue;
            auto inbound = plane->schedule.installed();
            std::sort(inbound.begin(), inbound.end());
            sg.plane(plane->family) = SavedPlane{*plane->schedule.active(), std::move(inbound)};
        }
        keyed.push_back(std::move(sg));
    }
    const std::string text = format_saved_state(keyed);
    if (text == saved_state_) return;
    if (auto s = write_saved_state(options_.state_file, keyed); !s) {
        // An old file must not outlive the state it described.
        (void)remove_saved_state(options_.state_file);
        saved_state_.clear();
        if (s.error().message != state_warning_)  // once per cause, not at every rekey
            log(gdoi::LogLevel::Warning,
                "restart adoption state not saved (a restart will re-register "
                "fail-closed): " +
                    s.error().message);
        state_warning_ = s.error().message;
        return;
    }
    saved_state_ = text;
    state_warning_.clear();
}

}  // namespace member
