#include "daemon/daemon.h"

#include <malloc.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "config/reload_plan.h"
#include "daemon/logging.h"
#include "daemon/privileges.h"
#include "daemon/sd_notify.h"

namespace member {

using gdoi::LogLevel;

namespace {

// epoll user data: which source is ready.
enum : uint64_t { kTagTimer = 1, kTagSignal = 2, kTagControl = 3, kTagSaEvents = 4, kTagUdpBase = 1000 };

}  // namespace

Daemon::Daemon(MemberConfig config, std::string config_path, std::unique_ptr<Dataplane> dataplane,
               std::string run_as)
    : config_(std::move(config)),
      config_path_(std::move(config_path)),
      dataplane_(std::move(dataplane)),
      run_as_(std::move(run_as)) {}

Daemon::~Daemon() = default;

SessionConfig Daemon::session_config(const GroupConfig& g) {
    SessionConfig c;
    c.name = g.name;
    c.group_id = g.id;
    c.servers = g.servers;
    c.phase1.mode = g.ike_mode;
    c.phase1.proposals = g.ike_proposals;
    c.phase1.psk = g.ike_psk;
    c.phase1.sa_doi = g.ike_doi;
    c.phase1.lifetime_seconds = g.ike_lifetime;
    // An unset local address (no family) is sent as the IPv6 unspecified address, as before.
    auto local = config_.local_address.address();
    if (config_.local_address.family() != AF_INET) local.family = common::IpFamily::ipv6;
    c.phase1.local_id = gdoi::isakmp::address_id(local);
    if (g.ike_sig) {  // signatures (config/ike_auth.cpp loaded and checked the files)
        c.phase1.sig = g.ike_sig->credentials;
        c.phase1.expected_peer_id = g.ike_sig->peer_id;
        if (g.ike_sig->local_id) c.phase1.local_id = *g.ike_sig->local_id;
    }
    c.recovery_probe = g.recovery_probe;
    c.log = log_sink();
    c.on_event = [this, name = g.name](const SessionEvent& e) {
        publish(monitor_event_of(name, e));
        if (e.kind == SessionEvent::Kind::registration_done)
            if (auto it = groups_.find(name); it != groups_.end() && it->second->session)
                warn_server_certificate(*it->second, it->second->session->server_index());
    };
    c.accept_tek = [dp = dataplane_.get(), g](const gdoi::Tek& t) { return dp->accept_tek(g, t); };
    return c;
}

common::Status Daemon::open_sockets() {
    for (const auto& g : config_.groups) {
        if (sockets_.count(g.local_port)) continue;
        gdoi::Endpoint local = config_.local_address;
        auto bound = gdoi::Endpoint::parse(local.address_string(), g.local_port);
        if (!bound) return bound.error();
        auto sock = gdoi::UdpSocket::bind(*bound);
        if (!sock) return sock.error();
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = kTagUdpBase + g.local_port;
        ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, sock->fd(), &ev);
        sockets_.emplace(g.local_port, std::move(*sock));
    }
    return {};
}

void Daemon::start_group(const GroupConfig& config, Clock::time_point now) {
    auto group = std::make_unique<Group>();
    group->config = config;
    group->session = std::make_unique<GroupSession>(session_config(config));
    auto* raw = group.get();
    groups_[config.name] = std::move(group);
    // A group added by a reload: its rules (fail-closed) and carrier slot in the kernel.
    if (auto added = dataplane_->add_group(config); !added)
        log_line(LogLevel::Error, gdoi::group_line(config.name, config.id, added.error().message));
    log_line(LogLevel::Info,
             gdoi::group_line(config.name, config.id,
                              "starting, " + std::to_string(config.servers.size()) + " key server(s)"));
    handle_output(*raw, raw->session->start(now), now);
}

void Daemon::stop_group(const std::string& name, const GroupConfig* replacement) {
    auto it = groups_.find(name);
    if (it == groups_.end()) return;
    leave_rekey_multicast(*it->second, replacement ? "group changed" : "group removed");
    publish_teks_removed(*it->second, replacement ? "group changed" : "group removed");
    // A changed group stays in the kernel's rules, fail-closed, until its new session keys it:
    // removing it first would leave its traffic without rules (in clear) for a moment.
    auto removed =
        replacement ? dataplane_->reset_group(*replacement) : dataplane_->remove_group(it->second->config);
    const GroupConfig& config = it->second->config;
    if (!removed)
        log_line(LogLevel::Error,
                 gdoi::group_line(name, config.id,
                                  "removing its kernel state failed: " + removed.error().message));
    log_line(LogLevel::Info,
             gdoi::group_line(name, config.id,
                              replacement ? "changed in the configuration, starting over fail-closed"
                                          : "removed from the configuration"));
    groups_.erase(it);
}

