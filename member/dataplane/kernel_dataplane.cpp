// KernelDataplane: lifecycle (start, flush, shutdown) and status. Rekeys and the kernel
// steps are in kernel_dataplane_apply.cpp. Decisions: kernel_dataplane.h.
#include "dataplane/kernel_dataplane.h"

#include <algorithm>
#include <cerrno>

#include "dataplane/dataplane_host.h"
#include "dataplane/dataplane_rules.h"
#include "dataplane/dataplane_saved_state.h"
#include "dataplane/dataplane_tek.h"
#include "dataplane/kernel_dataplane_group.h"
#include "policy/compile.h"
#include "policy/nft_counters.h"
#include "policy/nft_table.h"
#include "xfrm/dataplane.h"
#include "xfrm/netlink.h"
#include "xfrm/rtnl.h"
#include "xfrm/xfrm.h"

namespace member {
using xfrm::already_gone;

KernelDataplane::KernelDataplane(KernelDataplaneOptions options) : options_(std::move(options)) {}
KernelDataplane::~KernelDataplane() = default;

void KernelDataplane::log(gdoi::LogLevel level, const std::string& line) const {
    if (options_.log) options_.log(level, "dataplane: " + line);
}

void KernelDataplane::log_group(gdoi::LogLevel level, const GroupConfig& group, const std::string& text,
                                std::optional<uint32_t> spi) const {
    log(level, gdoi::group_line(group.name, group.id, text, spi));
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

std::string KernelDataplane::carrier_name(unsigned slot, common::IpFamily family) const {
    return options_.carrier_prefix + std::to_string(slot) + (family == common::IpFamily::ipv6 ? "v6" : "");
}

xfrm::DataplaneConfig KernelDataplane::carrier_config(unsigned slot, common::IpFamily family) const {
    const bool v6 = family == common::IpFamily::ipv6;
    xfrm::DataplaneConfig dc = wan_;
    dc.carrier.name = carrier_name(slot, family);
    dc.carrier.local = v6 ? options_.g_in6 : options_.g_in;
    dc.carrier.remote = v6 ? options_.g_out6 : options_.g_out;
    // G_OUT_k = G_OUT + k: the last octet (IPv4: byte 3, IPv6: byte 15; start() checks the room).
    auto& last = dc.carrier.remote.bytes[v6 ? 15 : 3];
    last = static_cast<uint8_t>(last + slot);
    dc.inbound_peer = v6 ? options_.g_out6 : options_.g_out;
    if (v6) dc.wan_gateway = wan_gateway6_;
    dc.route_table = options_.carrier_table;
    dc.reqid = (v6 ? options_.reqid6 : options_.reqid) + slot;
    return dc;
}

xfrm::RuleSpec KernelDataplane::carrier_rule(common::IpFamily family) const {
    return {family, 0, options_.clear_mark, options_.carrier_table, options_.carrier_rule_priority};
}

common::Result<KernelDataplane::Group*> KernelDataplane::make_group(const GroupConfig& config,
                                                                    std::optional<unsigned> wanted) {
    auto taken = [this](unsigned k) {
        return std::any_of(groups_.begin(), groups_.end(),
                           [k](const auto& e) { return e.second->slot == k; });
    };
    unsigned slot = 0;
    if (wanted && !taken(*wanted))
        slot = *wanted;
    else
        while (slot < kMaxCarriers && taken(slot)) ++slot;
    if (slot == kMaxCarriers)
        return common::make_error("group " + config.name + ": a member can be in at most " +
                                  std::to_string(kMaxCarriers) + " groups (one carrier each)");
    auto group = std::make_unique<Group>();
    group->config = config;
    group->expected_senders = config.gcm_expected_senders;
    group->slot = slot;
    if (xfrm_)
        for (FamilyPlane* plane : group->planes()) {
            auto dc = carrier_config(slot, plane->family);
            // df-bit "set": the tunnel sets DF; otherwise it copies the inner DF, which the
            // postrouting rule clears for "clear" (policy/compile.cpp). IPv6 has no DF to copy.
            dc.carrier.pmtudisc = config.df_bit == DfBit::set;
            plane->carrier = std::make_unique<xfrm::GroupDataplane>(*xfrm_, *rtnl_, std::move(dc));
        }
    Group* raw = group.get();
    groups_[config.name] = std::move(group);
    return raw;
}

common::Status KernelDataplane::start(const MemberConfig& config) {
    if (options_.g_out.bytes[3] + kMaxCarriers > 255 || options_.g_out6.bytes[15] + kMaxCarriers > 255)
        return common::make_error("G_OUT " + options_.g_out.to_string() + " or G_OUT6 " +
                                  options_.g_out6.to_string() + " leaves no room for " +
                                  std::to_string(kMaxCarriers) + " carrier peers in its last octet");
    config_ = config;
    groups_.clear();
    applied_rules_.reset();
    saved_state_.clear();
    xfrm_.reset();
    rtnl_.reset();
    // A start that cannot go on still leaves every group fail-closed.
    auto fail_closed = [this](common::Error e) -> common::Status {
        groups_.clear();
        xfrm_.reset();
        for (const auto& g : config_.groups) (void)make_group(g);
        (void)refresh_local_scope();
        if (auto s = sync_rules(); !s) log(gdoi::LogLevel::Error, s.error().message);
        return e;
    };
    auto x = xfrm::Xfrm::open();
    if (!x) return fail_closed(x.error());
    xfrm_ = std::make_unique<xfrm::Xfrm>(std::move(*x));
    auto r = xfrm::Rtnl::open();
    if (!r) return fail_closed(r.error());
    rtnl_ = std::make_unique<xfrm::Rtnl>(std::move(*r));
    auto wan = rtnl_->find_link(config_.wan_interface);
    if (!wan) return fail_closed(wan.error());
    if (!wan->has_value())
        return fail_closed(common::make_error(
            "WAN interface " + config_.wan_interface + " does not exist (wan-interface)", ENODEV));
    wan_ = {};
    wan_.wan_mtu = (*wan)->mtu;
    wan_.wan_device = config_.wan_interface;
    wan_.wan_gateway = options_.wan_gateway ? options_.wan_gateway : default_gateway(config_.wan_interface);
    wan_gateway6_ = options_.wan_gateway6 ? options_.wan_gateway6
                                          : default_gateway(config_.wan_interface, common::IpFamily::ipv6);

    // Groups whose previous-run SAs can carry on (their slots first), then the others.
    const auto adoptable = find_adoptable();
    std::vector<uint32_t> keep;
    std::size_t adopted = 0;
    for (const auto& a : adoptable) {
        auto made = make_group(*a.config, a.saved.slot);
        if (!made) return fail_closed(made.error());
        // What else each carrier needs may be gone (a WAN flap takes the G_OUT route, IPv6
        // disabled since takes G_IN6): all of it again, idempotently — the device, its SAs and
        // routes stay as they are. If a carrier cannot be set up again the group is not adopted
        // (its SAs go with the other leftovers below; it registers, fail-closed meanwhile).
        common::Status ready;
        for (const auto& p : a.planes) {
            ready = (*made)->plane(p.family).carrier->install_carrier(*p.transform);
            if (auto rule = ready ? rtnl_->add_rule(carrier_rule(p.family)) : common::Status{};
                !rule && rule.error().code != EEXIST)
                ready = rule;
            if (!ready) break;
        }
        if (!ready) {
            log_group(gdoi::LogLevel::Warning, *a.config,
                      "the previous run's SAs not adopted (" + ready.error().message +
                          "): fail-closed until registered");
            continue;
        }
        adopt(**made, a);
        for (const auto& p : a.planes) {
            FamilyPlane& plane = (*made)->plane(p.family);
            keep.push_back(plane.carrier->config().reqid);
            plane.carrier_ready = true;
        }
        ++adopted;
    }
    for (const auto& g : config_.groups)
        if (!find(g))
            if (auto made = make_group(g); !made) return made.error();
    if (auto s = refresh_local_scope(); !s) return s;

    // 1. The table: adopted groups keyed, every other group fail-closed, atomically over
    //    whatever a previous run left (no window).
    auto existed = policy::table_exists(options_.nft_table);
    if (auto s = sync_rules(); !s) return s;
    if (existed && *existed)
        log(gdoi::LogLevel::Info, "replaced the nft table " + options_.nft_table + " of a previous run");

    // 2. The previous run's other objects: now that nothing can leave in clear, remove them.
    auto leftovers = xfrm_->dump_sas();
    const size_t old_sas = leftovers ? leftovers->size() : 0;
    if (auto s = remove_member_objects(keep); !s) return s;
    if (auto s = sync_exclude_policies(); !s) return s;
    if (auto s = sync_prefixes(); !s) return s;
    // 3. The other groups' carriers, before their keys (kernel_dataplane.h): a registration
    //    then only adds SAs, policies and routes. A failure here is retried by the registration.
    for (auto& [name, g] : groups_) (void)prepare_group(g->config);
    log(gdoi::LogLevel::Info,
        "started: " + std::to_string(groups_.size()) + " group(s), " + std::to_string(adopted) +
            " adopted, local scope " + std::to_string(local_scope_.size()) + " prefix(es), WAN " +
            config_.wan_interface + " mtu " + std::to_string(wan_.wan_mtu) + ", G_OUT via " +
            (wan_.wan_gateway ? wan_.wan_gateway->to_string() : "on-link") +
            (old_sas ? ", found " + std::to_string(old_sas) + " SA(s) of a previous run" : ""));
    return {};
}

common::Status KernelDataplane::add_group(const GroupConfig& group) {
    if (find(group)) return {};
    auto made = make_group(group);
    if (!made) return made.error();
    config_.groups.push_back(group);
    log_group(gdoi::LogLevel::Info, group,
              "added, fail-closed until registered (carrier " +
                  carrier_name((*made)->slot, common::IpFamily::ipv4) + ")");
    // The slot may hold what an earlier group failed to remove: its SAs would serve this one.
    for (FamilyPlane* plane : (*made)->planes())
        if (auto s = plane->carrier ? plane->carrier->teardown_group() : common::Status{}; !s)
            log_group(gdoi::LogLevel::Warning, group, "clearing its carrier slot: " + s.error().message);
    if (auto s = refresh_local_scope(); !s)
        log(gdoi::LogLevel::Warning, "local scope kept as it was: " + s.error().message);
    auto rules = sync_rules();              // the group's rules go in whatever else failed
    if (rules) (void)prepare_group(group);  // its carrier, fail-closed, before its keys
    if (auto s = sync_exclude_policies(); rules && !s) return s;
    return rules;
}

common::Status KernelDataplane::reset_group(const GroupConfig& group) {
    Group* g = find(group);
    if (!g) return add_group(group);
    g->config = group;
    g->expected_senders = group.gcm_expected_senders;
    for (auto& c : config_.groups)
        if (c.name == group.name) c = group;
    for (FamilyPlane* plane : g->planes()) {
        plane->schedule.clear();
        plane->carrier_up = false;
    }
    g->teks.clear();
    g->refused.clear();
    g->selectors.clear();
    g->scope.clear();
    g->registered = false;
    if (auto s = refresh_local_scope(); !s)
        log(gdoi::LogLevel::Warning, "local scope kept as it was: " + s.error().message);
    // Rules first (the group fail-closed under its new configuration), then its objects.
    common::Status first = sync_rules();
    if (auto s = g->ipv4.carrier ? teardown_group(*g) : common::Status{}; first && !s) first = s;
    if (auto s = sync_prefixes(); first && !s) first = s;
    if (auto s = sync_exclude_policies(); first && !s) first = s;
    if (first) (void)prepare_group(group);  // its carrier, fail-closed, before its new keys
    save_state();
    log_group(gdoi::LogLevel::Info, group, "configuration changed: fail-closed until registered");
    return first;
}

common::Status KernelDataplane::flush() {
    common::Status first;
    auto keep = [&](common::Status s) {
        if (first && !already_gone(s)) first = std::move(s);
    };
    if (xfrm_) keep(remove_member_objects());
    keep(policy::remove_table(options_.nft_table));
    if (!options_.state_file.empty()) keep(remove_saved_state(options_.state_file));
    saved_state_.clear();
    for (auto& [name, g] : groups_) {
        g->teks.clear();
        for (FamilyPlane* plane : g->planes()) {
            plane->schedule.clear();
            plane->installed_prefixes.clear();
            plane->carrier_up = false;
            plane->carrier_ready = false;
        }
    }
    applied_rules_.reset();
    log(gdoi::LogLevel::Info, "flushed: SAs, policies, carriers, routes, rule and nft table removed");
    return first;
}

void KernelDataplane::shutdown() {
    log(gdoi::LogLevel::Info, "shutdown: leaving the nft table (fail-closed), SAs and carriers in place");
    for (auto& [name, g] : groups_)
        for (FamilyPlane* plane : g->planes()) plane->carrier.reset();
    xfrm_.reset();
    rtnl_.reset();
}

std::optional<GroupRules> KernelDataplane::rules(const GroupConfig& group) const {
    const Group* g = find(group);
    if (!g) return std::nullopt;
    std::vector<NetPrefix> lan_scope = local_scope_;
    return GroupRules{group_rule_set(g->config, g->selectors, g->sending(), lan_scope), !g->selectors.empty(),
                      own_traffic_selectors(g->config, config_.local_address)};
}

TekRole KernelDataplane::tek_role(const GroupConfig& group, uint32_t spi) const {
    const Group* g = find(group);
    if (!g) return {};
    if (const FamilyPlane* plane = g->plane_of(spi); plane)
        if (auto r = plane->schedule.role(spi)) {
            switch (*r) {
                case RekeySchedule::Role::activating:
                    return {TekRole::Kind::activating, {}};
                case RekeySchedule::Role::active:
                    return {TekRole::Kind::active, {}};
                case RekeySchedule::Role::inbound_only:
                    return {TekRole::Kind::inbound_only, {}};
                case RekeySchedule::Role::deactivating:
                    return {TekRole::Kind::deactivating, {}};
            }
        }
    if (auto it = g->refused.find(spi); it != g->refused.end()) return {TekRole::Kind::refused, it->second};
    return {};
}

bool KernelDataplane::sending(const GroupConfig& group) const {
    const Group* g = find(group);
    return g && g->sending();
}

std::optional<uint32_t> KernelDataplane::sa_owner_tag() const {
    return xfrm_ ? std::optional<uint32_t>(xfrm_->owner()) : std::nullopt;
}

common::Result<std::vector<SaTraffic>> KernelDataplane::sa_traffic(const GroupConfig& group) {
    const Group* g = find(group);
    if (!g || !xfrm_ || !g->ipv4.carrier) return std::vector<SaTraffic>{};
    auto sas = xfrm_->dump_sas();
    if (!sas) return sas.error();
    // The group's outbound SAs go to its own carrier peer G_OUT_k (G_OUT6_k), per family.
    std::vector<SaTraffic> out;
    for (const FamilyPlane* plane : g->planes()) {
        const auto spis = plane->schedule.installed();
        if (spis.empty()) continue;
        auto part = group_sa_traffic(*sas, spis, plane->carrier->config().carrier.remote);
        out.insert(out.end(), part.begin(), part.end());
    }
    return out;
}

void KernelDataplane::follow_wan_mtu() {
    if (!rtnl_) return;
    auto wan = rtnl_->find_link(config_.wan_interface);
    if (!wan || !wan->has_value() || (*wan)->mtu == 0 || (*wan)->mtu == wan_.wan_mtu) return;
    const uint32_t mtu = (*wan)->mtu;
    bool all = true;
    for (auto& [name, g] : groups_)
        for (FamilyPlane* plane : g->planes()) {
            if (!plane->carrier) continue;
            std::optional<xfrm::EspTransform> transform;
            if (const auto active = plane->schedule.active();
                plane->carrier_up && active && g->teks.count(*active))
                if (auto t = tek_transform(g->teks.at(*active))) transform = *t;
            if (auto s = plane->carrier->follow_wan_mtu(mtu, transform); !s) {
                all = false;
                log_group(gdoi::LogLevel::Warning, g->config,
                          "carrier " + plane->carrier->config().carrier.name + " MTU: " + s.error().message);
            }
        }
    if (!all) return;  // tried again at the next check
    log(gdoi::LogLevel::Info, "WAN " + config_.wan_interface + " mtu " + std::to_string(wan_.wan_mtu) +
                                  " -> " + std::to_string(mtu) + ": the carriers' MTUs follow");
    wan_.wan_mtu = mtu;
}

common::Result<std::optional<HealthCounters>> KernelDataplane::health_counters(const GroupConfig& group) {
    const Group* g = find(group);
    if (!g || !g->ipv4.carrier) return std::optional<HealthCounters>{};
    auto counters = policy::read_rule_counters(options_.nft_table);
    if (!counters) return counters.error();
    auto sas = sa_traffic(group);
    if (!sas) return sas.error();
    // The rule comments of policy/compile.cpp.
    const auto& c = *counters;
    HealthCounters h;
    h.wan = config_.wan_interface;
    h.to_carrier_wanted = policy::packets_of(c, policy::kChainClassify, group.name + " ", ": encrypt");
    // The group's own guards; the member-wide catch-all guards name no group.
    policy::RuleSet rs;
    rs.group_id = group.id;
    rs.group_name = group.name;
    h.guard_drops = policy::packets_of(c, policy::kChainPostrouting, "last resort, " + group.name + " ") +
                    policy::packets_of(c, policy::kChainPostroutingEarly, "last resort, " + group.name + " ");
    // Per family whose carrier the group has: what entered it, and its guards.
    for (const FamilyPlane* plane : g->planes()) {
        if (plane->family == common::IpFamily::ipv6 && !plane->carrier_ready) continue;
        const std::string device = carrier_name(g->slot, plane->family);
        h.carrier += (h.carrier.empty() ? "" : ", ") + device;
        h.to_carrier_seen +=
            policy::packets_exact(c, policy::kChainPostrouting, policy::kHealthIntoCarrier + device);
        const auto family = policy::family_of(plane->family);
        h.guard_drops +=
            policy::packets_exact(c, policy::kChainPostrouting, policy::carrier_guard_comment(rs, family)) +
            policy::packets_exact(c, policy::kChainPostrouting, policy::peer_guard_comment(rs, family));
    }
    h.esp_readdressed = policy::packets_of(c, policy::kChainEspInbound, "ESP for own scope");
    h.decrypted_seen = policy::packets_of(c, policy::kChainHealthForward, policy::kHealthDecrypted) +
                       policy::packets_of(c, policy::kChainHealthInput, policy::kHealthDecrypted);
    h.sas = std::move(*sas);
    h.rules_generation = rules_generation_;
    return std::optional<HealthCounters>{std::move(h)};
}

std::vector<NetPrefix> KernelDataplane::remote_prefixes() const {
    std::vector<NetPrefix> out;
    for (const auto& [name, g] : groups_)
        for (const FamilyPlane* plane : g->planes())
            for (const auto& [p, locals] : plane->installed_prefixes) out.push_back(p);
    return normalize(out);
}

std::vector<NetPrefix> KernelDataplane::local_prefixes() const { return local_scope_; }

}  // namespace member
