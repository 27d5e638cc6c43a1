// The rekey scheduler (see dataplane_rekey.h).
#include "dataplane/dataplane_rekey.h"

#include <algorithm>
#include <set>

#include "common/hex_spi.h"

namespace member {

std::string RekeyStep::to_string() const {
    switch (kind) {
        case Kind::install_inbound:
            return "install_inbound " + common::hex_spi(spi);
        case Kind::activate:
            return "activate " + common::hex_spi(spi) +
                   (previous ? " replacing " + common::hex_spi(*previous) : "");
        case Kind::remove_outbound:
            return "remove_outbound " + common::hex_spi(spi);
        case Kind::remove_inbound:
            return "remove_inbound " + common::hex_spi(spi);
        case Kind::keyed:
            return value ? "keyed" : "unkeyed";
    }
    return "?";
}

void RekeySchedule::cancel(RekeyStep::Kind kind, uint32_t spi) {
    std::erase_if(pending_, [&](const Timed& t) { return t.step.kind == kind && t.step.spi == spi; });
}

std::vector<RekeyStep> RekeySchedule::on_state(const std::vector<uint32_t>& spis,
                                               std::chrono::seconds activation_delay,
                                               std::chrono::seconds deactivation_delay, SteadyTime now) {
    std::vector<RekeyStep> steps;
    const std::set<uint32_t> listed(spis.begin(), spis.end());
    auto queue = [&](SteadyTime at, RekeyStep step) {
        auto pos = std::upper_bound(pending_.begin(), pending_.end(), at,
                                    [](SteadyTime a, const Timed& t) { return a < t.at; });
        pending_.insert(pos, Timed{at, step});
    };

    // 1. New TEKs: inbound first. A TEK listed again while deactivating is kept after all.
    for (uint32_t spi : spis) {
        auto it = roles_.find(spi);
        if (it == roles_.end()) {
            steps.push_back({RekeyStep::Kind::install_inbound, spi, std::nullopt, false});
            roles_[spi] = Role::inbound_only;
        } else if (it->second == Role::deactivating) {
            cancel(RekeyStep::Kind::remove_inbound, spi);
            it->second = Role::inbound_only;
        }
    }

    // 2. The sender TEK: the last listed one.
    const std::optional<uint32_t> sender = spis.empty() ? std::nullopt : std::optional<uint32_t>(spis.back());
    const bool active_gone = active_ && !listed.count(*active_);

    // 3. TEKs that disappeared: outbound at once, inbound after the deactivation delay.
    for (auto& [spi, role] : roles_) {
        if (listed.count(spi) || role == Role::deactivating) continue;
        if (role == Role::activating) cancel(RekeyStep::Kind::activate, spi);
        role = Role::deactivating;
        queue(now + deactivation_delay, {RekeyStep::Kind::remove_inbound, spi, std::nullopt, false});
    }

    if (active_gone) {
        const uint32_t old = *active_;
        if (sender) {
            // The push deleted the key we send with and brought its successor. GAP (RFC 6407):
            // a deleted SA is deactivated DEACTIVATION_TIME_DELAY after the request, a new one
            // activated ACTIVATION_TIME_DELAY after it arrives. Switching at once would send
            // under the new SPI before members that get the push a moment later hold its
            // inbound SA: keep sending with the old key until the earlier of the two delays.
            const auto at = now + std::min(activation_delay, deactivation_delay);
            for (const auto& t : pending_)  // already due sooner: keep that
                if (t.step.kind == RekeyStep::Kind::activate && t.step.spi == *sender && t.at <= at)
                    return steps;
            cancel(RekeyStep::Kind::activate, *sender);
            for (auto& t : pending_)
                if (t.step.kind == RekeyStep::Kind::activate) roles_[t.step.spi] = Role::inbound_only;
            std::erase_if(pending_, [](const Timed& t) { return t.step.kind == RekeyStep::Kind::activate; });
            roles_[*sender] = Role::activating;
            queue(at, {RekeyStep::Kind::activate, *sender, std::nullopt, false});
            return steps;
        }
        // Nothing left to send with: fail-closed first, then the SA goes.
        active_.reset();
        steps.push_back({RekeyStep::Kind::keyed, 0, std::nullopt, false});
        steps.push_back({RekeyStep::Kind::remove_outbound, old, std::nullopt, false});
        return steps;
    }

    if (!sender || (active_ && *active_ == *sender)) return steps;
    if (!active_) {
        // First TEK: no activation delay.
        for (auto& t : pending_)
            if (t.step.kind == RekeyStep::Kind::activate) roles_[t.step.spi] = Role::inbound_only;
        std::erase_if(pending_, [](const Timed& t) { return t.step.kind == RekeyStep::Kind::activate; });
        steps.push_back({RekeyStep::Kind::activate, *sender, std::nullopt, false});
        steps.push_back({RekeyStep::Kind::keyed, 0, std::nullopt, true});
        roles_[*sender] = Role::active;
        active_ = *sender;
        return steps;
    }
    if (roles_[*sender] == Role::activating) return steps;  // already waiting
    // A newer sender supersedes one still waiting for its activation.
    for (auto& t : pending_)
        if (t.step.kind == RekeyStep::Kind::activate) roles_[t.step.spi] = Role::inbound_only;
    std::erase_if(pending_, [](const Timed& t) { return t.step.kind == RekeyStep::Kind::activate; });
    roles_[*sender] = Role::activating;
    queue(now + activation_delay, {RekeyStep::Kind::activate, *sender, std::nullopt, false});
    return steps;
}

std::vector<RekeyStep> RekeySchedule::on_timer(SteadyTime now) {
    std::vector<RekeyStep> steps;
    while (!pending_.empty() && pending_.front().at <= now) {
        RekeyStep step = pending_.front().step;
        pending_.erase(pending_.begin());
        if (step.kind == RekeyStep::Kind::activate) {
            step.previous = active_;
            const bool was_keyed = active_.has_value();
            // A deleted sender stays deactivating (its inbound SA goes at its own time).
            if (active_ && roles_[*active_] != Role::deactivating) roles_[*active_] = Role::inbound_only;
            roles_[step.spi] = Role::active;
            active_ = step.spi;
            steps.push_back(step);
            if (!was_keyed) steps.push_back({RekeyStep::Kind::keyed, 0, std::nullopt, true});
        } else if (step.kind == RekeyStep::Kind::remove_inbound) {
            roles_.erase(step.spi);
            steps.push_back(step);
        } else {
            steps.push_back(step);
        }
    }
    return steps;
}

SteadyTime RekeySchedule::next_deadline() const {
    return pending_.empty() ? SteadyTime::max() : pending_.front().at;
}

std::optional<RekeySchedule::Role> RekeySchedule::role(uint32_t spi) const {
    auto it = roles_.find(spi);
    if (it == roles_.end()) return std::nullopt;
    return it->second;
}

std::vector<uint32_t> RekeySchedule::installed() const {
    std::vector<uint32_t> out;
    for (const auto& [spi, role] : roles_) out.push_back(spi);
    return out;
}

void RekeySchedule::clear() {
    roles_.clear();
    active_.reset();
    pending_.clear();
}

void RekeySchedule::adopt(const std::vector<uint32_t>& inbound, std::optional<uint32_t> active) {
    clear();
    for (uint32_t spi : inbound) roles_[spi] = Role::inbound_only;
    if (active && roles_.count(*active)) {
        roles_[*active] = Role::active;
        active_ = active;
    }
}

}  // namespace member
