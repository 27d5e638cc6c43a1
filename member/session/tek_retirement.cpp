#include "session/tek_retirement.h"

#include <algorithm>

namespace member {

TekRetirement::Entry TekRetirement::entry_for(const gdoi::Tek& tek, gdoi::Clock::time_point now) {
    Entry e;
    if (tek.lifetime_seconds != 0) e.expires = now + std::chrono::seconds(tek.lifetime_seconds);
    return e;
}

void TekRetirement::on_registration(const gdoi::GroupState& state, gdoi::Clock::time_point now) {
    teks_.clear();
    for (const auto& t : state.teks) teks_[t.spi] = entry_for(t, now);
}

void TekRetirement::on_push(const gdoi::GroupState& state, const std::vector<uint32_t>& new_spis,
                            gdoi::Clock::time_point now) {
    std::erase_if(teks_, [&](const auto& kv) {
        return std::none_of(state.teks.begin(), state.teks.end(),
                            [&](const gdoi::Tek& t) { return t.spi == kv.first; });
    });
    const auto superseded_at = now + std::chrono::seconds(state.gap.activation_time_delay);
    for (const auto& t : state.teks) {
        if (std::find(new_spis.begin(), new_spis.end(), t.spi) != new_spis.end()) {
            teks_[t.spi] = entry_for(t, now);
            continue;
        }
        auto it = teks_.find(t.spi);
        if (it == teks_.end()) it = teks_.emplace(t.spi, entry_for(t, now)).first;
        const bool replaced = std::any_of(state.teks.begin(), state.teks.end(), [&](const gdoi::Tek& n) {
            return n.spi != t.spi && n.selector.to_string() == t.selector.to_string() &&
                   std::find(new_spis.begin(), new_spis.end(), n.spi) != new_spis.end();
        });
        if (replaced && !it->second.superseded) it->second.superseded = superseded_at;
    }
}

std::vector<uint32_t> TekRetirement::retire(gdoi::GroupState& state, gdoi::Clock::time_point now) {
    std::vector<uint32_t> gone;
    for (auto it = teks_.begin(); it != teks_.end();) {
        const Entry& e = it->second;
        if ((e.expires && *e.expires <= now) || (e.superseded && *e.superseded <= now)) {
            gone.push_back(it->first);
            it = teks_.erase(it);
        } else {
            ++it;
        }
    }
    std::erase_if(state.teks, [&](const gdoi::Tek& t) {
        return std::find(gone.begin(), gone.end(), t.spi) != gone.end();
    });
    return gone;
}

gdoi::Clock::time_point TekRetirement::next_deadline() const {
    auto d = gdoi::Clock::time_point::max();
    for (const auto& [spi, e] : teks_) {
        if (e.expires) d = std::min(d, *e.expires);
        if (e.superseded) d = std::min(d, *e.superseded);
    }
    return d;
}

}  // namespace member
