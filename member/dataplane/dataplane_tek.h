// TEK -> kernel SA: which TEKs the member can install (accept_tek, given to the pull
// exchange), their ESP transform from xfrm's algorithm table, and their lifetimes,
// including the packet limit on AES-GCM SAs ("TEK algorithm safety").
#pragma once

#include <cstdint>
#include <string>

#include "common/result.h"
#include "config/config.h"
#include "gdoi/group_state.h"
#include "xfrm/algorithm.h"
#include "xfrm/dataplane.h"
#include "xfrm/sa.h"

namespace member {

// ---- GCM packet limit ----------------------------------------------------------------
// Linux builds the 8-byte ESP IV of an rfc4106(gcm(aes)) SA with seqiv: IV = seq XOR s,
// where s is a random 64-bit salt drawn when the SA is created and seq is the SA's 64-bit
// sequence number (1, 2, 3, ...; the upper half is 0 without ESN). The GCM nonce is the
// TEK's 4-byte salt (shared by the group) followed by that IV. Every member sending under
// the TEK has its own outbound SA, so its own s; sender a's packet j and sender b's packet k
// use the same nonce iff  s_a XOR s_b = j XOR k.
//   If every sender stops before packet 2^m (p <= 2^m - 1 packets), j XOR k < 2^m: at most
//   2^m values, so for one pair P(collision) <= 2^m / 2^64 (s_a XOR s_b is uniform).
//   Union bound over the n(n-1)/2 pairs of n senders:
//       P <= n(n-1)/2 * 2^m * 2^-64,   and P < 2^-32  <=>  n(n-1) * 2^m < 2^33.
// The packet limit is p = 2^m - 1 for the largest such m. n counts sender SAs: a member
// that restarts and installs the TEK again draws a new s and counts again; n < 2 is taken
// as 2. Examples: n = 2 -> 2^31 - 1; n = 100 (default) -> 2^19 - 1 = 524,287;
// n = 1,000 -> 2^13 - 1 = 8,191; n = 65,536 -> 1; above that no packet fits (0: refuse).
// Within one SA seq never repeats, so one sender alone cannot collide.
// AES-CBC + HMAC TEKs have no such limit (random-looking IVs are not the issue: CBC is not
// broken by an IV repeat the way GCM's authentication is).
uint64_t gcm_packet_limit(uint32_t expected_senders);
// The soft limit: the kernel reports a soft expire at 3/4 of the hard limit, so the daemon
// can ask the key server for fresh keys before the SA stops sending.
uint64_t gcm_soft_packet_limit(uint64_t hard);

// The ESP transform of a TEK (IPsec DOI ids are xfrm's EspTransformId / AuthAlgorithmId).
// A missing Key Length for AES is taken from the key's size. Errors say what is unsupported.
common::Result<xfrm::EspTransform> tek_transform(const gdoi::Tek& tek);

// Whether the member can install this TEK: empty = acceptable, else the reason (logged and
// shown by the daemon, e.g. "AES-GCM TEKs are refused by allow-gcm = refuse"). Checks the
// transform against xfrm's table, key lengths, allow_gcm and the GCM packet budget for
// gcm_expected_senders, tunnel mode with address preservation, selectors of one address family.
std::string accept_tek(const gdoi::Tek& tek, const GroupConfig& group);

// The address family of an accepted TEK (its selectors'): which carrier it belongs to.
common::IpFamily tek_family(const gdoi::Tek& tek);

bool is_gcm(const xfrm::EspTransform& t);

// Lifetimes of the SAs of one TEK. Inbound: seconds only (an inbound group SA counts every
// sender's packets, so byte or packet limits there would cut receivers off early). Outbound:
// seconds, the TEK's kilobyte lifetime, and for GCM the packet limit above.
struct TekLifetimes {
    xfrm::Lifetime inbound_soft, inbound_hard;
    xfrm::Lifetime outbound_soft, outbound_hard;
};
TekLifetimes tek_lifetimes(const gdoi::Tek& tek, const xfrm::EspTransform& transform,
                           uint32_t expected_senders);

// "AES-256-CBC/HMAC-SHA-256", "AES-GCM-128" for gdoictl.
std::string transform_name(const xfrm::EspTransform& t);

}  // namespace member
