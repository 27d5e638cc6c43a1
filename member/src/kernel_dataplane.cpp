// KernelDataplane: lifecycle (start, flush, shutdown) and status. Rekeys and the kernel
// steps are in kernel_dataplane_apply.cpp. Decisions: kernel_dataplane.h.
#include "kernel_dataplane.h"

#include <cerrno>

#include "dataplane_host.h"
#include "dataplane_rules.h"
#include "dataplane_tek.h"
#include "kernel_dataplane_group.h"
#include "policy/nft_table.h"
#include "xfrm/dataplane.h"
#include "xfrm/rtnl.h"
#include "xfrm/xfrm.h"

namespace member {
namespace {

bool already_gone(const common::Status& s) {
    if (s) return true;
    const int e = s.error().code;
    return e == ENODEV || e == ENOENT || e == ESRCH || e == EADDRNOTAVAIL;
}

}  // namespace

KernelDataplane::KernelDataplane(KernelDataplaneOptions options) : options_(std::move(options)) {}
KernelDataplane::~KernelDataplane() = default;

void KernelDataplane::log(gdoi::LogLevel level, const std::string& line) const {
    if (options_.log) options_.log(level, "dataplane: " + line);
}

std::string KernelDataplane::accept_tek(const GroupConfig& group, const gdoi::Tek& tek) const {
    return member::accept_tek(tek, group);
}

KernelDataplane::Group* KernelDataplane::find(const GroupConfig& group) {
    auto it = groups_.find(group.name);
    return it == groups_.end() ? nullptr : it->second.get();
}
const KernelDataplane::Group* KernelDataplane::find(const GroupConfig& group) const {
    auto it = groups_.find(group.name);
    return it == groups_.end() ? nullptr : it->second.get();
}

common::Status KernelDataplane::refresh_local_scope() {
    if (options_.local_scope) {
        local_scope_ = normalize(*options_.local_scope);
        return {};
    }
    std::vector<std::string> lans;
    for (const auto& g : config_.groups)
        lans.insert(lans.end(), g.lan_interfaces.begin(), g.lan_interfaces.end());
    auto prefixes = interface_prefixes(lans);
    if (!prefixes) return prefixes.error();
    local_scope_ = std::move(*prefixes);
    return {};
}

common::Status KernelDataplane::start(const MemberConfig& config) {
    config_ = config;
    groups_.clear();
    installed_prefixes_.clear();
    applied_table_.clear();
    carrier_up_ = false;
    for (const auto& g : config_.groups) {
        auto group = std::make_unique<Group>();
        group->config = g;
        group->expected_senders = g.gcm_expected_senders;
        groups_[g.name] = std::move(group);
    }
    if (auto s = refresh_local_scope(); !s) return s;

    // 1. Fail-closed for every group, atomically over what a previous run left.
    auto existed = policy::table_exists(options_.nft_table);
    if (auto s = sync_rules(); !s) return s;
    if (existed && *existed)
        log(gdoi::LogLevel::Info,
            "replaced the nft table " + options_.nft_table + " of a previous run (fail-closed)");

    // 2. The kernel objects of a previous run: now that nothing can leave in clear, remove them.
    auto x = xfrm::Xfrm::open();
    if (!x) return x.error();
    xfrm_ = std::make_unique<xfrm::Xfrm>(std::move(*x));
    auto r = xfrm::Rtnl::open();
    if (!r) return r.error();
    rtnl_ = std::make_unique<xfrm::Rtnl>(std::move(*r));

    xfrm::DataplaneConfig dc;
    dc.carrier.name = options_.carrier_name;
    dc.carrier.local = options_.g_in;
    dc.carrier.remote = options_.g_out;
    auto wan = rtnl_->find_link(config_.wan_interface);
    if (!wan) return wan.error();
    if (!wan->has_value())
        return common::make_error(
            "WAN interface " + config_.wan_interface + " does not exist (wan-interface)", ENODEV);
    dc.wan_mtu = (*wan)->mtu;
    dc.wan_device = config_.wan_interface;
    dc.wan_gateway = options_.wan_gateway ? options_.wan_gateway : default_gateway(config_.wan_interface);
    dc.route_table = options_.carrier_table;
    dc.reqid = options_.reqid;
    carrier_ = std::make_unique<xfrm::GroupDataplane>(*xfrm_, *rtnl_, dc);

    auto leftovers = xfrm_->dump_sas();
    const size_t old_sas = leftovers ? leftovers->size() : 0;
    if (auto s = carrier_->teardown(); !s) return s;
    if (auto s = rtnl_->delete_rule({xfrm::Family::ipv4, 0, options_.clear_mark, options_.carrier_table,
                                     options_.carrier_rule_priority});
        !already_gone(s))
        return s;
    log(gdoi::LogLevel::Info,
        "started: " + std::to_string(groups_.size()) + " group(s) fail-closed, local scope " +
            std::to_string(local_scope_.size()) + " prefix(es), WAN " + config_.wan_interface + " mtu " +
            std::to_string(dc.wan_mtu) + ", G_OUT via " +
            (dc.wan_gateway ? dc.wan_gateway->to_string() : "on-link") +
            (old_sas ? ", removed " + std::to_string(old_sas) + " SA(s) of a previous run" : ""));
    return {};
}

common::Status KernelDataplane::flush() {
    common::Status first;
    auto keep = [&](common::Status s) {
        if (first && !already_gone(s)) first = std::move(s);
    };
    if (carrier_) keep(carrier_->teardown());
    if (rtnl_)
        keep(rtnl_->delete_rule({xfrm::Family::ipv4, 0, options_.clear_mark, options_.carrier_table,
                                 options_.carrier_rule_priority}));
    keep(policy::remove_table(options_.nft_table));
    for (auto& [name, g] : groups_) {
        g->schedule.clear();
        g->teks.clear();
    }
    installed_prefixes_.clear();
    applied_table_.clear();
    carrier_up_ = false;
    log(gdoi::LogLevel::Info, "flushed: SAs, policies, carrier, routes, rule and nft table removed");
    return first;
}

void KernelDataplane::shutdown() {
    log(gdoi::LogLevel::Info, "shutdown: leaving the nft table (fail-closed), SAs and carrier in place");
    carrier_.reset();
    xfrm_.reset();
    rtnl_.reset();
}

std::vector<PolicyStatus> KernelDataplane::policies(const GroupConfig& group) const {
    const Group* g = find(group);
    if (!g) return {};
    std::vector<V4Prefix> lan_scope = local_scope_;
    return policy_status(
        group_rule_set(g->config, g->selectors, g->schedule.active().has_value() && carrier_up_, lan_scope),
        !g->selectors.empty());
}

std::string KernelDataplane::tek_role(const GroupConfig& group, uint32_t spi) const {
    const Group* g = find(group);
    if (!g) return {};
    if (auto r = g->schedule.role(spi)) return role_name(*r);
    if (auto it = g->refused.find(spi); it != g->refused.end()) return "refused: " + it->second;
    return {};
}

std::vector<V4Prefix> KernelDataplane::remote_prefixes() const {
    std::vector<V4Prefix> out;
    for (const auto& [p, locals] : installed_prefixes_) out.push_back(p);
    return out;
}

std::vector<V4Prefix> KernelDataplane::local_prefixes() const { return local_scope_; }

}  // namespace member
