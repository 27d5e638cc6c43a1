// KernelDataplane: new group states, the rekey steps in the kernel, routes/fwd policies and
// the nft table kept in line with the TEKs. Order: dataplane_rekey.h; decisions: kernel_dataplane.h.
#include <arpa/inet.h>
#include <malloc.h>
#include <netinet/in.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

#include "common/hex_spi.h"
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
    if (!xfrm_ || !g->carrier) return common::make_error("dataplane not started");
    g->config = group;
    g->expected_senders = group.gcm_expected_senders;
    if (auto s = refresh_local_scope(); !s) return s;

    std::vector<uint32_t> spis;
    std::vector<policy::Selector> selectors;
    std::vector<NetPrefix> scope;
    for (const auto& tek : state.teks) {
        auto why = accept_tek(group, tek);
        // Inbound SAs of all groups are found by SPI alone (one receive pair): two groups'
        // TEKs with one SPI would share, and one group's rekey would delete, the other's SA.
        for (const auto& [name, other] : groups_)
            if (why.empty() && other.get() != g && other->schedule.role(tek.spi))
                why =
                    "SPI already used by group " + name +
                    " on this member (inbound SAs are found by SPI): the key servers must choose other SPIs";
        if (!why.empty()) {
            if (!g->refused.count(tek.spi))
                log(gdoi::LogLevel::Warning,
                    "group " + group.name + ": TEK " + common::hex_spi(tek.spi) + " not installed: " + why);
            g->refused[tek.spi] = why;
            continue;
        }
        auto t = tek_transform(tek);
        if (is_gcm(*t) && group.allow_gcm == AllowGcm::warn && !g->teks.count(tek.spi))
            log(gdoi::LogLevel::Warning, "group " + group.name + ": TEK " + common::hex_spi(tek.spi) +
                                             " is AES-GCM shared by the group: outbound SA limited to " +
                                             std::to_string(gcm_packet_limit(group.gcm_expected_senders)) +
                                             " packets for " + std::to_string(group.gcm_expected_senders) +
                                             " expected senders (allow-gcm = accept silences this)");
        spis.push_back(tek.spi);
        if (!g->teks.count(tek.spi)) g->teks[tek.spi] = tek;
        // accept_tek checked that both convert.
        const auto tek_selectors = to_policy_selectors(tek.selector);
        const auto tek_scope = scope_prefixes(tek.selector);
        if (!tek_selectors || !tek_scope) continue;
        for (const auto& s : tek_selectors.value())
            if (std::find(selectors.begin(), selectors.end(), s) == selectors.end()) selectors.push_back(s);
        scope.insert(scope.end(), tek_scope.value().begin(), tek_scope.value().end());
    }
    if (!spis.empty()) {
        g->registered = true;
        g->selectors = std::move(selectors);
        g->scope = normalize(scope);
    }
    const auto steps = g->schedule.on_state(spis, std::chrono::seconds(state.gap.activation_time_delay),
                                            std::chrono::seconds(state.gap.deactivation_time_delay), now);
    // The SAs of the steps and the group's routes and fwd policies: one XFRM batch, then one
    // rtnetlink batch (the carrier was prepared before the keys came: prepare_carrier).
    Pending pending(xfrm_->owner());
    auto s = run(*g, steps, pending);
    if (s) s = sync_prefixes(&pending);
    if (s) s = commit(pending);
    // Forget stored keys no SA needs any more, and the refusals of TEKs the state no longer holds
    // (a key server that keeps sending refused TEKs would otherwise grow the map with every rekey).
    std::erase_if(g->teks, [&](const auto& kv) { return !g->schedule.role(kv.first); });
    std::erase_if(g->refused, [&](const auto& kv) {
        return std::none_of(state.teks.begin(), state.teks.end(),
                            [&](const gdoi::Tek& t) { return t.spi == kv.first; });
    });
    if (!s) {
        fail_closed_after_error(*g, s.error().message);
        return s;
    }
    auto rules = sync_rules();
    if (!rules && pending.keyed) {
        // The SAs are in, the table is not keyed: as any failed step, fail closed and start over.
        auto failed = common::make_error("group " + group.name + ": keyed: " + rules.error().message,
                                         rules.error().code);
        fail_closed_after_error(*g, failed.message);
        return failed;
    }
    if (pending.keyed) log_keyed(*g, true);
    // The last kernel object of this state is in place (the benchmarks time up to this line).
    if (rules)
        log(gdoi::LogLevel::Debug, "group " + group.name + ": state applied in the kernel, " +
                                       std::to_string(g->teks.size()) + " TEK(s) held");
    save_state();  // the SPIs change with every rekey step, the table not always
    return rules;
}

