// The cheap first check of a GROUPKEY-PUSH: a datagram identical to one
// already processed under the same KEK and SEQ gets the same answer again — reject it after a
// hash lookup instead of an AES decryption and a signature verification. A flood of replays
// of a captured genuine push thus costs a SHA-256 per datagram, and a genuine rekey among
// them is not held up. Bounded: the last kCapacity digests.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "gdoi/bytes.h"

namespace member {

class PushReplayFilter {
public:
    static constexpr std::size_t kCapacity = 64;

    // `kek_spi` and `sequence`: the group's state the answer was computed against; a new KEK or
    // SEQ (a rekey, a registration) forgets every digest.
    bool seen(gdoi::ByteView kek_spi, uint32_t sequence, gdoi::ByteView datagram);
    void remember(gdoi::ByteView kek_spi, uint32_t sequence, gdoi::ByteView datagram);

private:
    using Digest = std::array<uint8_t, 32>;
    static Digest digest_of(gdoi::ByteView datagram);
    void sync(gdoi::ByteView kek_spi, uint32_t sequence);

    std::array<uint8_t, 16> kek_spi_{};
    uint32_t sequence_ = 0;
    std::array<Digest, kCapacity> digests_{};
    std::size_t count_ = 0;  // valid entries, at most kCapacity
    std::size_t next_ = 0;   // ring position of the next insert
};

}  // namespace member