// Before the loop waits: memory freed by the work just done (a registration's exchanges and
// nft table, a rekey, a reload, a status request) goes back to the kernel once it amounts to
// 16 KiB more than the heap held free after the last trim (less is not worth the madvise calls,
// which a flood of datagrams would repeat). The trim threshold only shortens the heap's top;
// malloc_trim also gives back the free pages inside it, which would otherwise stay resident for
// as long as the daemon idles.
void Daemon::release_free_heap() {
    constexpr std::size_t kWorthGivingBack = 16 * 1024;
    const std::size_t free_bytes = ::mallinfo2().fordblks;
    heap_free_low_ = std::min(heap_free_low_, free_bytes);
    if (free_bytes < heap_free_low_ + kWorthGivingBack) return;
    ::malloc_trim(0);
    heap_free_low_ = ::mallinfo2().fordblks;
}

void Daemon::handle_output(Group& group, SessionOutput out, Clock::time_point now) {
    auto sock = sockets_.find(group.config.local_port);
    for (const auto& o : out.send) {
        if (sock == sockets_.end()) break;
        auto sent = sock->second.send_to(o.datagram, o.to);
        if (sent) {
            group.send_problem.clear();
            continue;
        }
        log_line(LogLevel::Warning,
                 gdoi::group_line(group.config.name, group.config.id, sent.error().message));
        // EPERM: a netfilter rule dropped it on the way out (the router's output chain).
        group.send_problem = "sending to the key server " + o.to.to_string() + " failed (" +
                             sent.error().message +
                             "): an output rule of the router may drop the member's IKE/GDOI (UDP " +
                             std::to_string(group.config.local_port) + ")";
    }
    // A registration under way: the group's carrier goes in now, fail-closed, so the keys only
    // add SAs, policies and routes (KernelDataplane::prepare_group; a no-op once it is there).
    if (!out.send.empty() && !out.install) (void)dataplane_->prepare_group(group.config);
    if (out.install && now < group.held_until) {
        // A suspected leak holds the group fail-closed (daemon_kernel_watch.cpp).
        group.session->install_failed(
            now, "held fail-closed after a suspected leak for another " +
                     std::to_string(
                         std::chrono::duration_cast<std::chrono::seconds>(group.held_until - now).count()) +
                     " s");
        notify_status();
        return;
    }
    if (out.install) {
        auto applied = dataplane_->apply(group.config, *out.install, now);
        if (applied) {
            group.session->install_succeeded();
            publish_tek_changes(group, *out.install);
        } else {
            group.session->install_failed(now, applied.error().message);
        }
        sync_rekey_multicast(group);  // the KEK may name another rekey destination now
        notify_status();
    }
}

void Daemon::on_udp_readable(int fd, Clock::time_point now) {
    for (auto& [port, sock] : sockets_) {
        if (sock.fd() != fd) continue;
        for (int i = 0; i < 64; ++i) {  // drain, bounded
            auto got = sock.receive(std::chrono::milliseconds(0));
            if (!got || !*got) break;
            on_datagram(port, **got, now);
        }
    }
}

// The one path of every datagram, unicast or multicast (daemon_multicast.cpp): to the
// group whose exchange or KEK it names, among the groups using local port `port`.
void Daemon::on_datagram(uint16_t port, const gdoi::Datagram& got, Clock::time_point now) {
    const auto& data = got.data;
    auto header = gdoi::isakmp::parse_header(data);
    bool handled = false;
    for (auto& [name, group] : groups_) {
        if (group->config.local_port != port) continue;
        if (!header) {
            // Unparseable (e.g. truncated): a push under this group's KEK is counted.
            if (group->session->is_kek_cookie_pair(
                    gdoi::ByteView(data).first(std::min<size_t>(16, data.size()))))
                group->session->record_push_reject(gdoi::PushReject::Malformed, header.error().message, now);
            continue;
        }
        if (!group->session->owns(*header)) continue;
        handle_output(*group, group->session->on_datagram(data, got.from, now), now);
        handled = true;
        break;
    }
    constexpr auto kPushExchange = gdoi::isakmp::ExchangeType::GroupkeyPush;
    if (header && !handled && header->exchange == kPushExchange) {
        // A rekey whose cookies name no KEK we hold: counted on the keyed groups of this port.
        for (auto& [name, group] : groups_)
            if (group->config.local_port == port && group->session->keyed())
                group->session->record_push_reject(
                    gdoi::PushReject::UnknownKek,
                    "from " + got.from.to_string() + ": cookies name no KEK we hold", now);
    }
}

