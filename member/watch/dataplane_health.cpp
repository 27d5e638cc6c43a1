// Health check of a keyed group on a router (see dataplane_health.h).
#include "watch/dataplane_health.h"

namespace member {
namespace {

// Fewer packets than this in one interval prove nothing (a stray packet, a rekey moment).
constexpr uint64_t kMinEvidence = 3;
// Carrier packets unaccounted for: judged only with this many, and only when fewer than a
// quarter were encrypted or stopped (GSO and fragments make the SA count more, never less).
constexpr uint64_t kMinLeakEvidence = 10;

// An outbound SA of `before` is gone in `now` (a rekey switched): its last packets are not
// counted, so the interval says nothing about unaccounted carrier packets.
bool outbound_sa_replaced(const std::vector<SaTraffic>& before, const std::vector<SaTraffic>& now) {
    for (const auto& b : before) {
        if (!b.outbound) continue;
        bool still = false;
        for (const auto& n : now) still = still || (n.outbound && n.spi == b.spi);
        if (!still) return true;
    }
    return false;
}

// Packets that entered the carrier but were neither encrypted nor stopped by a guard.
bool unaccounted(const HealthCounters& a, const HealthCounters& b, uint64_t guard) {
    if (outbound_sa_replaced(a.sas, b.sas)) return false;
    const uint64_t seen = b.to_carrier_seen >= a.to_carrier_seen ? b.to_carrier_seen - a.to_carrier_seen : 0;
    const uint64_t out = sa_packets_between(a.sas, b.sas, true);
    return seen >= kMinLeakEvidence && (out + guard) * 4 < seen;
}

const char* kLeak = "leak suspected: ";
constexpr int kLeakKind = 1;

uint64_t delta(uint64_t before, uint64_t now) { return now >= before ? now - before : now; }

const char* kSee = " (see README: Running on a router with NAT/firewall)";

// The kind of a finding: its message up to the first digit or colon-free prefix would vary
// with the counts, so findings are compared by the rule that produced them.
struct Finding {
    int kind = 0;  // 0: nothing
    std::string message;
};

Finding diagnose(const HealthCounters& a, const HealthCounters& b) {
    const uint64_t guard = delta(a.guard_drops, b.guard_drops);
    const uint64_t wanted = delta(a.to_carrier_wanted, b.to_carrier_wanted);
    const uint64_t seen = delta(a.to_carrier_seen, b.to_carrier_seen);
    const uint64_t esp = delta(a.esp_readdressed, b.esp_readdressed);
    const uint64_t decrypted = delta(a.decrypted_seen, b.decrypted_seen);
    const uint64_t inbound = sa_packets_between(a.sas, b.sas, false);
    if (unaccounted(a, b, guard))
        return {1, std::string(kLeak) + std::to_string(seen) + " packet(s) entered the carrier " + b.carrier +
                       " but only " + std::to_string(sa_packets_between(a.sas, b.sas, true)) +
                       " were encrypted and " + std::to_string(guard) +
                       " stopped by the member's guards: the rest may have left in clear or been dropped by "
                       "the router; "
                       "the group is held fail-closed"};
    if (guard > 0)
        return {2, std::to_string(guard) +
                       " packet(s) of the group tried to leave in clear and were dropped by the member's "
                       "last guard: "
                       "a NAT or routing rule of the router sends them around the carrier" +
                       kSee};
    if (wanted >= kMinEvidence && seen == 0)
        return {3, "group traffic (" + std::to_string(wanted) + " packets) does not reach the carrier " +
                       b.carrier +
                       ": a forward rule of the router drops it (accept iifname <LAN> oifname \"gdoi*\")" +
                       kSee};
    if (inbound >= kMinEvidence && decrypted == 0)
        return {
            4,
            std::to_string(inbound) +
                " decrypted packet(s) dropped by the router before delivery: a reverse-path filter (nft fib, "
                "rp_filter) or a forward/input rule (accept \"meta ipsec exists\" before it)" +
                kSee};
    if (esp >= kMinEvidence && inbound == 0 && decrypted == 0)
        return {5, "ESP from " + b.wan + " arrives (" + std::to_string(esp) +
                       " packets) but is dropped before decryption: the router's input rules must accept it "
                       "(iifname " +
                       b.wan + " meta l4proto esp accept)" + kSee};
    return {};
}

}  // namespace

uint64_t sa_packets_between(const std::vector<SaTraffic>& before, const std::vector<SaTraffic>& now,
                            bool outbound) {
    uint64_t sum = 0;
    for (const auto& n : now) {
        if (n.outbound != outbound) continue;
        uint64_t prior = 0;
        for (const auto& b : before)
            if (b.spi == n.spi && b.outbound == n.outbound) prior = b.packets;
        sum += delta(prior, n.packets);
    }
    return sum;
}

std::optional<HealthChange> HealthMonitor::observe(const HealthCounters& now, bool keyed) {
    if (!keyed) {
        const bool had = !problem_.empty();
        reset();
        if (had) return HealthChange{false, false, "not keyed: the health check waits for keys"};
        return std::nullopt;
    }
    // Rules of the table were rewritten since the last read (a rekey with new selectors, a
    // reload): their counters started over while the others went on, so this interval's sums say
    // nothing; the next one is judged from here.
    if (last_ && last_->rules_generation != now.rules_generation) {
        last_ = now;
        return std::nullopt;
    }
    std::optional<HealthChange> change;
    if (last_) {
        const Finding found = diagnose(*last_, now);
        const bool traffic_ok = delta(last_->to_carrier_seen, now.to_carrier_seen) > 0 ||
                                delta(last_->decrypted_seen, now.decrypted_seen) > 0;
        if (found.kind != 0 && found.kind != kind_) {
            kind_ = found.kind;
            problem_ = found.message;
            change = HealthChange{true, found.kind == kLeakKind, found.message};
        } else if (found.kind != 0) {
            problem_ = found.message;  // the same finding with today's counts: said already
        } else if (!problem_.empty() && traffic_ok) {
            change = HealthChange{false, false, "resolved: " + problem_};
            problem_.clear();
            kind_ = 0;
        }
    }
    last_ = now;
    return change;
}

void HealthMonitor::reset() {
    last_.reset();
    problem_.clear();
    kind_ = 0;
}

}  // namespace member