common::Status KernelDataplane::remove_group(const GroupConfig& group) {
    Group* g = find(group);
    if (!g) return {};
    // Its traffic is dropped from here on: the group's rules go with the next table, and its
    // carrier (device, routes, policies, SAs) goes now; the other groups keep theirs.
    common::Status first = xfrm_ ? teardown_group(*g) : common::Status{};
    groups_.erase(group.name);
    std::erase_if(config_.groups, [&](const GroupConfig& c) { return c.name == group.name; });
    if (auto s = sync_prefixes(); first && !s) first = s;
    if (auto s = sync_rules(); first && !s) first = s;
    save_state();
    return first;
}

std::chrono::steady_clock::time_point KernelDataplane::next_deadline() const {
    auto next = std::chrono::steady_clock::time_point::max();
    for (const auto& [name, g] : groups_) next = std::min(next, g->schedule.next_deadline());
    return next;
}

void KernelDataplane::on_timer(std::chrono::steady_clock::time_point now) {
    if (!xfrm_) return;
    std::vector<Group*> keyed;
    for (auto& entry : groups_) {
        Group* g = entry.second.get();  // a named pointer: clang 14 cannot capture structured bindings
        const auto steps = g->schedule.on_timer(now);
        if (steps.empty()) continue;
        Pending pending(xfrm_->owner());
        auto s = run(*g, steps, pending);
        if (s) s = commit(pending);
        std::erase_if(g->teks, [g](const auto& kv) { return !g->schedule.role(kv.first); });
        if (!s) {
            log(gdoi::LogLevel::Error, s.error().message);
            fail_closed_after_error(*g, s.error().message);
        } else if (pending.keyed) {
            keyed.push_back(g);
        }
    }
    if (auto s = sync_prefixes(); !s) log(gdoi::LogLevel::Error, s.error().message);
    auto rules = sync_rules();
    if (!rules) log(gdoi::LogLevel::Error, rules.error().message);
    for (Group* g : keyed) {
        if (rules)
            log_keyed(*g, true);
        else
            fail_closed_after_error(*g, "keyed: " + rules.error().message);
    }
    save_state();
}

// One group's kernel objects: SAs, policies, carrier, routes. The member-wide ones (the fwmark
// rule, G_IN on lo, the IPIP guard) go with the last carrier: without carriers the rule would
// only send traffic to an empty table, and nothing decapsulates IPIP to G_IN.
common::Status KernelDataplane::teardown_group(Group& g) {
    common::Status first = g.carrier->teardown_group();
    g.schedule.clear();
    g.teks.clear();
    g.installed_prefixes.clear();
    g.carrier_up = false;
    g.carrier_ready = false;
    if (std::any_of(groups_.begin(), groups_.end(), [](const auto& e) { return e.second->carrier_ready; }))
        return first;
    const auto note = [&](common::Status s) {
        if (first && !already_gone(s)) first = std::move(s);
    };
    note(rtnl_->delete_rule({xfrm::Family::ipv4, 0, options_.clear_mark, options_.carrier_table,
                             options_.carrier_rule_priority}));
    note(rtnl_->delete_address("lo", xfrm::Prefix::host(options_.g_in)));
    const auto guard = g.carrier->ipip_guard_policy();
    note(xfrm_->delete_policy({guard.selector, guard.dir, guard.mark}));
    return first;
}

// A kernel step failed: the schedule and the kernel may disagree. Fail closed and start
// over: the group's rules drop its traffic (no TEK), its SAs, policies and carrier go, and
// the next apply() (the daemon's next registration) installs everything again as a first
// registration. Other groups keep running.
void KernelDataplane::fail_closed_after_error(Group& g, const std::string& why) {
    g.schedule.clear();
    g.carrier_up = false;
    if (auto s = sync_rules(); !s)
        log(gdoi::LogLevel::Error, "fail-closed after an error: " + s.error().message);
    if (auto s = teardown_group(g); !s)
        log(gdoi::LogLevel::Error, "removing the SAs after an error: " + s.error().message);
    log(gdoi::LogLevel::Warning,
        "group " + g.config.name + ": fail-closed until the next registration (" + why + ")");
}

