#include "group_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/stat.h>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>

#include "common/hex_spi.h"
#include "gdoi/crypto.h"
#include "gdoi/groupkey_push.h"
#include "gdoi/groupkey_push_ack.h"
#include "gdoi/ike_keys.h"

namespace keyserver {

namespace {

// A fresh SPI: random, above the reserved range 1..255 (RFC 4303 §2.1), not in `taken`.
uint32_t fresh_spi(const std::vector<uint32_t>& taken) {
    for (;;) {
        auto r = gdoi::crypto::random_bytes(4);
        uint32_t spi = (uint32_t{r[0]} << 24) | (uint32_t{r[1]} << 16) | (uint32_t{r[2]} << 8) | r[3];
        if (spi < 0x1000) continue;
        if (std::find(taken.begin(), taken.end(), spi) == taken.end()) return spi;
    }
}

// An ISAKMP message as tshark should see it unencrypted: the header with the E flag cleared
// and the length of the payload chain (the CBC padding after the last payload dropped).
std::optional<Bytes> unencrypted_message(gdoi::isakmp::Header h, ByteView plaintext) {
    size_t off = 0;
    uint8_t next = static_cast<uint8_t>(h.next_payload);
    while (next != 0 && off + gdoi::isakmp::kGenericHeaderSize <= plaintext.size()) {
        const size_t len = (size_t{plaintext[off + 2]} << 8) | plaintext[off + 3];
        if (len < gdoi::isakmp::kGenericHeaderSize || off + len > plaintext.size()) return std::nullopt;
        next = plaintext[off];
        off += len;
    }
    h.flags &= static_cast<uint8_t>(~gdoi::isakmp::kFlagEncryption);
    h.length = static_cast<uint32_t>(gdoi::isakmp::kHeaderSize + off);
    Bytes plain = gdoi::isakmp::encode_header(h);
    plain.insert(plain.end(), plaintext.begin(), plaintext.begin() + static_cast<std::ptrdiff_t>(off));
    return plain;
}

}  // namespace

GroupServer::GroupServer(gcks::Group group, GroupServerConfig config)
    : group_(std::move(group)), config_(std::move(config)) {}

void GroupServer::event(const std::string& line) const {
    if (config_.events) config_.events(line);
}

std::optional<Bytes> GroupServer::on_phase2(const ResponderSa& sa, ByteView datagram,
                                            const gdoi::Endpoint& from) {
    auto& pull = pulls_[sa.sa.initiator_cookie];
    auto header = gdoi::isakmp::parse_header(datagram);
    if (!header) return std::nullopt;
    // A finished pull followed by another one under the same phase-1 SA (a new Message ID):
    // a fresh responder (gcks::PullResponder serves one exchange).
    auto& message_id = pull_message_ids_[sa.sa.initiator_cookie];
    if (pull && pull->done() && header->message_id != message_id) pull.reset();
    if (!pull) {
        pull = std::make_unique<gcks::PullResponder>(sa.sa, group_);
        message_id = header->message_id;
    }
    const bool was_done = pull->done();
    trace_pull(sa, datagram, false, from);
    auto answer = pull->on_datagram(datagram);
    if (answer) trace_pull(sa, *answer, true, from);
    if (pull->done() && !was_done) {
        if (pull->requested_group() != group_.state.group_id) {
            // PullResponder answers with the one group it has; say so in the log.
            event("warning: member " + from.to_string() + " asked for group " +
                  std::to_string(pull->requested_group()) + ", this server serves group " +
                  std::to_string(group_.state.group_id));
        }
        std::erase_if(members_, [&](const Member& m) { return m.address == from; });
        members_.push_back({from, sa.sa});
        pending_.erase(from.to_string());
        event("registered member " + from.to_string() + " group " + std::to_string(group_.state.group_id) +
              " seq " + std::to_string(group_.state.sequence) + " (icookie " +
              gdoi::to_hex(sa.sa.initiator_cookie) + ")");
    }
    return answer;
}

const gdoi::Kek* GroupServer::kek_of(ByteView datagram) const {
    auto h = gdoi::isakmp::parse_header(datagram);
    if (!h || !group_.state.kek) return nullptr;
    const auto spi = gdoi::kek_spi_of(*h);
    if (spi == group_.state.kek->spi) return &*group_.state.kek;
    if (previous_kek_ && spi == previous_kek_->spi) return &*previous_kek_;
    return nullptr;
}

bool GroupServer::is_ack(ByteView datagram) const {
    auto h = gdoi::isakmp::parse_header(datagram);
    return h && h->exchange == gdoi::isakmp::ExchangeType::GroupkeyPushAck && kek_of(datagram) != nullptr;
}

void GroupServer::on_ack(ByteView datagram, const gdoi::Endpoint& from) {
    auto it =
        std::find_if(members_.begin(), members_.end(), [&](const Member& m) { return m.address == from; });
    if (it == members_.end()) {
        ++bad_acks_;
        event("ack rejected from " + from.to_string() + ": not a registered member");
        return;
    }
    const gdoi::Kek* kek = kek_of(datagram);
    if (kek == nullptr) {
        ++bad_acks_;
        event("ack rejected from " + from.to_string() +
              ": cookies name neither the current nor the previous KEK");
        return;
    }
    auto seq = gdoi::verify_push_ack(datagram, it->registration, *kek);
    if (!seq) {
        ++bad_acks_;
        event("ack rejected from " + from.to_string() + ": " + seq.error().message);
        return;
    }
    auto p = pending_.find(from.to_string());
    const bool expected = p != pending_.end() && p->second.sequence == *seq;
    if (expected) pending_.erase(p);
    ++acks_[*seq];
    event("ack received from " + from.to_string() + " seq " + std::to_string(*seq) +
          (expected ? "" : " (not awaited)"));
}

void GroupServer::trace_pull(const ResponderSa& sa, ByteView datagram, bool to_member,
                             const gdoi::Endpoint& member) {
    if (!config_.pull_plaintext) return;
    auto m = gdoi::isakmp::parse_message(datagram);
    if (!m || m->header.exchange != gdoi::isakmp::ExchangeType::GroupkeyPull || !m->header.encrypted())
        return;
    auto& t = pull_traces_[sa.sa.initiator_cookie];
    if (t.message_id != m->header.message_id) {  // a new exchange: IV from phase 1 (RFC 2409 Appendix B)
        t = PullTrace{
            m->header.message_id, gdoi::phase2_iv(sa.sa.keys, sa.sa.last_iv, m->header.message_id), {}};
    }
    Bytes whole(datagram.begin(), datagram.end());
    if (std::find(t.seen.begin(), t.seen.end(), whole) != t.seen.end()) return;
    auto opened = gdoi::open_message(m->body, sa.sa.keys, t.iv);
    if (!opened) return;
    t.seen.push_back(std::move(whole));
    t.iv = opened->next_iv;
    auto plain = unencrypted_message(m->header, opened->plaintext);  // SecureBytes: wiped when freed
    if (plain) config_.pull_plaintext(member, to_member, *plain);
}

void GroupServer::record_plaintext(const gcks::Group& under, const Bytes& push) {
    if (!config_.push_plaintext || push.size() < gdoi::isakmp::kHeaderSize) return;
    const auto& kek = *under.state.kek;
    ByteView ct(push.data() + gdoi::isakmp::kHeaderSize, push.size() - gdoi::isakmp::kHeaderSize);
    if (ct.empty() || ct.size() % 16 != 0) return;  // truncated: not a whole CBC message
    gdoi::crypto::Cipher cipher{gdoi::crypto::CipherAlg::AesCbc, kek.key.size()};
    auto pt = gdoi::crypto::cbc_decrypt(cipher, kek.key.view(), kek.iv, ct);
    if (!pt) return;
    auto h = gdoi::isakmp::parse_header(push);
    if (!h) return;
    auto plain = unencrypted_message(*h, *pt);  // SecureBytes: wiped when freed
    if (!plain) return;
    if (config_.multicast) {
        config_.push_plaintext(*config_.multicast, *plain);
        return;
    }
    for (const auto& m : members_) config_.push_plaintext(m.address, *plain);
}

void GroupServer::send_push(const Bytes& push, uint32_t seq, const char* kind, bool expect_ack,
                            std::vector<Outgoing>& out, Clock::time_point now) {
    if (config_.multicast) {
        out.push_back({*config_.multicast, push});
        event(std::string("push sent (") + kind + ") seq " + std::to_string(seq) + " to " +
              config_.multicast->to_string() + " multicast, " + std::to_string(members_.size()) +
              " member(s) (" + std::to_string(push.size()) + " bytes)");
    }
    for (const auto& m : members_) {
        if (!config_.multicast) out.push_back({m.address, push});
        if (expect_ack) {
            pending_[m.address.to_string()] = PendingAck{push, seq, 0, now + config_.ack_period};
            ++pushed_[seq];
        }
        if (!config_.multicast)
            event(std::string("push sent (") + kind + ") seq " + std::to_string(seq) + " to " +
                  m.address.to_string() + " (" + std::to_string(push.size()) + " bytes)");
    }
}

std::string GroupServer::command(const std::string& cmd, std::vector<Outgoing>& out, Clock::time_point now) {
    std::ostringstream answer;
    if (cmd == "status") {
        answer << "group " << group_.state.group_id << " seq " << group_.state.sequence << " teks";
        for (const auto& t : group_.state.teks) answer << " " << common::hex_spi(t.spi);
        answer << " ack " << (group_.state.kek->ack_requested ? "requested" : "not-requested") << "\n";
        if (config_.multicast) answer << "rekeys to " << config_.multicast->to_string() << " multicast\n";
        answer << "members " << members_.size() << "\n";
        for (const auto& m : members_)
            answer << "member " << m.address.to_string() << " icookie "
                   << gdoi::to_hex(m.registration.initiator_cookie)
                   << (pending_.count(m.address.to_string()) ? " awaiting-ack" : "") << "\n";
        for (const auto& [seq, n] : pushed_) {
            auto a = acks_.find(seq);
            answer << "acks seq " << seq << " " << (a == acks_.end() ? 0u : a->second) << "/" << n << "\n";
        }
        if (bad_acks_) answer << "acks rejected " << bad_acks_ << "\n";
        return answer.str();
    }
    if (members_.empty()) return "error: no registered member\n";
    if (cmd == "rekey" || cmd == "rekey-kek" || cmd == "rekey-kek-lost")
        return rekey(cmd != "rekey", cmd == "rekey-kek-lost", out, now);
    if (cmd == "rekey-replay") {
        if (last_push_.empty()) return "error: no push sent yet\n";
        send_push(last_push_, last_push_seq_, "replay", false, out, now);
        return "rekey-replay seq " + std::to_string(last_push_seq_) + "\n";
    }
    if (cmd == "rekey-forged" || cmd == "rekey-truncated" || cmd == "rekey-unknown-kek") {
        // A would-be next push (SEQ+1, fresh TEKs) that members must reject: the group's
        // state does not move.
        std::vector<gdoi::Tek> fresh = fresh_teks();
        std::vector<uint32_t> old_spis;
        for (const auto& t : group_.state.teks) old_spis.push_back(t.spi);
        const uint32_t seq = group_.state.sequence + 1;
        Bytes push;
        const char* kind = cmd.c_str() + 6;
        if (cmd == "rekey-unknown-kek") {
            if (!other_group_) {
                other_group_ = gcks::Group::make(
                    group_.state.group_id, group_.state.teks,
                    static_cast<gdoi::crypto::SigAlgorithm>(group_.state.kek->sig_algorithm));
            }
            push = gcks::build_push(*other_group_, seq, fresh, old_spis);
            record_plaintext(*other_group_, push);
        } else {
            push = gcks::build_push(
                group_, seq, fresh, old_spis,
                cmd == "rekey-forged" ? gcks::PushFlaw::BadSignature : gcks::PushFlaw::Truncated);
            record_plaintext(group_, push);
        }
        send_push(push, seq, kind, false, out, now);
        return cmd + " seq " + std::to_string(seq) + "\n";
    }
    return "error: unknown command '" + cmd +
           "' (rekey, rekey-kek, rekey-kek-lost, rekey-replay, rekey-forged, rekey-truncated, "
           "rekey-unknown-kek, "
           "status)\n";
}

std::vector<gdoi::Tek> GroupServer::fresh_teks() const {
    // A fresh TEK per current TEK: same policy, new SPI and keys.
    std::vector<uint32_t> taken;
    for (const auto& t : group_.state.teks) taken.push_back(t.spi);
    std::vector<gdoi::Tek> fresh;
    for (const auto& t : group_.state.teks) {
        gdoi::Tek n = t;
        n.spi = fresh_spi(taken);
        taken.push_back(n.spi);
        gcks::Group::key_tek(n);
        fresh.push_back(std::move(n));
    }
    return fresh;
}

std::string GroupServer::rekey(bool new_kek, bool lost, std::vector<Outgoing>& out, Clock::time_point now) {
    std::vector<uint32_t> old_spis;
    for (const auto& t : group_.state.teks) old_spis.push_back(t.spi);
    std::vector<gdoi::Tek> fresh = fresh_teks();
    std::optional<gdoi::Kek> kek;
    if (new_kek) kek = gcks::next_kek(group_);
    const uint32_t seq = group_.state.sequence + 1;
    const std::vector<uint32_t> deleted = config_.delete_old_teks ? old_spis : std::vector<uint32_t>{};
    Bytes push = gcks::build_push(group_, seq, fresh, deleted, gcks::PushFlaw::None, kek ? &*kek : nullptr);
    std::ostringstream answer;
    answer << (new_kek ? (lost ? "rekey-kek-lost" : "rekey-kek") : "rekey") << " seq " << seq;
    if (kek) answer << " kek " << gdoi::to_hex(kek->spi);
    if (!lost) {
        last_push_ = push;
        last_push_seq_ = seq;
        record_plaintext(group_, push);
        send_push(push, seq, new_kek ? "rekey-kek" : "rekey", group_.state.kek->ack_requested, out, now);
    } else {
        event("push lost (rekey-kek-lost) seq " + std::to_string(seq) + ": sent to nobody");
    }
    if (kek) {
        previous_kek_ = group_.state.kek;
        group_.state.kek = std::move(kek);
    }
    group_.state.teks = std::move(fresh);
    group_.state.sequence = seq;
    answer << " teks";
    for (const auto& t : group_.state.teks) answer << " " << common::hex_spi(t.spi);
    answer << " deleted";
    for (uint32_t s : deleted) answer << " " << common::hex_spi(s);
    answer << "\n";
    return answer.str();
}

void GroupServer::on_timer(Clock::time_point now, std::vector<Outgoing>& out) {
    if (!members_.empty()) {
        // Periodic rekeys (field habit): the first one a period after a member registered.
        auto periodic = [&](std::optional<Clock::time_point>& next, std::chrono::seconds every, bool kek) {
            if (every.count() == 0) return;
            if (!next) next = now + every;
            if (now < *next) return;
            next = now + every;
            std::string line = rekey(kek, false, out, now);
            line.pop_back();  // the answer's newline
            event("periodic " + std::string(kek ? "KEK rekey: " : "rekey: ") + line);
        };
        periodic(next_kek_rekey_, config_.kek_rekey_every, true);
        periodic(next_rekey_, config_.rekey_every, false);
    }
    for (auto it = pending_.begin(); it != pending_.end();) {
        auto& p = it->second;
        if (p.next > now) {
            ++it;
            continue;
        }
        auto m = std::find_if(members_.begin(), members_.end(),
                              [&](const Member& mm) { return mm.address.to_string() == it->first; });
        if (m == members_.end()) {
            it = pending_.erase(it);
            continue;
        }
        if (p.retransmits >= config_.ack_retransmits) {
            event("ack missing from " + it->first + " seq " + std::to_string(p.sequence) + " after " +
                  std::to_string(p.retransmits) + " retransmission(s)");
            it = pending_.erase(it);
            continue;
        }
        ++p.retransmits;
        p.next = now + config_.ack_period;
        out.push_back({m->address, p.datagram});
        event("push retransmitted seq " + std::to_string(p.sequence) + " to " + it->first + " (" +
              std::to_string(p.retransmits) + "/" + std::to_string(config_.ack_retransmits) + ")");
        ++it;
    }
}

Clock::time_point GroupServer::next_deadline() const {
    auto d = Clock::time_point::max();
    for (const auto& [addr, p] : pending_) d = std::min(d, p.next);
    for (const auto& t : {next_rekey_, next_kek_rekey_})
        if (t) d = std::min(d, *t);
    if (!members_.empty() && ((config_.rekey_every.count() && !next_rekey_) ||
                              (config_.kek_rekey_every.count() && !next_kek_rekey_)))
        d = Clock::time_point{};  // due: on_timer schedules the first periodic rekey
    return d;
}

// --- pcap --------------------------------------------------------------------------

namespace {

void put16(Bytes& b, uint16_t v) {
    b.push_back(static_cast<uint8_t>(v >> 8));
    b.push_back(static_cast<uint8_t>(v));
}
// pcap's own headers are in the writer's byte order (the magic tells the reader which).
void le32(std::ofstream& o, uint32_t v) {
    uint8_t b[4] = {static_cast<uint8_t>(v), static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v >> 16),
                    static_cast<uint8_t>(v >> 24)};
    o.write(reinterpret_cast<const char*>(b), 4);
}
void le16(std::ofstream& o, uint16_t v) {
    uint8_t b[2] = {static_cast<uint8_t>(v), static_cast<uint8_t>(v >> 8)};
    o.write(reinterpret_cast<const char*>(b), 2);
}

}  // namespace

