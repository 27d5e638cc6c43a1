// KernelDataplane's time-based anti-replay (anti_replay.h): the receivers' nft window, the
// senders' sequence counters, the replays dropped.
#include <algorithm>
#include <numeric>

#include "common/hex_spi.h"
#include "dataplane/anti_replay.h"
#include "dataplane/kernel_dataplane.h"
#include "dataplane/kernel_dataplane_group.h"
#include "policy/compile.h"
#include "policy/nft_counters.h"
#include "policy/nft_table.h"

namespace member {
namespace {

using Clock = std::chrono::steady_clock;

// Just after the wall clock's next whole second (the window and the pseudotime move then).
Clock::time_point after_next_second(Clock::time_point now) {
    const auto wall = std::chrono::system_clock::now().time_since_epoch();
    const auto into = wall - std::chrono::duration_cast<std::chrono::seconds>(wall);
    return now + (std::chrono::seconds(1) - into) + std::chrono::milliseconds(20);
}

}  // namespace

std::optional<policy::ReplayCheck> KernelDataplane::replay_check(Group& g) {
    auto spis = g.inbound_spis();
    if (g.config.anti_replay_window == 0 || spis.empty()) {
        g.replay_accepted.clear();
        return std::nullopt;
    }
    // The window now, and the second that moves it armed: a group keyed again after a flush or a
    // failure must not keep the window of its previous keys (the tick stopped with them).
    g.replay_accepted = anti_replay::accepted(anti_replay::unix_seconds_now(), g.config.anti_replay_window);
    next_replay_tick_ = std::min(next_replay_tick_, after_next_second(Clock::now()));
    policy::ReplayCheck check;
    check.spis = std::move(spis);
    check.accepted = g.replay_accepted;
    return check;
}

void KernelDataplane::replay_tick(Clock::time_point now) {
    next_replay_tick_ = Clock::time_point::max();
    if (!xfrm_) return;
    const auto t = anti_replay::unix_seconds_now();
    for (auto& entry : groups_) {
        Group& g = *entry.second;
        const uint32_t window = g.config.anti_replay_window;
        if (window == 0 || g.inbound_spis().empty()) continue;
        next_replay_tick_ = after_next_second(now);

        // Receiver: the window moves with the clock: the group's check rules are replaced in place
        // (one transaction; the counting rules stay).
        auto accepted = anti_replay::accepted(t, window);
        if (accepted != g.replay_accepted && applied_rules_) {
            bool in_model = false;
            for (auto& rs : applied_rules_->groups)
                if (rs.group_id == g.config.id && rs.replay) {
                    rs.replay->accepted = accepted;
                    in_model = true;
                }
            // Without the group's check in the table yet, the next sync_rules() brings it.
            if (in_model) {
                if (auto s = policy::set_replay_window(*applied_rules_, g.config.id); !s) {
                    // The old window stays: the group's ESP is dropped once it is out of date
                    // (never accepted beyond it); the next second tries again. Logged when the
                    // error is new and once a minute while it lasts, not every second.
                    if (s.error().message != g.replay_error || t >= g.replay_error_logged + 60) {
                        log_group(gdoi::LogLevel::Error, g.config,
                                  "anti-replay: the window did not move: " + s.error().message);
                        g.replay_error_logged = t;
                    }
                    g.replay_error = s.error().message;
                } else {
                    g.replay_accepted = std::move(accepted);
                    g.replay_error.clear();
                }
            }
        }

        // Sender: the outbound SA's counter follows the pseudotime (see anti_replay.h for why the
        // read-then-set is safe with AES-CBC, and why GCM TEKs are refused).
        for (FamilyPlane* plane : g.planes()) {
            const auto active = plane->schedule.active();
            if (!active || !plane->carrier) continue;
            const auto id = plane->carrier->outbound_sa_id(*active);
            const auto sa = xfrm_->get_sa(id);
            if (!sa) {
                log_group(gdoi::LogLevel::Debug, g.config,
                          "anti-replay: reading the counter of SA " + common::hex_spi(*active) + ": " +
                              sa.error().message,
                          *active);
                continue;
            }
            if (const auto c = anti_replay::correction(sa->outbound_seq, t, window))
                if (auto s = xfrm_->set_outbound_seq(id, *c); !s)
                    log_group(gdoi::LogLevel::Warning, g.config,
                              "anti-replay: setting the sequence number of SA " + common::hex_spi(*active) +
                                  ": " + s.error().message,
                              *active);
        }
        if (t % 10 == 0) log_replay_drops(g);
    }
}

common::Result<ReplayDrops> KernelDataplane::replay_drops(const GroupConfig& group) {
    Group* g = find(group);
    if (!g || g->config.anti_replay_window == 0) return ReplayDrops{};
    const auto counters = policy::read_rule_counters(options_.nft_table);
    if (!counters) return counters.error();
    policy::RuleSet rs;
    rs.group_id = g->config.id;
    rs.group_name = g->config.name;
    std::map<uint32_t, uint64_t> now;
    for (const uint32_t spi : g->inbound_spis())
        now[spi] = policy::packets_exact(*counters, policy::replay_chain_name(g->config.id),
                                         policy::replay_rule_comment(rs, spi));
    for (const auto& [spi, n] : g->replay_drops_seen)
        if (!now.count(spi)) g->replay_drops_retired += n;
    g->replay_drops_seen = now;
    ReplayDrops d;
    d.by_spi = std::move(now);
    d.total = std::accumulate(d.by_spi.begin(), d.by_spi.end(), g->replay_drops_retired,
                              [](uint64_t sum, const auto& e) { return sum + e.second; });
    return d;
}

void KernelDataplane::log_replay_drops(Group& g) {
    const auto d = replay_drops(g.config);
    if (!d || d->total <= g.replay_drops_logged) return;
    std::string spis;
    for (const auto& [spi, n] : d->by_spi)
        if (n) spis += (spis.empty() ? "" : ", ") + std::to_string(n) + " under TEK " + common::hex_spi(spi);
    const auto window = std::to_string(g.config.anti_replay_window);
    log_group(gdoi::LogLevel::Warning, g.config,
              std::to_string(d->total - g.replay_drops_logged) + " ESP packets dropped as replays (" +
                  (spis.empty() ? "under TEKs gone" : spis) + "; " + std::to_string(d->total) +
                  " in all): their sequence numbers date from more than " + window +
                  " s before or after this member's clock. Replayed packets, or a member whose " +
                  "clock is off by more than " + window + " s: check NTP on every member of the group " +
                  "(gdoictl show stats counts them per TEK)");
    g.replay_drops_logged = d->total;
}

}  // namespace member
