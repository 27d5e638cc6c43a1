// An ESP security association as XFRM stores it (struct xfrm_usersa_info plus
// algorithm and mark attributes), and what the kernel reports back about one.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "xfrm/address.h"
#include "xfrm/algorithm.h"

namespace xfrm {

enum class Mode : uint8_t { transport = 0, tunnel = 1 };  // XFRM_MODE_TRANSPORT / _TUNNEL

// A limit of 0 means "no limit" (the kernel's XFRM_INF).
struct Lifetime {
    uint64_t seconds = 0;  // since the SA was added (add_expires_seconds)
    uint64_t bytes = 0;
    uint64_t packets = 0;
    bool operator==(const Lifetime&) const = default;
};

// XFRMA_MARK: the SA/policy only applies to packets with (mark & mask) == value.
struct Mark {
    uint32_t value = 0;
    uint32_t mask = 0;
    bool operator==(const Mark&) const = default;
};

// The kernel identifies an SA by (destination, SPI, protocol); ESP only here.
struct SaId {
    Address dst;
    uint32_t spi = 0;  // host order
    std::optional<Mark> mark;
};

struct SaSpec {
    Address src;
    Address dst;
    uint32_t spi = 0;  // host order
    Mode mode = Mode::tunnel;
    uint32_t reqid = 0;
    EspTransform transform;
    // Keys are borrowed: the caller owns (and wipes) them; xfrm copies them only
    // into its netlink buffers, which it wipes. GCM: AES key followed by the
    // 4-byte salt (RFC 4106 §8.1). Empty integrity_key for AEAD.
    std::span<const uint8_t> encryption_key;
    std::span<const uint8_t> integrity_key;
    // 0 for group SAs: every sender counts from 1 on the same SPI.
    uint32_t replay_window = 0;
    // The sequence number the SA starts from (XFRMA_REPLAY_VAL in NEWSA): its first packet carries
    // outbound_seq + 1. 0: the kernel's default (first packet 1). Time-based anti-replay starts an
    // outbound SA at the current pseudotime (member/dataplane/anti_replay.h).
    uint32_t outbound_seq = 0;
    Lifetime soft;
    Lifetime hard;
    std::optional<Mark> mark;

    SaId id() const { return {dst, spi, mark}; }
};

// What a dump or get reports (no keys are kept).
struct SaState {
    Address src;
    Address dst;
    uint32_t spi = 0;
    Mode mode = Mode::tunnel;
    uint32_t reqid = 0;
    uint32_t owner = 0;                     // xfrm_selector.user: the tag (see xfrm.h)
    std::optional<EspTransform> transform;  // nullopt for algorithms outside the table
    uint32_t replay_window = 0;
    Lifetime soft;
    Lifetime hard;
    std::optional<Mark> mark;
    // Counters (xfrm_lifetime_cur, xfrm_stats).
    uint64_t bytes = 0;
    uint64_t packets = 0;
    uint64_t add_time = 0;  // seconds since the epoch
    uint64_t use_time = 0;  // 0 until the first packet
    uint32_t replay_errors = 0;
    uint32_t integrity_failures = 0;
    // The replay state (XFRMA_REPLAY_VAL, struct xfrm_replay_state): the last ESP sequence number
    // this SA sent (outbound) and the highest it received (inbound). 0 before the first packet.
    uint32_t outbound_seq = 0;
    uint32_t inbound_seq = 0;
};

}  // namespace xfrm