// Before keys (xfrm/dataplane.h: install_carrier without a transform): the device without a
// route into it, G_IN, the G_OUT route, the out policy (no SA: the kernel drops what would use
// it), the IPIP guard, the fwmark rule (its table stays empty until the group sends).
common::Status KernelDataplane::prepare_carrier(Group& g) {
    if (g.carrier_ready) return {};
    if (!g.carrier) return common::make_error("dataplane not started");
    if (auto s = g.carrier->install_carrier(std::nullopt); !s) return s;
    auto rule = rtnl_->add_rule(
        {xfrm::Family::ipv4, 0, options_.clear_mark, options_.carrier_table, options_.carrier_rule_priority});
    if (!rule && rule.error().code != EEXIST) return rule;
    g.carrier_ready = true;
    return {};
}

common::Status KernelDataplane::prepare_group(const GroupConfig& group) {
    Group* g = find(group);
    if (!g || !xfrm_ || g->carrier_ready) return {};
    auto s = prepare_carrier(*g);
    if (!s)
        log(gdoi::LogLevel::Warning, "group " + group.name + ": carrier not prepared before the keys (" +
                                         s.error().message + "): the registration tries again");
    return s;
}

// The first TEK to send with: the carrier carries the group's routes from now on (staged by
// sync_prefixes after the SAs). Its MTU comes with the activation (stage_activate).
common::Status KernelDataplane::ensure_carrier(Group& g) {
    if (g.carrier_up) return {};
    if (auto s = prepare_carrier(g); !s) return s;
    g.carrier_up = true;
    return {};
}

void KernelDataplane::log_keyed(const Group& g, bool keyed) const {
    log(gdoi::LogLevel::Info, "group " + g.config.name + ": " +
                                  (keyed ? "keyed: group traffic encrypted, fail-open off"
                                         : "no TEK to send with: fail-closed (fail-open on)"));
}

common::Status KernelDataplane::commit(Pending& pending) {
    const std::size_t requests = pending.batch.xfrm.count() + pending.batch.rtnl.count();
    if (!pending.batch.empty()) {
        // Any group's GroupDataplane applies it: they share the member's two sockets.
        auto via = std::find_if(groups_.begin(), groups_.end(),
                                [](const auto& e) { return e.second->carrier != nullptr; });
        if (via == groups_.end()) return common::make_error("dataplane not started");
        if (auto s = via->second->carrier->apply(pending.batch); !s) {
            pending.applied.clear();
            return s;  // the staged routes are forgotten with `pending` (~Pending)
        }
    }
    pending.prefixes.clear();
    if (requests)
        log(gdoi::LogLevel::Debug,
            std::to_string(requests) + " kernel request(s) applied (" + pending.steps + ")");
    for (const auto& line : pending.applied) log(gdoi::LogLevel::Info, line);
    pending.applied.clear();
    pending.steps.clear();
    return {};
}

common::Status KernelDataplane::run(Group& g, const std::vector<RekeyStep>& steps, Pending& pending) {
    const std::string label = "group " + g.config.name + ": ";
    for (const auto& step : steps) {
        log(gdoi::LogLevel::Debug, label + step.to_string());
        pending.steps += (pending.steps.empty() ? label : ", ") + step.to_string();
        common::Status s;
        switch (step.kind) {
            case RekeyStep::Kind::install_inbound: {
                auto sas = tek_sas(g.teks.at(step.spi), g.expected_senders);
                if (!sas) return sas.error();
                s = g.carrier->stage_inbound_sa(pending.batch, sas->inbound);
                break;
            }
            case RekeyStep::Kind::activate: {
                if (auto c = ensure_carrier(g); !c)
                    return common::make_error(label + c.error().message, c.error().code);
                auto sas = tek_sas(g.teks.at(step.spi), g.expected_senders);
                if (!sas) return sas.error();
                s = g.carrier->stage_activate(pending.batch, sas->outbound, step.previous);
                if (s)
                    pending.applied.push_back(
                        label + "sending with TEK " + common::hex_spi(step.spi) +
                        (step.previous ? " (replaces " + common::hex_spi(*step.previous) + ")" : ""));
                break;
            }
            case RekeyStep::Kind::remove_outbound:
                g.carrier->stage_remove_outbound_sa(pending.batch, step.spi);
                break;
            case RekeyStep::Kind::remove_inbound:
                g.carrier->stage_remove_inbound_sa(pending.batch,
                                                   step.spi);  // the request holds the SPI only
                g.teks.erase(step.spi);
                break;
            case RekeyStep::Kind::keyed:
                if (step.value) {
                    pending.keyed = true;  // the table once the SAs and routes are in (the caller)
                    break;
                }
                // Fail-closed before what follows (the outbound SA's removal): what is staged goes
                // first, in order, then the table.
                s = commit(pending);
                if (s) s = sync_rules();
                if (s) log_keyed(g, false);
                break;
        }
        if (!s)
            return common::make_error(label + step.to_string() + ": " + s.error().message, s.error().code);
    }
    return {};
}

