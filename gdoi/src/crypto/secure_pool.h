// Small secrets share locked pages. sodium_malloc() gives every allocation its own mapping:
// a guard page each side and at least one locked page, so a 32-octet TEK key costs 4 KiB of
// locked memory and a dozen system calls. A group of 1,000 TEKs (two keys each) reached the
// default RLIMIT_MEMLOCK of 8 MiB that way. Here secrets up to kMaxPooledSize octets are
// carved from slabs, each one sodium_malloc() mapping (guarded, locked, excluded from core
// dumps), in fixed size classes; a chunk is wiped when it is given back and a slab is unmapped
// (sodium_free wipes it too) when its last chunk is. Larger secrets keep their own mapping.
// What the pool gives up: the guard page between two secrets of one slab. Every write into a
// SecureBytes is bounded by its size, and the slabs hold nothing but secrets.
#pragma once

#include <cstddef>
#include <cstdint>

#include "gdoi/secure_bytes.h"

namespace gdoi::detail {

inline constexpr std::size_t kMaxPooledSize = 256;

// size octets of locked, zero-filled memory: from a slab when size <= kMaxPooledSize, else
// its own sodium_malloc() mapping. Throws std::bad_alloc when no memory can be had.
std::uint8_t* secure_allocate(std::size_t size);
// Wipes and gives back what secure_allocate(size) returned (size: the same value).
void secure_deallocate(std::uint8_t* p, std::size_t size) noexcept;
SecurePoolUse pool_use();

}  // namespace gdoi::detail