void Daemon::on_timer(Clock::time_point now) {
    if (now >= next_stats_check_) check_traffic(now);
    if (now >= next_certificate_check_) check_certificates(now);
    for (auto& [name, group] : groups_)
        if (group->session->next_deadline() <= now) handle_output(*group, group->session->on_timer(now), now);
    if (dataplane_->next_deadline() <= now) dataplane_->on_timer(now);
    if (control_ && control_->monitor().next_deadline() <= now) control_->monitor().on_ready(now);
}

Clock::time_point Daemon::arm_timer() {
    Clock::time_point next =
        std::min({dataplane_->next_deadline(), next_stats_check_, next_certificate_check_});
    for (const auto& [name, group] : groups_) next = std::min(next, group->session->next_deadline());
    if (control_) next = std::min(next, control_->monitor().next_deadline());
    itimerspec spec{};
    if (next != Clock::time_point::max()) {
        auto delta = std::max(next - Clock::now(), Clock::duration(std::chrono::milliseconds(1)));
        auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(delta).count();
        spec.it_value.tv_sec = ns / 1000000000;
        spec.it_value.tv_nsec = ns % 1000000000;
    }
    ::timerfd_settime(timer_.get(), 0, &spec, nullptr);
    return next;
}

void Daemon::notify_status() {
    std::string line = "STATUS=";
    bool first = true;
    for (const auto& [name, group] : groups_) {
        line += (first ? "" : ", ") + name + " " + session_state_name(group->session->state());
        first = false;
    }
    sd_notify_message(line);
}

void Daemon::reload() {
    auto fresh = load_config(config_path_);
    if (!fresh) {
        log_line(LogLevel::Error,
                 "reload: " + fresh.error().message + " — keeping the running configuration");
        return;
    }
    auto now = Clock::now();
    std::vector<const GroupConfig*> running;
    for (const auto& [name, group] : groups_) running.push_back(&group->config);
    const auto to_stop = groups_to_stop(running, fresh->groups);
    for (const auto& [name, replacement] : to_stop) stop_group(name, replacement);
    for (const auto& g : fresh->groups)  // the groups left running: new certificate or CA/CRL contents
        if (auto it = groups_.find(g.name); it != groups_.end()) reload_credentials(*it->second, g, now);
    next_certificate_check_ = {};  // a renewed certificate: its warning goes or comes now
    config_.groups = fresh->groups;
    auto opened = open_sockets();
    if (!opened) log_line(LogLevel::Error, "reload: " + opened.error().message);
    for (const auto& g : config_.groups)
        if (!groups_.count(g.name)) start_group(g, now);
    log_line(LogLevel::Info, "configuration reloaded: " + std::to_string(groups_.size()) + " group(s)");
    notify_status();
}

std::string Daemon::handle_control(const std::string& request) {
    ControlHandlers handlers;
    handlers.show = [this] { return status(Clock::now()); };
    handlers.register_group = [this](const std::string& name) -> common::Status {
        auto it = groups_.find(name);
        if (it == groups_.end())
            return common::make_error("no group named " + name + " in the configuration");
        auto now = Clock::now();
        handle_output(*it->second, it->second->session->force_register(now), now);
        return {};
    };
    handlers.flush = [this]() -> common::Status {
        auto flushed = dataplane_->flush();
        if (!flushed) return flushed;
        // The multicast memberships go too; the next registration or rekey joins again.
        for (auto& [name, group] : groups_) {
            leave_rekey_multicast(*group, "flush");
            publish_teks_removed(*group, "flush");
        }
        log_line(LogLevel::Warning,
                 "flush: everything the member installed was removed (fail-closed included)");
        return {};
    };
    // Any group name: a reload may add the group later (gdoictl monitor --group NEW, then SIGHUP).
    handlers.monitor = [this](const std::string& name) -> common::Status {
        if (control_->monitor().full())
            return common::make_error("too many monitors open (at most " +
                                      std::to_string(MonitorHub::kMaxSubscribers) + ")");
        const bool known = name.empty() || groups_.count(name) != 0;
        log_line(
            LogLevel::Info,
            "monitor: a client follows the events of " +
                (name.empty() ? std::string("every group") : "group " + name) +
                (known ? "" : " (not configured now)") + " (" +
                std::to_string(control_->monitor().subscribers() + 1) + " monitor(s))" +
                (known && !name.empty() ? gdoi::log_fields({name, groups_.at(name)->config.id, std::nullopt})
                                        : std::string()));
        return {};
    };
    return dispatch_control_request(request, handlers);
}

