#include "session/push_replay_filter.h"

#include <algorithm>

#include "gdoi/crypto.h"

namespace member {

PushReplayFilter::Digest PushReplayFilter::digest_of(gdoi::ByteView datagram) {
    const auto h = gdoi::crypto::hash(gdoi::crypto::HashAlg::Sha256, {datagram});
    Digest d{};
    std::copy_n(h.begin(), std::min(h.size(), d.size()), d.begin());
    return d;
}

void PushReplayFilter::sync(gdoi::ByteView kek_spi, uint32_t sequence) {
    const bool same_kek =
        kek_spi.size() == kek_spi_.size() && std::equal(kek_spi.begin(), kek_spi.end(), kek_spi_.begin());
    if (same_kek && sequence == sequence_) return;
    std::fill(kek_spi_.begin(), kek_spi_.end(), 0);
    std::copy_n(kek_spi.begin(), std::min(kek_spi.size(), kek_spi_.size()), kek_spi_.begin());
    sequence_ = sequence;
    count_ = 0;
    next_ = 0;
}

bool PushReplayFilter::seen(gdoi::ByteView kek_spi, uint32_t sequence, gdoi::ByteView datagram) {
    sync(kek_spi, sequence);
    if (count_ == 0) return false;
    const Digest d = digest_of(datagram);
    return std::find(digests_.begin(), digests_.begin() + static_cast<std::ptrdiff_t>(count_), d) !=
           digests_.begin() + static_cast<std::ptrdiff_t>(count_);
}

void PushReplayFilter::remember(gdoi::ByteView kek_spi, uint32_t sequence, gdoi::ByteView datagram) {
    sync(kek_spi, sequence);
    digests_[next_] = digest_of(datagram);
    next_ = (next_ + 1) % kCapacity;
    count_ = std::min(count_ + 1, kCapacity);
}

}  // namespace member
