// Multicast rekeys (RFC 6407 §4, §5.3): when a group's KEK names a multicast DST ID, the
// GCKS sends its GROUPKEY-PUSH messages to that group address and port; the member joins
// it on the WAN interface ([member] wan-interface) and reads the datagrams into the same
// path as the unicast ones (Daemon::on_datagram: the group is found by the push's KEK
// cookies, then GroupSession::on_datagram). The unicast socket stays: a key server may
// still push unicast (or retransmit unicast to members that did not ACK, RFC 8263).
//
// The datagram's source address is not checked against the KEK's SRC ID: a push is
// authenticated by the KEK (decryption), the GCKS signature and the SEQ (RFC 6407 §4;
// RFC 3547 §4.8 "Group Member Operations" — its number in RFC 6407 was not checked), and
// a GCKS behind NAT or sending from another of its addresses would be refused for
// nothing. The RFC 8263 ACK goes unicast to the push's source address and port.
#include <sys/epoll.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "daemon/daemon.h"
#include "daemon/logging.h"

namespace member {

using gdoi::LogLevel;

void Daemon::sync_rekey_multicast(Group& group) {
    const gdoi::GroupState* state = group.session->group_state();
    std::optional<gdoi::Endpoint> want;
    if (state && state->kek && !state->kek_deleted) want = gdoi::multicast_rekey_destination(*state->kek);
    const std::string key = want ? std::to_string(group.config.local_port) + "|" + want->to_string() : "";
    if (key == group.rekey_multicast) return;
    leave_rekey_multicast(
        group, want ? "the KEK names another rekey destination" : "the KEK names no multicast destination");
    if (!want) return;
    auto it = multicast_.find(key);
    if (it == multicast_.end()) {
        auto joined = gdoi::MulticastSocket::join(*want, config_.wan_interface);
        if (!joined) {
            log_line(
                LogLevel::Error,
                gdoi::group_line(group.config.name, group.config.id,
                                 joined.error().message +
                                     "; rekeys for this group arrive only unicast (if the key server sends "
                                     "them so) until the next registration or rekey joins again"));
            return;
        }
        RekeyMulticast m{
            std::move(*joined), group.config.local_port, kTagMulticastBase + next_multicast_tag_++, {}};
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = m.tag;
        if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, m.socket.fd(), &ev) != 0) {
            log_line(LogLevel::Error, gdoi::group_line(group.config.name, group.config.id,
                                                       "cannot watch the multicast socket of " +
                                                           want->to_string() + ": " + std::strerror(errno) +
                                                           "; rekeys for this group arrive only unicast"));
            return;
        }
        it = multicast_.emplace(key, std::move(m)).first;
    }
    it->second.groups.insert(group.config.name);
    group.rekey_multicast = key;
    log_line(LogLevel::Info, gdoi::group_line(group.config.name, group.config.id,
                                              "receiving rekeys on multicast " + want->to_string() + " via " +
                                                  config_.wan_interface));
}

void Daemon::leave_rekey_multicast(Group& group, const std::string& why) {
    if (group.rekey_multicast.empty()) return;
    auto it = multicast_.find(group.rekey_multicast);
    group.rekey_multicast.clear();
    if (it == multicast_.end()) return;
    log_line(LogLevel::Info, gdoi::group_line(group.config.name, group.config.id,
                                              "no longer receiving rekeys on multicast " +
                                                  it->second.socket.group().to_string() + " (" + why + ")"));
    it->second.groups.erase(group.config.name);
    if (!it->second.groups.empty()) return;
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, it->second.socket.fd(), nullptr);
    multicast_.erase(it);  // closing the socket leaves the group
}

void Daemon::on_multicast_readable(uint64_t tag, Clock::time_point now) {
    for (int i = 0; i < 64; ++i) {  // drain, bounded
        // Looked up again each time: an accepted push may move the group to another
        // destination and so close this socket.
        auto it = std::find_if(multicast_.begin(), multicast_.end(),
                               [tag](const auto& m) { return m.second.tag == tag; });
        if (it == multicast_.end()) return;
        auto got = it->second.socket.socket().receive(std::chrono::milliseconds(0));
        if (!got || !*got) return;
        on_datagram(it->second.local_port, **got, now);
    }
}

}  // namespace member