int Daemon::run() {
    started_ = Clock::now();
    epoll_ = common::UniqueFd(::epoll_create1(EPOLL_CLOEXEC));
    timer_ = common::UniqueFd(::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK));
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGHUP);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    ::sigprocmask(SIG_BLOCK, &mask, nullptr);
    signals_ = common::UniqueFd(::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
    if (!epoll_.valid() || !timer_.valid() || !signals_.valid()) {
        log_line(LogLevel::Error, std::string("cannot set up the event loop: ") + std::strerror(errno));
        return 1;
    }
    auto add = [&](int fd, uint64_t tag) {
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = tag;
        ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev);
    };
    add(timer_.get(), kTagTimer);
    add(signals_.get(), kTagSignal);

    auto started = dataplane_->start(config_);
    if (!started) {
        log_line(LogLevel::Error, "cannot prepare the kernel: " + started.error().message);
        return 1;
    }
    // Before privileges are dropped: joining the XFRM multicast group needs CAP_NET_ADMIN.
    if (open_sa_events()) add(sa_events_->fd(), kTagSaEvents);
    auto opened = open_sockets();
    if (!opened) {
        log_line(LogLevel::Error, opened.error().message);
        return 1;
    }
    auto control = ControlServer::listen(config_.control_socket);
    if (!control) {
        log_line(LogLevel::Error, "control socket: " + control.error().message);
        return 1;
    }
    control_.emplace(std::move(*control));
    add(control_->fd(), kTagControl);
    // Port 848 is bound: from here on only CAP_NET_ADMIN (and CAP_NET_BIND_SERVICE for a
    // reload that adds a port) remain, as the user asked for.
    std::vector<std::string> hand_over;
    if (!control_->created_directory().empty()) hand_over.push_back(control_->created_directory());
    auto dropped = drop_privileges(run_as_, hand_over);
    if (!dropped) {
        log_line(LogLevel::Error, "dropping privileges: " + dropped.error().message);
        return 1;
    }

    auto now = Clock::now();
    for (const auto& g : config_.groups) start_group(g, now);
    sd_notify_message("READY=1");
    notify_status();
    log_line(LogLevel::Info, "gdoi-memberd running: " + std::to_string(groups_.size()) +
                                 " group(s), control socket " + config_.control_socket);

    while (running_) {
        // Only when the daemon may idle: not between the steps of one rekey (an activation due
        // at once waits on the timer), where pages given back would be faulted in again.
        if (arm_timer() - Clock::now() >= kQuietBeforeTrim) release_free_heap();
        epoll_event events[16];
        int n = ::epoll_wait(epoll_.get(), events, 16, -1);
        if (n < 0 && errno != EINTR) {
            log_line(LogLevel::Error, std::string("epoll_wait: ") + std::strerror(errno));
            return 1;
        }
        now = Clock::now();
        for (int i = 0; i < n; ++i) {
            uint64_t tag = events[i].data.u64;
            if (tag == kTagTimer) {
                uint64_t expirations = 0;
                [[maybe_unused]] auto r = ::read(timer_.get(), &expirations, sizeof expirations);
                on_timer(now);
            } else if (tag == kTagSignal) {
                signalfd_siginfo si{};
                while (::read(signals_.get(), &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
                    if (si.ssi_signo == SIGHUP) {
                        log_line(LogLevel::Info, "SIGHUP: reloading " + config_path_);
                        reload();
                    } else {
                        log_line(LogLevel::Info, "signal " + std::to_string(si.ssi_signo) + ": leaving");
                        running_ = false;
                    }
                }
            } else if (tag == kTagSaEvents) {
                on_sa_events(now);
            } else if (tag == kTagControl) {
                control_->on_readable([this](const std::string& req) { return handle_control(req); });
            } else if (tag >= kTagMulticastBase) {
                on_multicast_readable(tag, now);
            } else if (tag >= kTagUdpBase) {
                auto it = sockets_.find(static_cast<uint16_t>(tag - kTagUdpBase));
                if (it != sockets_.end()) on_udp_readable(it->second.fd(), now);
            }
        }
        on_timer(Clock::now());
    }
    sd_notify_message("STOPPING=1");
    dataplane_->shutdown();
    log_line(LogLevel::Info,
             "gdoi-memberd stopped; fail-closed rules stay in the kernel (gdoictl flush removes them)");
    return 0;
}

}  // namespace member
