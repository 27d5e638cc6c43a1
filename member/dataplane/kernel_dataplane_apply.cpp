// KernelDataplane: new group states, the rekey steps in the kernel, routes/fwd policies and
// the nft table kept in line with the TEKs. Order: dataplane_rekey.h; decisions: kernel_dataplane.h.
#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <map>

#include "common/hex_spi.h"
#include "dataplane/anti_replay.h"
#include "dataplane/dataplane_exclude.h"
#include "dataplane/dataplane_rules.h"
#include "dataplane/dataplane_tek.h"
#include "dataplane/kernel_dataplane.h"
#include "dataplane/kernel_dataplane_group.h"
#include "policy/compile.h"
#include "policy/nft_table.h"
#include "xfrm/dataplane.h"
#include "xfrm/netlink.h"
#include "xfrm/rtnl.h"
#include "xfrm/xfrm.h"

namespace member {
using xfrm::already_gone;
namespace {

// The SA parameters of one stored TEK; keys stay in the TEK's secure memory (borrowed).
struct TekSas {
    xfrm::Tek inbound;
    xfrm::Tek outbound;
};

common::Result<TekSas> tek_sas(const gdoi::Tek& tek, uint32_t expected_senders) {
    auto t = tek_transform(tek);
    if (!t) return t.error();
    const auto life = tek_lifetimes(tek, *t, expected_senders);
    TekSas s;
    s.inbound = {tek.spi,          *t, tek.encryption_key.view(), tek.integrity_key.view(), life.inbound_soft,
                 life.inbound_hard};
    s.outbound = {
        tek.spi,           *t, tek.encryption_key.view(), tek.integrity_key.view(), life.outbound_soft,
        life.outbound_hard};
    return s;
}

}  // namespace

common::Status KernelDataplane::apply(const GroupConfig& group, const gdoi::GroupState& state,
                                      std::chrono::steady_clock::time_point now) {
    Group* g = find(group);
    if (!g)
        return common::make_error("group " + group.name +
                                  " is not known to the dataplane (not in the configuration at start)");
    if (!xfrm_ || !g->ipv4.carrier) return common::make_error("dataplane not started");
    g->config = group;
    g->expected_senders = group.gcm_expected_senders;
    if (auto s = refresh_local_scope(); !s) return s;

    // A TEK not installed, and why (logged once per SPI, shown by gdoictl show tek).
    const auto refuse = [&](uint32_t spi, const std::string& why) {
        if (!g->refused.count(spi))
            log_group(gdoi::LogLevel::Warning, group,
                      "TEK " + common::hex_spi(spi) + " not installed: " + why, spi);
        g->refused[spi] = why;
    };
    std::map<common::IpFamily, std::vector<uint32_t>> spis;  // per family (FamilyPlane)
    std::vector<policy::Selector> selectors;
    std::vector<NetPrefix> scope;
    for (const auto& tek : state.teks) {
        auto why = accept_tek(group, tek);
        // Inbound SAs of all groups are found by SPI alone (one receive pair): two groups'
        // TEKs with one SPI would share, and one group's rekey would delete, the other's SA.
        for (const auto& [name, other] : groups_)
            if (why.empty() && other.get() != g && other->plane_of(tek.spi))
                why =
                    "SPI already used by group " + name +
                    " on this member (inbound SAs are found by SPI): the key servers must choose other SPIs";
        if (!why.empty()) {
            refuse(tek.spi, why);
            continue;
        }
        auto t = tek_transform(tek);
        if (is_gcm(*t) && group.allow_gcm == AllowGcm::warn && !g->teks.count(tek.spi))
            log_group(gdoi::LogLevel::Warning, group,
                      "TEK " + common::hex_spi(tek.spi) +
                          " is AES-GCM shared by the group: outbound SA limited to " +
                          std::to_string(gcm_packet_limit(group.gcm_expected_senders)) + " packets for " +
                          std::to_string(group.gcm_expected_senders) +
                          " expected senders (allow-gcm = accept silences this)",
                      tek.spi);
        spis[tek_family(tek)].push_back(tek.spi);
        if (!g->teks.count(tek.spi)) g->teks[tek.spi] = tek;
        // accept_tek checked that both convert.
        const auto tek_selectors = to_policy_selectors(tek.selector);
        const auto tek_scope = scope_prefixes(tek.selector);
        if (!tek_selectors || !tek_scope) continue;
        for (const auto& s : tek_selectors.value())
            if (std::find(selectors.begin(), selectors.end(), s) == selectors.end()) selectors.push_back(s);
        scope.insert(scope.end(), tek_scope.value().begin(), tek_scope.value().end());
    }
    // The IPv6 carrier comes with the group's first IPv6 TEK. Where it cannot be made (IPv6
    // disabled, no ip6tnl in the kernel) the IPv6 TEKs are refused: that family's traffic stays
    // fail-closed (no IPv6 carrier in the rules), the IPv4 TEKs go on.
    auto& spis6 = spis[common::IpFamily::ipv6];
    if (!spis6.empty())
        if (auto p = prepare_carrier(g->ipv6); !p) {
            for (uint32_t spi : spis6) {
                refuse(spi, "no IPv6 carrier: " + p.error().message);
                g->teks.erase(spi);
            }
            spis6.clear();
        }
    if (std::any_of(spis.begin(), spis.end(), [](const auto& e) { return !e.second.empty(); })) {
        g->registered = true;
        g->selectors = std::move(selectors);
        g->scope = normalize(scope);
    }
    // The SAs of each family's steps and the group's routes and fwd policies: one XFRM batch,
    // then one rtnetlink batch (the IPv4 carrier was prepared before the keys came; the IPv6 one
    // is prepared with the group's first IPv6 TEK, before its SAs).
    Pending pending(xfrm_->owner());
    common::Status s;
    for (FamilyPlane* plane : g->planes()) {
        const auto& family_spis = spis[plane->family];
        if (!family_spis.empty()) s = prepare_carrier(*plane);  // ready already: a no-op
        if (!s) break;
        const auto steps =
            plane->schedule.on_state(family_spis, std::chrono::seconds(state.gap.activation_time_delay),
                                     std::chrono::seconds(state.gap.deactivation_time_delay), now);
        s = run(*g, *plane, steps, pending);
        if (!s) break;
    }
    if (s) s = sync_prefixes(&pending);
    if (s) s = commit(pending);
    // Forget stored keys no SA needs any more, and the refusals of TEKs the state no longer holds
    // (a key server that keeps sending refused TEKs would otherwise grow the map with every rekey).
    std::erase_if(g->teks, [&](const auto& kv) { return !g->plane_of(kv.first); });
    std::erase_if(g->refused, [&](const auto& kv) {
        return std::none_of(state.teks.begin(), state.teks.end(),
                            [&](const gdoi::Tek& t) { return t.spi == kv.first; });
    });
    if (!s) {
        fail_closed_after_error(*g, s.error().message);
        return s;
    }
    auto rules = sync_rules();
    if (!rules && !pending.keyed.empty()) {
        // The SAs are in, the table is not keyed: as any failed step, fail closed and start over.
        auto failed = common::make_error("group " + group.name + ": keyed: " + rules.error().message,
                                         rules.error().code);
        fail_closed_after_error(*g, failed.message);
        return failed;
    }
    for (const FamilyPlane* plane : pending.keyed)
        if (plane->sending()) log_keyed(*g, *plane, true);
    // The last kernel object of this state is in place (the benchmarks time up to this line).
    if (rules)
        log_group(gdoi::LogLevel::Debug, group,
                  "state applied in the kernel, " + std::to_string(g->teks.size()) + " TEK(s) held");
    save_state();  // the SPIs change with every rekey step, the table not always
    return rules;
}

common::Status KernelDataplane::remove_group(const GroupConfig& group) {
    Group* g = find(group);
    if (!g) return {};
    // Its traffic is dropped from here on: the group's rules go with the next table, and its
    // carrier (device, routes, policies, SAs) goes now; the other groups keep theirs.
    common::Status first = xfrm_ && g->ipv4.carrier ? teardown_group(*g) : common::Status{};
    groups_.erase(group.name);
    std::erase_if(config_.groups, [&](const GroupConfig& c) { return c.name == group.name; });
    if (auto s = sync_prefixes(); first && !s) first = s;
    if (auto s = sync_rules(); first && !s) first = s;
    if (auto s = xfrm_ ? sync_exclude_policies() : common::Status{}; first && !s) first = s;
    save_state();
    return first;
}

std::chrono::steady_clock::time_point KernelDataplane::next_deadline() const {
    auto next = next_replay_tick_;
    for (const auto& [name, g] : groups_)
        for (const FamilyPlane* plane : g->planes()) next = std::min(next, plane->schedule.next_deadline());
    return next;
}

void KernelDataplane::on_timer(std::chrono::steady_clock::time_point now) {
    if (!xfrm_) return;
    if (now >= next_replay_tick_) replay_tick(now);
    // The rest only when a rekey step is due (the anti-replay second alone changes no table).
    const bool step_due = std::any_of(groups_.begin(), groups_.end(), [&](const auto& entry) {
        const auto planes = entry.second->planes();
        return std::any_of(planes.begin(), planes.end(),
                           [&](const FamilyPlane* p) { return p->schedule.next_deadline() <= now; });
    });
    if (!step_due) return;
    std::vector<std::pair<Group*, const FamilyPlane*>> keyed;
    for (auto& entry : groups_) {
        Group* g = entry.second.get();  // a named pointer: clang 14 cannot capture structured bindings
        Pending pending(xfrm_->owner());
        common::Status s;
        bool any = false;
        for (FamilyPlane* plane : g->planes()) {
            const auto steps = plane->schedule.on_timer(now);
            any = any || !steps.empty();
            if (s && !steps.empty()) s = run(*g, *plane, steps, pending);
        }
        if (!any) continue;
        if (s) s = commit(pending);
        std::erase_if(g->teks, [g](const auto& kv) { return !g->plane_of(kv.first); });
        if (!s) {
            // The message names the group already (run()'s label).
            log(gdoi::LogLevel::Error,
                s.error().message + gdoi::log_fields({g->config.name, g->config.id, std::nullopt}));
            fail_closed_after_error(*g, s.error().message);
        } else {
            for (const FamilyPlane* plane : pending.keyed) keyed.emplace_back(g, plane);
        }
    }
    if (auto s = sync_prefixes(); !s) log(gdoi::LogLevel::Error, s.error().message);
    auto rules = sync_rules();
    if (!rules) log(gdoi::LogLevel::Error, rules.error().message);
    for (auto [g, plane] : keyed) {
        if (!rules)
            fail_closed_after_error(*g, "keyed: " + rules.error().message);
        else if (plane->sending())
            log_keyed(*g, *plane, true);
    }
    save_state();
}

// One group's kernel objects, both families: SAs, policies, carrier, routes. The member-wide
// ones of a family (the fwmark rule, G_IN on lo, the carrier guard) go with its last carrier:
// without carriers the rule would only send traffic to an empty table, and nothing decapsulates
// the carrier protocol to G_IN.
common::Status KernelDataplane::teardown_group(Group& g) {
    common::Status first;
    const auto note = [&](common::Status s) {
        if (first && !already_gone(s)) first = std::move(s);
    };
    for (FamilyPlane* plane : g.planes()) {
        // An IPv6 carrier never prepared has nothing in the kernel (and IPv6 may be disabled).
        const bool had = plane->family == common::IpFamily::ipv4 || plane->carrier_ready;
        if (had) note(plane->carrier->teardown_group());
        plane->schedule.clear();
        plane->installed_prefixes.clear();
        plane->carrier_up = false;
        plane->carrier_ready = false;
        if (!had) continue;
        if (std::any_of(groups_.begin(), groups_.end(),
                        [&](const auto& e) { return e.second->plane(plane->family).carrier_ready; }))
            continue;
        const auto& dc = plane->carrier->config();
        note(rtnl_->delete_rule(carrier_rule(plane->family)));
        note(rtnl_->delete_address("lo", xfrm::Prefix::host(dc.carrier.local)));
        const auto guard = plane->carrier->ipip_guard_policy();
        note(xfrm_->delete_policy({guard.selector, guard.dir, guard.mark}));
    }
    g.teks.clear();
    return first;
}

// A kernel step failed: the schedule and the kernel may disagree. Fail closed and start
// over: the group's rules drop its traffic (no TEK), its SAs, policies and carrier go, and
// the next apply() (the daemon's next registration) installs everything again as a first
// registration. Other groups keep running.
void KernelDataplane::fail_closed_after_error(Group& g, const std::string& why) {
    for (FamilyPlane* plane : g.planes()) {
        plane->schedule.clear();
        plane->carrier_up = false;
    }
    if (auto s = sync_rules(); !s)
        log_group(gdoi::LogLevel::Error, g.config, "fail-closed after an error: " + s.error().message);
    if (auto s = teardown_group(g); !s)
        log_group(gdoi::LogLevel::Error, g.config, "removing the SAs after an error: " + s.error().message);
    log_group(gdoi::LogLevel::Warning, g.config, "fail-closed until the next registration (" + why + ")");
}

// Before keys (xfrm/dataplane.h: install_carrier without a transform): the device without a
// route into it, G_IN, the G_OUT route, the out policy (no SA: the kernel drops what would use
// it), the carrier guard, the fwmark rule (its table stays empty until the group sends).
common::Status KernelDataplane::prepare_carrier(FamilyPlane& plane) {
    if (plane.carrier_ready) return {};
    if (!plane.carrier) return common::make_error("dataplane not started");
    if (auto s = plane.carrier->install_carrier(std::nullopt); !s) return s;
    auto rule = rtnl_->add_rule(carrier_rule(plane.family));
    if (!rule && rule.error().code != EEXIST) return rule;
    plane.carrier_ready = true;
    return {};
}

// The IPv4 carrier: a registration's IPv6 TEKs are not known before they come.
common::Status KernelDataplane::prepare_group(const GroupConfig& group) {
    Group* g = find(group);
    if (!g || !xfrm_ || g->ipv4.carrier_ready) return {};
    auto s = prepare_carrier(g->ipv4);
    if (!s)
        log_group(
            gdoi::LogLevel::Warning, group,
            "carrier not prepared before the keys (" + s.error().message + "): the registration tries again");
    return s;
}

// The first TEK of a family to send with: its carrier carries the group's routes of that family
// from now on (staged by sync_prefixes after the SAs). Its MTU comes with the activation.
common::Status KernelDataplane::ensure_carrier(FamilyPlane& plane) {
    if (plane.carrier_up) return {};
    if (auto s = prepare_carrier(plane); !s) return s;
    plane.carrier_up = true;
    return {};
}

void KernelDataplane::log_keyed(const Group& g, const FamilyPlane& plane, bool keyed) const {
    const std::string family = plane.family == common::IpFamily::ipv6 ? " (IPv6 TEKs)" : "";
    if (keyed)
        log_group(gdoi::LogLevel::Info, g.config,
                  "keyed" + family + ": group traffic encrypted, fail-open off", plane.schedule.active());
    else if (g.sending())  // the other family still sends: the group stays keyed
        log_group(gdoi::LogLevel::Info, g.config,
                  "no TEK to send with" + family + ": that family's group traffic is dropped");
    else
        log_group(gdoi::LogLevel::Info, g.config,
                  "no TEK to send with" + family + ": fail-closed (fail-open on)");
}

common::Status KernelDataplane::commit(Pending& pending) {
    const std::size_t requests = pending.batch.xfrm.count() + pending.batch.rtnl.count();
    if (!pending.batch.empty()) {
        // Any group's GroupDataplane applies it: they share the member's two sockets.
        auto via = std::find_if(groups_.begin(), groups_.end(),
                                [](const auto& e) { return e.second->ipv4.carrier != nullptr; });
        if (via == groups_.end()) return common::make_error("dataplane not started");
        if (auto s = via->second->ipv4.carrier->apply(pending.batch); !s) {
            pending.applied.clear();
            return s;  // the staged routes are forgotten with `pending` (~Pending)
        }
    }
    pending.prefixes.clear();
    if (requests)
        log(gdoi::LogLevel::Debug,
            std::to_string(requests) + " kernel request(s) applied (" + pending.steps + ")" +
                (pending.for_group
                     ? gdoi::log_fields({pending.for_group->name, pending.for_group->id, std::nullopt})
                     : std::string()));
    for (const auto& line : pending.applied) log(gdoi::LogLevel::Info, line);
    pending.applied.clear();
    pending.steps.clear();
    return {};
}

common::Status KernelDataplane::run(Group& g, FamilyPlane& plane, const std::vector<RekeyStep>& steps,
                                    Pending& pending) {
    const std::string label = "group " + g.config.name + ": ";
    pending.for_group = &g.config;
    for (const auto& step : steps) {
        log_group(gdoi::LogLevel::Debug, g.config, step.to_string(),
                  step.kind == RekeyStep::Kind::keyed ? std::nullopt : std::optional<uint32_t>(step.spi));
        pending.steps += (pending.steps.empty() ? label : ", ") + step.to_string();
        common::Status s;
        switch (step.kind) {
            case RekeyStep::Kind::install_inbound: {
                auto sas = tek_sas(g.teks.at(step.spi), g.expected_senders);
                if (!sas) return sas.error();
                s = plane.carrier->stage_inbound_sa(pending.batch, sas->inbound);
                break;
            }
            case RekeyStep::Kind::activate: {
                if (auto c = ensure_carrier(plane); !c)
                    return common::make_error(label + c.error().message, c.error().code);
                auto sas = tek_sas(g.teks.at(step.spi), g.expected_senders);
                if (!sas) return sas.error();
                // Anti-replay: the new SA's first packet already carries the pseudotime.
                if (g.config.anti_replay_window != 0)
                    sas->outbound.outbound_seq = anti_replay::pseudotime(anti_replay::unix_seconds_now());
                s = plane.carrier->stage_activate(pending.batch, sas->outbound, step.previous);
                if (s)
                    pending.applied.push_back(gdoi::group_line(
                        g.config.name, g.config.id,
                        "sending with TEK " + common::hex_spi(step.spi) +
                            (step.previous ? " (replaces " + common::hex_spi(*step.previous) + ")" : ""),
                        step.spi));
                break;
            }
            case RekeyStep::Kind::remove_outbound:
                plane.carrier->stage_remove_outbound_sa(pending.batch, step.spi);
                break;
            case RekeyStep::Kind::remove_inbound:
                plane.carrier->stage_remove_inbound_sa(pending.batch,
                                                       step.spi);  // the request holds the SPI only
                g.teks.erase(step.spi);
                break;
            case RekeyStep::Kind::keyed:
                if (step.value) {
                    pending.keyed.push_back(&plane);  // the table once the SAs and routes are in (the caller)
                    break;
                }
                // Fail-closed before what follows (the outbound SA's removal): what is staged goes
                // first, in order, then the table.
                s = commit(pending);
                if (s) s = sync_rules();
                if (s) log_keyed(g, plane, false);
                break;
        }
        if (!s)
            return common::make_error(label + step.to_string() + ": " + s.error().message, s.error().code);
    }
    return {};
}

// Per keyed group and family: its remote prefixes of that family routed into its carrier of that
// family, with fwd policies towards its local prefixes of the family. Groups in configuration
// order; a remote prefix already claimed by an earlier keyed group is not routed again (one route
// per destination).
common::Status KernelDataplane::sync_prefixes(Pending* into) {
    std::vector<NetPrefix> never{NetPrefix::host(options_.g_in), NetPrefix::host(options_.g_in6)};
    for (const auto& [name, g] : groups_) {
        for (const FamilyPlane* plane : g->planes())
            if (plane->carrier) never.push_back(NetPrefix::host(plane->carrier->config().carrier.remote));
        for (const auto& server : g->config.servers)
            if (server.family() == AF_INET || server.family() == AF_INET6)
                never.push_back(NetPrefix::host(server.address()));
    }
    struct Wanted {
        Group* group;
        FamilyPlane* plane;
        std::vector<NetPrefix> remote;
        std::vector<NetPrefix> locals;
    };
    std::vector<Wanted> wanted;
    std::vector<NetPrefix> claimed;
    for (const auto& gc : config_.groups) {
        Group* g = find(gc);
        if (!g) continue;
        for (FamilyPlane* plane : g->planes()) {
            if (!plane->carrier) continue;
            Wanted w{g, plane, {}, {}};
            if (plane->carrier_up) {
                const auto scope = of_family(g->scope, plane->family);
                std::vector<NetPrefix> excluded = never;
                excluded.insert(excluded.end(), claimed.begin(), claimed.end());
                w.remote = member::remote_prefixes(scope, local_scope_, excluded);
                w.locals = local_group_prefixes(scope, local_scope_);
                claimed.insert(claimed.end(), w.remote.begin(), w.remote.end());
            }
            wanted.push_back(std::move(w));
        }
    }
    common::Status first;
    // Every group's stale prefixes (or with other local prefixes) first: a prefix that moves
    // to another group's carrier must lose its old fwd policies before it gets the new ones.
    for (auto& w : wanted) {
        auto& installed = w.plane->installed_prefixes;
        for (auto it = installed.begin(); it != installed.end();) {
            if (std::find(w.remote.begin(), w.remote.end(), it->first) != w.remote.end() &&
                it->second == w.locals) {
                ++it;
                continue;
            }
            std::vector<xfrm::Prefix> old;
            for (const auto& l : it->second) old.push_back(l.to_xfrm());
            if (auto s = w.plane->carrier->remove_remote_prefix(it->first.to_xfrm(), old);
                first && !already_gone(s))
                first = s;
            it = installed.erase(it);
        }
    }
    // The installs: fwd policies in one XFRM batch, then the routes in one rtnetlink batch
    // (policies first: traffic entering the carrier is already required to come back as ESP).
    Pending own(xfrm_ ? xfrm_->owner() : 0);
    Pending& pending = into ? *into : own;
    for (auto& w : wanted) {
        std::vector<xfrm::Prefix> local_x;
        for (const auto& l : w.locals) local_x.push_back(l.to_xfrm());
        for (const auto& r : w.remote) {
            if (w.plane->installed_prefixes.count(r)) continue;
            if (auto s = w.plane->carrier->stage_remote_prefix(pending.batch, r.to_xfrm(), local_x); !s)
                return s;
            w.plane->installed_prefixes[r] = w.locals;
            pending.prefixes.emplace_back(w.group, r);
            if (pending.prefixes.size() == 1)
                pending.steps += std::string(pending.steps.empty() ? "" : ", ") + "remote prefixes";
        }
    }
    if (!into)
        if (auto s = commit(own); !s) return s;
    return first;
}

common::Status KernelDataplane::sync_exclude_policies() {
    if (!xfrm_) return common::make_error("dataplane not started");
    const auto wanted = exclude_policies(config_.groups);
    auto dumped = xfrm_->dump_policies();
    if (!dumped) return dumped.error();
    xfrm::XfrmBatch b = xfrm_->batch();
    std::vector<xfrm::Selector> present;
    for (const auto& p : *dumped) {
        if (!is_exclude_policy(p.spec)) continue;
        const bool keep = std::any_of(wanted.begin(), wanted.end(), [&](const xfrm::PolicySpec& w) {
            return w.selector == p.spec.selector;
        });
        if (keep)
            present.push_back(p.spec.selector);
        else
            b.delete_policy(p.id());
    }
    for (const auto& w : wanted)
        if (std::find(present.begin(), present.end(), w.selector) == present.end())
            if (auto s = b.update_policy(w); !s) return s;
    if (b.empty()) return {};
    if (auto s = xfrm_->apply(b); !s)
        return common::make_error("exclude rules as XFRM allow policies: " + s.error().message,
                                  s.error().code);
    log(gdoi::LogLevel::Debug, std::to_string(wanted.size()) + " exclude polic" +
                                   (wanted.size() == 1 ? "y" : "ies") + " in XFRM (dir fwd, allow)");
    return {};
}

common::Status KernelDataplane::sync_rules() {
    std::vector<policy::RuleSet> sets;
    std::vector<NetPrefix> esp_scope;
    bool ipv6_carrier = false;
    for (const auto& gc : config_.groups) {
        Group* g = find(gc);
        if (!g) continue;
        sets.push_back(group_rule_set(g->config, g->selectors, g->sending(), local_scope_));
        sets.back().carrier_ifname = carrier_name(g->slot, common::IpFamily::ipv4);
        sets.back().carrier_peer =
            policy::Ipv4::from(carrier_config(g->slot, common::IpFamily::ipv4).carrier.remote);
        sets.back().clear_df = g->config.df_bit == DfBit::clear;
        sets.back().replay = replay_check(*g);
        // The IPv6 carrier once prepared (the group's first IPv6 TEK): its traffic goes into it
        // while the group is keyed; before, the group's IPv6 traffic is dropped (fail-closed).
        if (g->ipv6.carrier_ready) {
            sets.back().carrier6_ifname = carrier_name(g->slot, common::IpFamily::ipv6);
            sets.back().carrier6_peer = carrier_config(g->slot, common::IpFamily::ipv6).carrier.remote;
            ipv6_carrier = true;
        }
        if (g->registered) {
            auto l = local_group_prefixes(g->scope, local_scope_);
            esp_scope.insert(esp_scope.end(), l.begin(), l.end());
        }
    }
    CarrierChoice carrier{options_.carrier_prefix + "0", policy::Ipv4::from(options_.g_in),
                          policy::Ipv4::from(options_.g_out), std::nullopt, std::nullopt};
    if (ipv6_carrier) {
        carrier.g_in6 = options_.g_in6;
        carrier.g_out6 = options_.g_out6;
    }
    auto rules = member_rules(config_, carrier, options_.clear_mark, options_.nft_table, normalize(esp_scope),
                              std::move(sets));
    // Most steps of a rekey (a new inbound SA, an outbound switch) leave the rule model as it was:
    // then the table in the kernel is already this one, and neither compile nor apply is needed.
    if (applied_rules_ && *applied_rules_ == rules) return {};
    auto table = policy::compile(rules);
    if (!table) return table.error();
    auto report = policy::apply(*table);
    if (!report) return report.error();
    applied_rules_ = std::move(rules);
    if (report->rules_written > 0) ++rules_generation_;
    save_state();
    log(gdoi::LogLevel::Debug,
        "nft table " + options_.nft_table + " applied: " + std::to_string(report->rules) + " rules (" +
            policy::to_string(report->how) + ", " + std::to_string(report->rules_written) + " written)");
    return {};
}

}  // namespace member
