// Test key server, part 2: the GDOI side of gdoi-test-keyserver for one group. Under the
// phase-1 SAs of keyserver::Phase1Responder it answers GROUPKEY-PULL (a gcks::PullResponder
// per SA), remembers every member that completed a pull (its phase-1 SA and address), and
// on demand sends GROUPKEY-PUSH messages unicast to each of them (or, with
// GroupServerConfig::multicast, once to the KEK's multicast DST ID, RFC 6407 §4, §5.3) — good ones (a fresh TEK
// per configured TEK: new SPI, SEQ+1, Delete of the old SPI) and deliberately bad ones
// (replayed, forged signature, truncated, under another group's KEK). With KEK_ACK_REQUESTED
// it waits for the RFC 8263 ACKs, retransmits, and verifies them with gdoi::verify_push_ack.
//
// Sans-IO like the phase-1 responder: the caller moves datagrams and time; every event is
// reported as one log line through `events` (registered member, push sent, ack received).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gcks.h"
#include "phase1_responder.h"

namespace keyserver {

struct GroupServerConfig {
    std::chrono::milliseconds ack_period{10000};     // RFC 8263 retransmission period (seed: 10 s)
    unsigned ack_retransmits = 2;                    // retransmissions before giving up (seed: 2)
    std::function<void(const std::string&)> events;  // one line per event (stdout in main)
    // Pushes go once to this multicast group (the SA KEK's DST ID) instead of unicast to
    // each member; ACKs are still awaited per member, retransmissions go unicast.
    std::optional<gdoi::Endpoint> multicast;
    // Plaintext of every push sent (header with the E flag cleared + payloads), with the
    // member it went to: for a pcap tshark can decode without the KEK.
    std::function<void(const gdoi::Endpoint& to, ByteView plaintext)> push_plaintext;
    // Plaintext of every GROUPKEY-PULL message, both directions (to_member: our answer),
    // decrypted again with the phase-1 keys: tshark cannot decrypt the pull when the
    // phase-1 SA payload said DOI 2 (see README).
    std::function<void(const gdoi::Endpoint& member, bool to_member, ByteView plaintext)> pull_plaintext;
    // Field habits: rekeys without Delete of the old TEKs; periodic TEK rekeys and
    // KEK rekeys (0: only on command) once a member registered.
    bool delete_old_teks = true;
    std::chrono::seconds rekey_every{0};
    std::chrono::seconds kek_rekey_every{0};
};

struct Outgoing {
    gdoi::Endpoint to;
    Bytes datagram;
};

class GroupServer {
public:
    GroupServer(gcks::Group group, GroupServerConfig config);

    // A GDOI datagram of an established phase-1 SA (ResponderStep::Event::Phase2).
    std::optional<Bytes> on_phase2(const ResponderSa& sa, ByteView datagram, const gdoi::Endpoint& from);
    // Whether a datagram is an RFC 8263 ACK for this group (its cookies = the KEK SPI).
    bool is_ack(ByteView datagram) const;
    void on_ack(ByteView datagram, const gdoi::Endpoint& from);

    // Control commands: rekey, rekey-kek (a new KEK and TEKs, pushed under the current KEK),
    // rekey-kek-lost (the same, but the push is lost on the way: sent to nobody),
    // rekey-replay, rekey-forged, rekey-truncated, rekey-unknown-kek, status. Returns the
    // answer text; sends through `out`.
    std::string command(const std::string& cmd, std::vector<Outgoing>& out, Clock::time_point now);

    void on_timer(Clock::time_point now, std::vector<Outgoing>& out);
    Clock::time_point next_deadline() const;

    const gcks::Group& group() const { return group_; }

private:
    struct Member {
        gdoi::Endpoint address;
        gdoi::Phase1Sa registration;
    };
    struct PendingAck {
        Bytes datagram;
        uint32_t sequence = 0;
        unsigned retransmits = 0;
        Clock::time_point next{};
    };
    std::string rekey(bool new_kek, bool lost, std::vector<Outgoing>& out, Clock::time_point now);
    std::vector<gdoi::Tek> fresh_teks() const;
    const gdoi::Kek* kek_of(ByteView datagram) const;  // the current or previous KEK its cookies name
    void send_push(const Bytes& push, uint32_t seq, const char* kind, bool expect_ack,
                   std::vector<Outgoing>& out, Clock::time_point now);
    void record_plaintext(const gcks::Group& under, const Bytes& push);
    void trace_pull(const ResponderSa& sa, ByteView datagram, bool to_member, const gdoi::Endpoint& member);
    void event(const std::string& line) const;

    gcks::Group group_;
    GroupServerConfig config_;
    std::map<gdoi::isakmp::Cookie, std::unique_ptr<gcks::PullResponder>> pulls_;
    std::map<gdoi::isakmp::Cookie, uint32_t> pull_message_ids_;  // the exchange each serves
    struct PullTrace {  // the pull's CBC chain, followed independently of PullResponder
        uint32_t message_id = 0;
        Bytes iv;
        std::vector<Bytes> seen;  // retransmissions are not decrypted twice
    };
    std::map<gdoi::isakmp::Cookie, PullTrace> pull_traces_;
    std::vector<Member> members_;                // by address; a re-registration replaces
    std::map<std::string, PendingAck> pending_;  // by member address string
    std::map<uint32_t, unsigned> acks_;          // verified ACKs per SEQ
    std::map<uint32_t, unsigned> pushed_;        // members a good push went to, per SEQ
    unsigned bad_acks_ = 0;
    Bytes last_push_;
    uint32_t last_push_seq_ = 0;
    std::optional<gcks::Group> other_group_;  // for rekey-unknown-kek
    std::optional<gdoi::Kek> previous_kek_;   // after a KEK rekey: ACKs for that push come under it
    std::optional<Clock::time_point> next_rekey_, next_kek_rekey_;
};

// Minimal pcap writer (linktype RAW = 101: IPv4 packets without a link header) for
// decrypted messages; IPv4 and UDP headers are built here.
class PcapWriter {
public:
    explicit PcapWriter(const std::string& path);
    bool ok() const { return ok_; }
    void write_udp(const gdoi::Endpoint& from, const gdoi::Endpoint& to, ByteView payload);

private:
    std::string path_;
    bool ok_ = false;
    uint16_t ip_id_ = 1;
};

}  // namespace keyserver