PcapWriter::PcapWriter(const std::string& path) : path_(path) {
    const mode_t old = umask(077);
    std::ofstream o(path, std::ios::binary | std::ios::trunc);
    umask(old);
    if (!o) return;
    le32(o, 0xa1b2c3d4);  // microsecond timestamps
    le16(o, 2);
    le16(o, 4);
    le32(o, 0);      // thiszone
    le32(o, 0);      // sigfigs
    le32(o, 65535);  // snaplen
    le32(o, 101);    // LINKTYPE_RAW
    ok_ = static_cast<bool>(o);
}

namespace {

// The ones'-complement sum of RFC 1071 over `data`, added to `sum`.
uint32_t add_words(uint32_t sum, const uint8_t* data, size_t n) {
    for (size_t i = 0; i + 1 < n; i += 2) sum += (uint32_t{data[i]} << 8) | data[i + 1];
    if (n % 2) sum += uint32_t{data[n - 1]} << 8;
    return sum;
}
uint16_t fold(uint32_t sum) {
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(~sum);
}

}  // namespace

void PcapWriter::write_udp(const gdoi::Endpoint& from, const gdoi::Endpoint& to, ByteView payload) {
    if (!ok_ || from.family() != to.family()) return;
    const auto src = from.address(), dst = to.address();
    const bool v6 = from.family() == AF_INET6;
    const size_t alen = v6 ? 16 : 4;
    const size_t udp_len = 8 + payload.size();
    if (udp_len + (v6 ? 0 : 20) > 65535) return;
    Bytes pkt;
    if (v6) {  // RFC 8200 §3: version 6, no traffic class or flow label
        put16(pkt, 0x6000);
        put16(pkt, 0);
        put16(pkt, static_cast<uint16_t>(udp_len));  // payload length
        pkt.push_back(17);                           // next header: UDP
        pkt.push_back(64);                           // hop limit
    } else {
        pkt.push_back(0x45);
        pkt.push_back(0);
        put16(pkt, static_cast<uint16_t>(20 + udp_len));
        put16(pkt, ip_id_++);
        put16(pkt, 0x4000);  // DF
        pkt.push_back(64);
        pkt.push_back(17);
        put16(pkt, 0);  // checksum, below
    }
    pkt.insert(pkt.end(), src.bytes.begin(), src.bytes.begin() + static_cast<std::ptrdiff_t>(alen));
    pkt.insert(pkt.end(), dst.bytes.begin(), dst.bytes.begin() + static_cast<std::ptrdiff_t>(alen));
    if (!v6) {
        const uint16_t csum = fold(add_words(0, pkt.data(), 20));
        pkt[10] = static_cast<uint8_t>(csum >> 8);
        pkt[11] = static_cast<uint8_t>(csum);
    }
    const size_t udp_at = pkt.size();
    put16(pkt, from.port());
    put16(pkt, to.port());
    put16(pkt, static_cast<uint16_t>(udp_len));
    put16(pkt, 0);  // checksum: none over IPv4; mandatory over IPv6 (RFC 8200 §8.1), below
    pkt.insert(pkt.end(), payload.begin(), payload.end());
    if (v6) {
        // Pseudo-header: source, destination, upper-layer length, next header (RFC 8200 §8.1).
        uint32_t sum = add_words(0, pkt.data() + 8, 32);
        sum += static_cast<uint32_t>(udp_len >> 16) + static_cast<uint32_t>(udp_len & 0xffff) + 17;
        sum = add_words(sum, pkt.data() + udp_at, udp_len);
        uint16_t csum = fold(sum);
        if (csum == 0) csum = 0xffff;  // 0 would mean "no checksum"
        pkt[udp_at + 6] = static_cast<uint8_t>(csum >> 8);
        pkt[udp_at + 7] = static_cast<uint8_t>(csum);
    }

    std::ofstream o(path_, std::ios::binary | std::ios::app);
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    le32(o, static_cast<uint32_t>(ts.tv_sec));
    le32(o, static_cast<uint32_t>(ts.tv_nsec / 1000));
    le32(o, static_cast<uint32_t>(pkt.size()));
    le32(o, static_cast<uint32_t>(pkt.size()));
    o.write(reinterpret_cast<const char*>(pkt.data()), static_cast<std::streamsize>(pkt.size()));
}

}  // namespace keyserver
