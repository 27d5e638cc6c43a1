// Xfrm / XfrmBatch: every operation is a batch through NetlinkSocket::transact.
#include <linux/netlink.h>

#include <cerrno>
#include <chrono>
#include <thread>

#include "xfrm/xfrm.h"
#include "xfrm_messages.h"

namespace xfrm {

common::Status XfrmBatch::add_sa(const SaSpec& sa) { return detail::build_sa(buffer_, sa, owner_, false); }
common::Status XfrmBatch::update_sa(const SaSpec& sa) { return detail::build_sa(buffer_, sa, owner_, true); }
void XfrmBatch::delete_sa(const SaId& id) { detail::build_sa_id(buffer_, id, false); }
void XfrmBatch::set_outbound_seq(const SaId& id, uint32_t seq) { detail::build_set_outbound_seq(buffer_, id, seq); }
common::Status XfrmBatch::add_policy(const PolicySpec& p) { return detail::build_policy(buffer_, p, owner_, false); }
common::Status XfrmBatch::update_policy(const PolicySpec& p) { return detail::build_policy(buffer_, p, owner_, true); }
void XfrmBatch::delete_policy(const PolicyId& id) { detail::build_delete_policy(buffer_, id, owner_); }

common::Result<Xfrm> Xfrm::open(uint32_t owner) {
    auto sock = NetlinkSocket::open(NETLINK_XFRM);
    if (!sock) return sock.error();
    return Xfrm(std::move(sock).value(), owner);
}

common::Status Xfrm::apply(XfrmBatch& batch) {
    if (batch.empty()) return {};
    auto status = socket_.transact(batch.buffer());
    batch.buffer().clear();
    return status;
}

namespace {
template <typename Build>
common::Status one(Xfrm& x, Build&& build) {
    XfrmBatch b = x.batch();
    if (auto s = build(b); !s) return s;
    return x.apply(b);
}
}  // namespace

// The first SA with an algorithm makes the kernel load and self-test its crypto
// modules. On 6.1, a lookup that meets an algorithm whose self-test is still
// running fails (crypto_larval_wait: -EAGAIN, which xfrm's crypto_has_alg probe
// reports as "Requested CRYPT algorithm not found", ENOSYS); the next lookup
// finds it. Seen with cbc(des3_ede) in the test VM. A single-SA request is safe
// to repeat (a failed add left nothing behind), so it is retried a few times.
// Batches are not retried (their other requests already took effect): put the
// first SA of a new algorithm in a request of its own, as GroupDataplane does.
namespace {
constexpr int kCryptoRetries = 3;
constexpr auto kCryptoRetryDelay = std::chrono::milliseconds(250);

template <typename Attempt>
common::Status retrying_crypto_lookup(Attempt&& attempt) {
    for (int retry = 0;; ++retry) {
        common::Status s = attempt();
        if (s || s.error().code != ENOSYS || retry == kCryptoRetries) return s;
        std::this_thread::sleep_for(kCryptoRetryDelay);
    }
}
}  // namespace

common::Status Xfrm::add_sa(const SaSpec& sa) {
    return retrying_crypto_lookup([&] { return one(*this, [&](XfrmBatch& b) { return b.add_sa(sa); }); });
}
common::Status Xfrm::update_sa(const SaSpec& sa) {
    return retrying_crypto_lookup([&] { return one(*this, [&](XfrmBatch& b) { return b.update_sa(sa); }); });
}
common::Status Xfrm::delete_sa(const SaId& id) {
    return one(*this, [&](XfrmBatch& b) { b.delete_sa(id); return common::Status{}; });
}
common::Status Xfrm::add_policy(const PolicySpec& p) {
    return one(*this, [&](XfrmBatch& b) { return b.add_policy(p); });
}
common::Status Xfrm::update_policy(const PolicySpec& p) {
    return one(*this, [&](XfrmBatch& b) { return b.update_policy(p); });
}
common::Status Xfrm::delete_policy(const PolicyId& id) {
    return one(*this, [&](XfrmBatch& b) { b.delete_policy(id); return common::Status{}; });
}

common::Result<SaState> Xfrm::get_sa(const SaId& id) {
    MessageBuffer request;
    detail::build_sa_id(request, id, true);
    std::optional<SaState> found;
    auto status = socket_.transact(request, [&](std::span<const uint8_t> msg) -> common::Status {
        found = detail::parse_sa(msg);
        return {};
    });
    if (!status) return status.error();
    if (!found) return common::make_error(request.requests().front().what + ": no SA in the kernel's reply", EPROTO);
    return *found;
}

common::Status Xfrm::set_outbound_seq(const SaId& id, uint32_t seq) {
    XfrmBatch b = batch();
    b.set_outbound_seq(id, seq);
    return apply(b);
}

namespace {
// A dump interrupted by a concurrent change (NLM_F_DUMP_INTR) is retried.
constexpr int kDumpAttempts = 3;
}

common::Result<std::vector<SaState>> Xfrm::dump_sas() {
    for (int attempt = 1;; ++attempt) {
        std::vector<SaState> own;
        MessageBuffer request;
        detail::build_sa_dump(request);
        auto status = socket_.dump(request, [&](std::span<const uint8_t> msg) -> common::Status {
            if (auto sa = detail::parse_sa(msg); sa && sa->owner == owner_) own.push_back(*sa);
            return {};
        });
        if (status) return own;
        if (status.error().code != EINTR || attempt == kDumpAttempts) return status.error();
    }
}

common::Result<std::vector<PolicyState>> Xfrm::dump_policies() {
    for (int attempt = 1;; ++attempt) {
        std::vector<PolicyState> own;
        MessageBuffer request;
        detail::build_policy_dump(request);
        auto status = socket_.dump(request, [&](std::span<const uint8_t> msg) -> common::Status {
            if (auto p = detail::parse_policy(msg); p && p->owner == owner_) own.push_back(*p);
            return {};
        });
        if (status) return own;
        if (status.error().code != EINTR || attempt == kDumpAttempts) return status.error();
    }
}

common::Status Xfrm::flush_own() {
    auto policies = dump_policies();
    if (!policies) return policies.error();
    auto sas = dump_sas();
    if (!sas) return sas.error();
    // Policies first: once they are gone nothing selects the SAs, so removing
    // the SAs cannot make a policy drop traffic it was encrypting a moment ago.
    XfrmBatch b = batch();
    for (const auto& p : *policies) b.delete_policy(p.id());
    for (const auto& sa : *sas) b.delete_sa({sa.dst, sa.spi, sa.mark});
    return apply(b);
}

}  // namespace xfrm
