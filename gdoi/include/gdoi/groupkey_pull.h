// GROUPKEY-PULL initiator (RFC 6407 §3.2), under a phase-1 SA:
//   HDR*, HASH(1), Ni, ID  -->   <-- HDR*, HASH(2), Nr, SA
//   HDR*, HASH(3) [,GAP]   -->   <-- HDR*, HASH(4), [SEQ,] KD
// HASH(1) = prf(SKEYID_a, M-ID | Ni | ID)
// HASH(2) = prf(SKEYID_a, M-ID | Ni_b | Nr | SA)
// HASH(3) = prf(SKEYID_a, M-ID | Ni_b | Nr_b [| GAP])
// HASH(4) = prf(SKEYID_a, M-ID | Ni_b | Nr_b [| SEQ] | KD)
// (X_b = payload body; otherwise whole payloads with their generic headers.)
#pragma once

#include <functional>
#include <string>

#include "gdoi/group_state.h"
#include "gdoi/ike_keys.h"
#include "gdoi/phase1.h"

namespace gdoi {

// Builds an encrypted-message payload chain "HASH, rest..." where
// HASH = prf(SKEYID_a, M-ID | prefix... | rest) (RFC 2409 §5.5 style, RFC 6407 §3.2).
Bytes hash_first_chain(const IkeSaKeys& keys, uint32_t message_id, std::initializer_list<ByteView> prefix,
                       const isakmp::MessageBuilder& rest, isakmp::PayloadType& first);
// Checks that a decrypted chain starts with a HASH over M-ID | prefix... | following payloads.
// plaintext is the decrypted buffer the payload views point into.
bool verify_hash_first_chain(const IkeSaKeys& keys, uint32_t message_id,
                             std::initializer_list<ByteView> prefix,
                             const std::vector<isakmp::RawPayload>& chain);

struct PullConfig {
    uint32_t group_id = 0;
    RetransmitPolicy retransmit;
    // Local policy check on the key server's offer, before HASH(3) commits us (RFC 6407
    // §3.2.1); return an empty string to accept, else the reason for refusing.
    std::function<std::string(const Tek&)> accept_tek;
    std::function<std::string(const Kek&)> accept_kek;
    std::string peer_name;
    LogSink log;
};

class GroupkeyPullInitiator {
public:
    GroupkeyPullInitiator(const Phase1Sa& phase1, PullConfig config);

    ExchangeStep start(Clock::time_point now);
    ExchangeStep on_datagram(ByteView datagram, Clock::time_point now);
    ExchangeStep on_timer(Clock::time_point now);
    Clock::time_point next_deadline() const { return retransmit_.deadline(); }

    bool established() const { return state_ == State::Done; }
    bool failed() const { return state_ == State::Failed; }
    bool finished() const { return established() || failed(); }
    const std::string& failure_message() const { return failure_message_; }
    // The registration's result (valid once established()).
    const GroupState& group_state() const { return group_; }
    GroupState take_group_state() { return std::move(group_); }

private:
    enum class State { Idle, WaitSa, WaitKd, Done, Failed };
    ExchangeStep fail(std::string message);
    ExchangeStep on_message2(const std::vector<isakmp::RawPayload>& chain, ByteView next_iv,
                             Clock::time_point now);
    ExchangeStep on_message4(const std::vector<isakmp::RawPayload>& chain);
    isakmp::Header header() const;
    void log(LogLevel level, const std::string& line) const;

    Phase1Sa phase1_;
    PullConfig config_;
    State state_ = State::Idle;
    std::string failure_message_;
    Retransmitter retransmit_;
    uint32_t message_id_ = 0;
    Bytes iv_;
    Bytes nonce_i_;
    Bytes nonce_r_;
    GroupState group_;
};

// Which SPI a KD's KEK key packet named (RFC 6407 §5.6; tests/gcks/field_habits_test.cpp).
enum class KdKekSpi {
    None,        // no KEK key packet
    SaKek,       // the SA KEK's (new) SPI: RFC 6407 §5.6
    Protecting,  // the SPI of the KEK that protected this push (deployed key servers do this on a KEK rekey)
};

// Applies the key packets of a KD payload to the policies in state (TEKs by SPI,
// the KEK by its 16-octet SPI). Shared by pull and push. In a push, `protecting_kek_spi`
// is the SPI of the KEK the push came under: a KEK key packet naming it keys the SA KEK
// (state.kek) all the same; `matched` (if given) tells which SPI the packet named.
common::Status apply_key_download(ByteView kd_body, GroupState& state,
                                  const std::array<uint8_t, 16>* protecting_kek_spi = nullptr,
                                  KdKekSpi* matched = nullptr);

}  // namespace gdoi
