// The XFRM client: SAs and policies over NETLINK_XFRM.
//
// Ownership tag: every SA and policy installed through an Xfrm (or XfrmBatch)
// carries the client's owner tag in its selector's `user` field
// (struct xfrm_selector.user). The kernel stores and dumps that field but never
// matches packets on it (xfrm_selector_match() ignores it), so it marks objects
// without changing what they do — unlike a reqid (template-less block policies
// have none) or a mark (changes which packets match). dump_*() and flush_own()
// only see objects with this tag; other IPsec daemons' objects are never touched.
// The kernel compares whole selectors to identify a policy, so deletes must use
// the same tag (this client fills it in).
#pragma once

#include <cstdint>
#include <vector>

#include "common/result.h"
#include "xfrm/netlink.h"
#include "xfrm/policy.h"
#include "xfrm/sa.h"

namespace xfrm {

// "GDOI" in ASCII; an instance may choose another (e.g. one per group).
inline constexpr uint32_t kDefaultOwnerTag = 0x47444f49;

// Requests collected here go to the kernel in as few sendmsg calls as possible,
// in order (so "add new SA, then delete old SA" keeps that order).
class XfrmBatch {
public:
    explicit XfrmBatch(uint32_t owner) : owner_(owner) {}

    common::Status add_sa(const SaSpec& sa);                 // XFRM_MSG_NEWSA (fails if it exists)
    common::Status update_sa(const SaSpec& sa);              // XFRM_MSG_UPDSA (replaces lifetimes, mark...)
    void delete_sa(const SaId& id);                          // XFRM_MSG_DELSA
    void set_outbound_seq(const SaId& id, uint32_t seq);     // XFRM_MSG_NEWAE (see Xfrm::set_outbound_seq)
    common::Status add_policy(const PolicySpec& policy);     // XFRM_MSG_NEWPOLICY
    common::Status update_policy(const PolicySpec& policy);  // XFRM_MSG_UPDPOLICY (add or replace)
    void delete_policy(const PolicyId& id);                  // XFRM_MSG_DELPOLICY

    uint32_t owner() const { return owner_; }
    std::size_t count() const { return buffer_.count(); }
    bool empty() const { return buffer_.empty(); }
    std::span<const uint8_t> bytes() const { return buffer_.bytes(); }
    MessageBuffer& buffer() { return buffer_; }

private:
    uint32_t owner_;
    MessageBuffer buffer_;
};

class Xfrm {
public:
    static common::Result<Xfrm> open(uint32_t owner = kDefaultOwnerTag);

    uint32_t owner() const { return owner_; }
    XfrmBatch batch() const { return XfrmBatch(owner_); }
    // Sends the batch (every ACK checked) and empties it.
    common::Status apply(XfrmBatch& batch);

    // Retried a few times on ENOSYS: a kernel still self-testing a crypto module
    // it just loaded reports the algorithm missing (see xfrm_client.cpp).
    common::Status add_sa(const SaSpec& sa);
    common::Status update_sa(const SaSpec& sa);
    common::Status delete_sa(const SaId& id);
    // Current state and counters of one SA (any owner; see SaState::owner).
    common::Result<SaState> get_sa(const SaId& id);
    // Sets the last sequence number an outbound SA sent (XFRM_MSG_NEWAE): its next packet carries
    // seq + 1. The kernel takes any value, lower ones too: a caller must never move the counter
    // back (a sequence number used twice repeats the IV of GCM's seqiv, RFC 4106 §3) — read it
    // with get_sa() and stay above what the SA can have sent since.
    common::Status set_outbound_seq(const SaId& id, uint32_t seq);

    common::Status add_policy(const PolicySpec& policy);
    common::Status update_policy(const PolicySpec& policy);
    common::Status delete_policy(const PolicyId& id);

    // Own objects only (owner tag), for adoption after a restart and for counters.
    common::Result<std::vector<SaState>> dump_sas();
    common::Result<std::vector<PolicyState>> dump_policies();
    // Deletes every own SA and policy (one batch); others' objects stay.
    common::Status flush_own();

private:
    Xfrm(NetlinkSocket socket, uint32_t owner) : socket_(std::move(socket)), owner_(owner) {}
    NetlinkSocket socket_;
    uint32_t owner_;
};

}  // namespace xfrm