// Per keyed group: its remote prefixes routed into its carrier, with fwd policies towards its
// local prefixes. Groups in configuration order; a remote prefix already claimed by an earlier
// keyed group is not routed again (one route per destination).
common::Status KernelDataplane::sync_prefixes(Pending* into) {
    std::vector<NetPrefix> never{NetPrefix::host(options_.g_in)};
    for (const auto& [name, g] : groups_) {
        if (g->carrier) never.push_back(NetPrefix::host(g->carrier->config().carrier.remote));
        for (const auto& server : g->config.servers)
            if (server.family() == AF_INET) never.push_back(NetPrefix::host(server.address()));
    }
    struct Wanted {
        Group* group;
        std::vector<NetPrefix> remote;
        std::vector<NetPrefix> locals;
    };
    std::vector<Wanted> wanted;
    std::vector<NetPrefix> claimed;
    for (const auto& gc : config_.groups) {
        Group* g = find(gc);
        if (!g || !g->carrier) continue;
        Wanted w{g, {}, {}};
        if (g->carrier_up) {
            std::vector<NetPrefix> excluded = never;
            excluded.insert(excluded.end(), claimed.begin(), claimed.end());
            w.remote = member::remote_prefixes(g->scope, local_scope_, excluded);
            w.locals = local_group_prefixes(g->scope, local_scope_);
            claimed.insert(claimed.end(), w.remote.begin(), w.remote.end());
        }
        wanted.push_back(std::move(w));
    }
    common::Status first;
    // Every group's stale prefixes (or with other local prefixes) first: a prefix that moves
    // to another group's carrier must lose its old fwd policies before it gets the new ones.
    for (auto& w : wanted) {
        auto& installed = w.group->installed_prefixes;
        for (auto it = installed.begin(); it != installed.end();) {
            if (std::find(w.remote.begin(), w.remote.end(), it->first) != w.remote.end() &&
                it->second == w.locals) {
                ++it;
                continue;
            }
            std::vector<xfrm::Prefix> old;
            for (const auto& l : it->second) old.push_back(l.to_xfrm());
            if (auto s = w.group->carrier->remove_remote_prefix(it->first.to_xfrm(), old);
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
            if (w.group->installed_prefixes.count(r)) continue;
            if (auto s = w.group->carrier->stage_remote_prefix(pending.batch, r.to_xfrm(), local_x); !s)
                return s;
            w.group->installed_prefixes[r] = w.locals;
            pending.prefixes.emplace_back(w.group, r);
            if (pending.prefixes.size() == 1)
                pending.steps += std::string(pending.steps.empty() ? "" : ", ") + "remote prefixes";
        }
    }
    if (!into)
        if (auto s = commit(own); !s) return s;
    return first;
}

common::Status KernelDataplane::sync_rules() {
    std::vector<policy::RuleSet> sets;
    std::vector<NetPrefix> esp_scope;
    for (const auto& gc : config_.groups) {
        const Group* g = find(gc);
        if (!g) continue;
        const bool keyed = g->schedule.active().has_value() && g->carrier_up;
        sets.push_back(group_rule_set(g->config, g->selectors, keyed, local_scope_));
        sets.back().carrier_ifname = options_.carrier_prefix + std::to_string(g->slot);
        sets.back().carrier_peer = policy::Ipv4::from(carrier_config(g->slot).carrier.remote);
        sets.back().clear_df = g->config.df_bit == DfBit::clear;
        if (g->registered) {
            auto l = local_group_prefixes(g->scope, local_scope_);
            esp_scope.insert(esp_scope.end(), l.begin(), l.end());
        }
    }
    const CarrierChoice carrier{options_.carrier_prefix + "0", policy::Ipv4::from(options_.g_in),
                                policy::Ipv4::from(options_.g_out)};
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
    // The compile and the netlink batch of a large table take megabytes that are free again now;
    // glibc keeps freed memory below a threshold that grows with the largest block freed, so a
    // long-running daemon gives it back here, where the big allocations end.
    malloc_trim(0);
    log(gdoi::LogLevel::Debug,
        "nft table " + options_.nft_table + " applied: " + std::to_string(report->rules) + " rules (" +
            policy::to_string(report->how) + ", " + std::to_string(report->rules_written) + " written)");
    return {};
}

}  // namespace member
