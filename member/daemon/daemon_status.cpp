// The snapshot gdoictl shows, built from the sessions and the dataplane.
#include "common/hex_spi.h"
#include "control/version.h"
#include "daemon/certificate_status.h"
#include "daemon/daemon.h"
#include "daemon/policy_view.h"
#include "daemon/tek_name.h"
#include "daemon/tek_sa_counters.h"
#include "gdoi/kek_algorithms.h"
#include "gdoi/multicast_socket.h"
#include "xfrm/algorithm.h"

namespace member {
namespace {

uint64_t seconds_between(Clock::time_point from, Clock::time_point to) {
    return to > from
               ? static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(to - from).count())
               : 0;
}

// One of control/status.h kGroupStates (a new state goes there too: the Prometheus metric).
std::string group_state_name(const GroupSession& s) {
    bool keyed = s.group_state() != nullptr;
    switch (s.state()) {
        case SessionState::Idle:
            return "idle";
        case SessionState::Phase1:
        case SessionState::Registering:
            return keyed ? "re-registering" : "registering";
        case SessionState::Registered:
            return "registered";
        case SessionState::WaitingRetry:
            return "waiting-retry";
    }
    return "?";
}

}  // namespace

MemberStatus Daemon::status(Clock::time_point now) const {
    MemberStatus st;
    st.version = kVersion;
    const auto wall_now = std::chrono::system_clock::now();
    st.uptime_seconds = seconds_between(started_, now);
    for (const auto& [name, group] : groups_) {
        const GroupSession& s = *group->session;
        GroupStatus g;
        g.name = name;
        g.id = group->config.id;
        g.state = group_state_name(s);
        g.detail = s.detail();
        if (!s.keyed() && dataplane_->sending(group->config))
            g.detail += "; traffic still encrypted with the previous run's SAs until registered";
        for (const std::string* why : std::initializer_list<const std::string*>{
                 &group->health.problem(), &group->send_problem, &s.rekey_note()})
            if (g.health.empty()) g.health = *why;
        g.server = group->config.servers.empty() ? "" : group->config.servers[s.server_index()].to_string();
        g.since_seconds = seconds_between(s.state_since(), now);
        if (s.last_rekey())
            g.last_rekey_seconds_ago = std::max<uint64_t>(1, seconds_between(*s.last_rekey(), now));
        for (size_t i = 0; i < group->config.servers.size(); ++i) {
            ServerStatus server;
            server.address = group->config.servers[i].to_string();
            server.in_use = i == s.server_index();
            server.last_error = s.server_errors()[i];
            server.failures = s.server_failures()[i];
            if (const auto& auth = s.authenticated_servers()[i]) {
                server.identity = gdoi::crypto::describe_id(auth->id);
                if (auth->certificate)
                    server.certificate.push_back(certificate_status(auth->certificate->certificate,
                                                                    CertificateOwner::key_server, wall_now));
            }
            g.servers.push_back(server);
        }
        if (const auto& sig = group->config.ike_sig)
            g.certificate.push_back(
                certificate_status(*sig->credentials.certificate, CertificateOwner::ours, wall_now));
        g.anti_replay_window = group->config.anti_replay_window;
        // Anti-replay drops (nft rule counters): unknown for a moment if the table cannot be read.
        const auto replays = dataplane_->replay_drops(group->config);
        if (replays) g.counters.replays_dropped = replays->total;
        if (const auto* gs = s.group_state()) {
            g.sequence = gs->sequence;
            // The kernel's counters of the group's SAs (none without a kernel dataplane; when the
            // dump fails the TEKs are shown without counters).
            std::vector<SaTraffic> sas;
            if (sa_owner_)
                if (auto traffic = dataplane_->sa_traffic(group->config)) sas = std::move(*traffic);
            auto age = s.keys_installed_at() ? seconds_between(*s.keys_installed_at(), now) : 0;
            if (gs->kek) {
                KekStatus k;
                k.spi = gdoi::to_hex(gs->kek->spi);
                k.algorithm = gdoi::kek_algorithm_name(*gs->kek);
                k.signature = gdoi::kek_signature_name(*gs->kek);
                k.remaining_seconds = gs->kek->lifetime_seconds > age ? gs->kek->lifetime_seconds - age : 0;
                k.ack_requested = gs->kek->ack_requested;
                k.rekey_via = "unicast";
                if (auto mc = gdoi::multicast_rekey_destination(*gs->kek))
                    k.rekey_via = group->rekey_multicast.empty()
                                      ? "unicast (multicast " + mc->to_string() + " not joined)"
                                      : "multicast " + mc->to_string() + " via " + config_.wan_interface;
                g.kek.push_back(k);
            }
            for (const auto& t : gs->teks) {
                TekStatus ts;
                ts.spi = common::hex_spi(t.spi);
                ts.algorithm = tek_algorithm_name(t);
                ts.selector = t.selector.to_string();
                ts.role = tek_role_text(dataplane_->tek_role(group->config, t.spi));
                ts.remaining_seconds = t.lifetime_seconds > age ? t.lifetime_seconds - age : 0;
                if (replays)
                    if (const auto it = replays->by_spi.find(t.spi); it != replays->by_spi.end())
                        ts.replays_dropped = it->second;
                ts.sas = tek_sa_counters(sas, t.spi);
                g.teks.push_back(ts);
            }
        }
        if (auto rules = dataplane_->rules(group->config)) g.policies = policy_status(*rules);
        const auto& c = s.counters();
        g.counters.registrations = c.registrations;
        g.counters.registration_failures = c.registration_failures;
        g.counters.rekeys_accepted = c.rekeys_accepted;
        for (size_t i = 1; i < c.rekeys_rejected.size(); ++i) {
            g.counters.rekeys_rejected += c.rekeys_rejected[i];
            g.counters.rekeys_rejected_by_reason.emplace_back(
                gdoi::push_reject_name(static_cast<gdoi::PushReject>(i)), c.rekeys_rejected[i]);
        }
        g.counters.acks_sent = c.acks_sent;
        g.counters.recovery_probes = c.recovery_probes;
        g.counters.soft_expires = c.soft_expires;
        g.counters.hard_expires = c.hard_expires;
        st.groups.push_back(std::move(g));
    }
    return st;
}

}  // namespace member
