// `gdoictl show --format prometheus`: the member's counters and gauges per group, named by
// the Prometheus conventions (gdoi_member_ prefix, snake_case, _total for counters, _seconds
// for durations), every series labelled group="NAME",group_id="ID". The group's state is a
// one-hot state set (one series per known state, 1 for the current one): it changes over
// time, so an info-style metric would start a new series at each change and lose the
// zeroes that `gdoi_member_group_state{state="registered"} == 0` alerts on.
#include <algorithm>
#include <array>

#include "gdoictl/prometheus_text.h"

namespace member {
namespace {

using Labels = PrometheusExposition::Labels;

Labels group_labels(const GroupStatus& g) { return {{"group", g.name}, {"group_id", std::to_string(g.id)}}; }

Labels with(Labels labels, std::string_view name, std::string value) {
    labels.emplace_back(name, std::move(value));
    return labels;
}

struct GroupCounter {
    std::string_view name;
    std::string_view help;
    uint64_t GroupCounters::*value;
};

constexpr std::array<GroupCounter, 8> kGroupCounters{{
    {"gdoi_member_registrations_total", "Successful registrations (GROUPKEY-PULL) since the daemon started.",
     &GroupCounters::registrations},
    {"gdoi_member_registration_failures_total", "Failed registrations since the daemon started.",
     &GroupCounters::registration_failures},
    {"gdoi_member_rekeys_accepted_total", "GROUPKEY-PUSH messages accepted since the daemon started.",
     &GroupCounters::rekeys_accepted},
    {"gdoi_member_acks_sent_total", "GROUPKEY-PUSH ACKs sent (RFC 8263) since the daemon started.",
     &GroupCounters::acks_sent},
    {"gdoi_member_recovery_probes_total",
     "Registrations started by the recovery probe since the daemon started.",
     &GroupCounters::recovery_probes},
    {"gdoi_member_sa_soft_expires_total", "Soft-lifetime events of the group's kernel SAs.",
     &GroupCounters::soft_expires},
    {"gdoi_member_sa_hard_expires_total",
     "Hard-lifetime events of the group's kernel SAs (the kernel deleted the SA).",
     &GroupCounters::hard_expires},
    {"gdoi_member_replays_dropped_total",
     "Group ESP dropped by time-based anti-replay (outside anti-replay-time-window); 0 while it is off.",
     &GroupCounters::replays_dropped},
}};

void group_state(PrometheusExposition& out, const std::vector<const GroupStatus*>& groups) {
    out.family("gdoi_member_group_state", "gauge",
               "Registration state of the group: 1 for the current state, 0 for the others.");
    for (const GroupStatus* g : groups) {
        for (std::string_view state : kGroupStates)
            out.sample(with(group_labels(*g), "state", std::string(state)), g->state == state ? 1 : 0);
        // A state this gdoictl does not know (a newer daemon) is still shown as the current one.
        if (std::find(kGroupStates.begin(), kGroupStates.end(), g->state) == kGroupStates.end())
            out.sample(with(group_labels(*g), "state", g->state), 1);
    }
}

void counters(PrometheusExposition& out, const std::vector<const GroupStatus*>& groups) {
    // In the order of `gdoictl show stats`: rejections by reason after the accepted rekeys.
    for (const GroupCounter& c : kGroupCounters) {
        out.family(c.name, "counter", c.help);
        for (const GroupStatus* g : groups) out.sample(group_labels(*g), g->counters.*c.value);
        if (c.value != &GroupCounters::rekeys_accepted) continue;
        out.family("gdoi_member_rekeys_rejected_total", "counter",
                   "GROUPKEY-PUSH messages rejected since the daemon started, by reason.");
        for (const GroupStatus* g : groups)
            for (const auto& [reason, count] : g->counters.rekeys_rejected_by_reason)
                out.sample(with(group_labels(*g), "reason", reason), count);
    }
}

void lifetimes(PrometheusExposition& out, const std::vector<const GroupStatus*>& groups) {
    out.family("gdoi_member_kek_remaining_seconds", "gauge",
               "Remaining lifetime of the group's KEK (rekey SA).");
    for (const GroupStatus* g : groups)
        for (const KekStatus& k : g->kek) out.sample(group_labels(*g), k.remaining_seconds);
    out.family("gdoi_member_tek_remaining_seconds", "gauge",
               "Remaining lifetime of each TEK (traffic SA) of the group, by SPI and rollover role.");
    for (const GroupStatus* g : groups)
        for (const TekStatus& t : g->teks)
            out.sample(with(with(group_labels(*g), "spi", t.spi), "role", t.role), t.remaining_seconds);
}

// Alert on it like on any certificate: `gdoi_member_certificate_remaining_seconds < 30 * 86400`.
void certificates(PrometheusExposition& out, const std::vector<const GroupStatus*>& groups) {
    out.family("gdoi_member_certificate_remaining_seconds", "gauge",
               "Time until the certificate expires (0: expired): the group's own (owner=\"member\") and each "
               "key server's as its last phase 1 verified it (owner=\"key-server\", server=ADDRESS).");
    for (const GroupStatus* g : groups) {
        for (const CertificateStatus& c : g->certificate)
            out.sample(with(group_labels(*g), "owner", "member"), c.seconds_left);
        for (const ServerStatus& s : g->servers)
            for (const CertificateStatus& c : s.certificate)
                out.sample(with(with(group_labels(*g), "owner", "key-server"), "server", s.address),
                           c.seconds_left);
    }
}

void tek_replays(PrometheusExposition& out, const std::vector<const GroupStatus*>& groups) {
    out.family("gdoi_member_tek_replays_dropped_total", "counter",
               "ESP of the TEK dropped by time-based anti-replay since its rule was written (groups with "
               "anti-replay-time-window only).");
    for (const GroupStatus* g : groups)
        if (g->anti_replay_window != 0)
            for (const TekStatus& t : g->teks)
                out.sample(with(group_labels(*g), "spi", t.spi), t.replays_dropped);
}

void sa_counters(PrometheusExposition& out, const std::vector<const GroupStatus*>& groups) {
    const std::array<std::pair<std::string_view, uint64_t SaCounterStatus::*>, 2> kinds{{
        {"packets", &SaCounterStatus::packets},
        {"bytes", &SaCounterStatus::bytes},
    }};
    for (const auto& [unit, value] : kinds) {
        out.family("gdoi_member_sa_" + std::string(unit) + "_total", "counter",
                   "ESP " + std::string(unit) +
                       " the kernel SA of the TEK encrypted (outbound) or decrypted (inbound) since it "
                       "was installed.");
        for (const GroupStatus* g : groups)
            for (const TekStatus& t : g->teks)
                for (const SaCounterStatus& sa : t.sas)
                    out.sample(with(with(group_labels(*g), "spi", t.spi), "direction", sa.direction),
                               sa.*value);
    }
}

}  // namespace

std::string render_prometheus(const MemberStatus& status, const ViewFilter& filter) {
    const auto groups = selected_groups(status, filter);
    PrometheusExposition out;
    out.family("gdoi_member_build_info", "gauge", "The gdoi-memberd version, as a label; always 1.");
    out.sample({{"version", status.version}}, 1);
    out.family("gdoi_member_uptime_seconds", "gauge", "Time since gdoi-memberd started.");
    out.sample({}, status.uptime_seconds);
    group_state(out, groups);
    counters(out, groups);
    lifetimes(out, groups);
    certificates(out, groups);
    tek_replays(out, groups);
    sa_counters(out, groups);
    return out.text();
}

}  // namespace member
