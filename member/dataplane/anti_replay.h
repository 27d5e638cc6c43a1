// Time-based anti-replay for group SAs (anti-replay-time-window; ARCHITECTURE.md "Anti-replay").
//
// Many members send under one group SPI, so the kernel's per-SA replay window cannot be used
// (each sender counts on its own; the window is 0). Instead every member with the window on keeps
// its outbound SA's ESP sequence number at or above a *pseudotime* derived from the wall clock
// (NTP-synchronised on all members, as Junos and IOS require for their time-based anti-replay):
//
//     pseudotime(t) = (t mod 4096 s) · 2^20        (t: whole seconds of the Unix epoch)
//
// so a packet's sequence number tells, to the second, when it was sent. The sequence number is
// covered by the ICV and readable before decryption (RFC 4303 §2.2), so a receiver drops in
// nftables, before decryption, every packet of a group SPI whose number is outside the seconds
// [now − window, now + window]; a replay is accepted for at most `window` seconds after capture.
//
// The budget of the 32 bits: 2^20 sequence numbers per second and sender (1,048,576 packets/s,
// far above what one SA encrypts on a router CPU), 2^12 seconds (68 min 16 s) before the
// pseudotime wraps; the accepted seconds never span more than 2·360 + 1 of the 4096 seconds (config.h bounds
// the window), so "outside the window" is always well defined across the wrap (then two ranges).
//
// The sender (correction()): the kernel counts +1 per packet; once a second the member reads the
// counter and sets it to pseudotime(now) when it is behind by half a second or more, or ahead by
// more than half the window (a sender above 2^20 packets/s, a clock stepped back, the wrap).
// Setting it can move it down, which repeats sequence numbers: harmless for AES-CBC + HMAC (the
// number is not a nonce there and receivers keep no per-SA window) but fatal for AES-GCM, whose
// nonce is the sequence number (RFC 4106 §3), and the kernel offers no compare-and-set between
// the read and the write. GCM TEKs are therefore refused with anti-replay on.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "policy/selector.h"

namespace member::anti_replay {

inline constexpr unsigned kSequenceBitsPerSecond = 20;
inline constexpr std::uint32_t kSequencesPerSecond = 1u << kSequenceBitsPerSecond;
inline constexpr std::int64_t kPeriodSeconds = std::int64_t{1} << (32 - kSequenceBitsPerSecond);  // 4096

// The wall clock (CLOCK_REALTIME) in whole seconds since the Unix epoch.
std::int64_t unix_seconds_now();

// The first sequence number of second `unix_seconds`.
std::uint32_t pseudotime(std::int64_t unix_seconds);

// The sequence numbers a receiver accepts at `unix_seconds`: every number sent in the seconds
// [now − window, now + window] (1 range, or 2 across the wrap, ascending by first).
std::vector<policy::SequenceRange> accepted(std::int64_t unix_seconds, std::uint32_t window);

// The value to set an outbound SA's counter to (the last number it sent), or nullopt to leave it.
std::optional<std::uint32_t> correction(std::uint32_t counter, std::int64_t unix_seconds,
                                        std::uint32_t window);

// Which second (0..4095 of the period) a sequence number was stamped in, and how many seconds
// it is off `unix_seconds` (negative: older), in −2048..2047: for log messages.
std::int64_t age_seconds(std::uint32_t sequence, std::int64_t unix_seconds);

}  // namespace member::anti_replay
