#include "watch/sa_expiry.h"

#include <algorithm>

#include "common/hex_spi.h"

namespace member {

bool is_newest_tek(const gdoi::GroupState& keys, uint32_t spi) {
    return !keys.teks.empty() && keys.teks.back().spi == spi;
}

std::optional<ExpiryDecision> decide_sa_expire(const xfrm::SaExpire& expire, uint32_t owner_tag,
                                               std::span<const ExpiryCandidate> groups) {
    if (expire.sa.owner != owner_tag) return std::nullopt;
    for (const auto& g : groups) {
        if (!g.holds_sa) continue;
        ExpiryDecision d;
        d.group = g.name;
        d.hard = expire.hard;
        const std::string spi = common::hex_spi(expire.sa.spi);
        const std::string limit = xfrm::expired_limit_name(xfrm::expired_limit(expire));
        if (expire.hard) {
            d.message = "SA " + spi + " of group " + g.name + " reached its hard lifetime (" + limit +
                        "): removed by the kernel; traffic fail-closed until new keys";
            // Only AES-GCM SAs get a packet limit (dataplane_tek.h): the nonce budget is spent,
            // the key must not send again, and a registration brings the same key back.
            if (xfrm::expired_limit(expire) == xfrm::ExpiredLimit::packets)
                d.message +=
                    " (the AES-GCM packet limit for gcm-expected-senders is used up: have the key "
                    "server rekey the group sooner, or use AES-CBC TEKs)";
            return d;
        }
        d.reregister = g.keys && is_newest_tek(*g.keys, expire.sa.spi);
        const bool listed = g.keys && std::any_of(g.keys->teks.begin(), g.keys->teks.end(),
                                                  [&](const gdoi::Tek& t) { return t.spi == expire.sa.spi; });
        d.message = "group " + g.name + ": SA " + spi + " reached its soft lifetime (" + limit + "); " +
                    (d.reregister ? "no newer TEK: registering again early"
                     : listed     ? "the group holds a newer TEK"
                                  : "its TEK is no longer listed by the key server");
        return d;
    }
    return std::nullopt;
}

}  // namespace member
