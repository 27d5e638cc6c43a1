// Key material in libsodium secure memory: mlock()ed (never swapped), left out of core dumps,
// wiped when freed. Secrets up to 256 octets share guarded slabs (gdoi/src/crypto/secure_pool.h:
// a TEK key costs its size in locked memory, not a page); larger ones have their own guarded
// mapping. Every secret (PSK, DH private value, SKEYIDs, KEK/TEK keys) lives in a SecureBytes;
// plain Bytes never hold a key for long.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace gdoi {

class SecureBytes {
public:
    SecureBytes() = default;
    explicit SecureBytes(size_t size);  // zero-filled
    explicit SecureBytes(std::span<const uint8_t> data);
    ~SecureBytes();
    SecureBytes(const SecureBytes& other);
    SecureBytes& operator=(const SecureBytes& other);
    SecureBytes(SecureBytes&& other) noexcept;
    SecureBytes& operator=(SecureBytes&& other) noexcept;

    uint8_t* data() { return ptr_; }
    const uint8_t* data() const { return ptr_; }
    size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    std::span<const uint8_t> view() const { return {ptr_, size_}; }
    const uint8_t* begin() const { return ptr_; }
    const uint8_t* end() const { return ptr_ + size_; }
    std::span<uint8_t> span() { return {ptr_, size_}; }
    operator std::span<const uint8_t>() const { return view(); }

    // Constant-time comparison (sodium_memcmp).
    bool equals(std::span<const uint8_t> other) const;
    bool operator==(const SecureBytes& other) const { return equals(other.view()); }
    bool operator==(std::span<const uint8_t> other) const { return equals(other); }
    // First n bytes as a new SecureBytes (n <= size()).
    SecureBytes prefix(size_t n) const;

    // Secure memory taken ahead of need: a new slab or a large secret maps, guards and locks
    // pages (a dozen system calls), so an exchange reserves what it will fill while it waits
    // for the peer, not after. Up to capacity(), resize() makes no allocation.
    size_t capacity() const { return capacity_; }
    void reserve(size_t capacity);
    // Keeps the first min(size(), n) bytes; new bytes are zero, bytes given up are wiped.
    void resize(size_t n);

private:
    void release();
    uint8_t* ptr_ = nullptr;
    size_t size_ = 0;
    size_t capacity_ = 0;
};

// Wipes a non-secure buffer that briefly held secret bytes.
void wipe(std::span<uint8_t> data);
// Constant-time equality of two equally long buffers; false when lengths differ.
bool constant_time_equal(std::span<const uint8_t> a, std::span<const uint8_t> b);

// What the slabs of small secrets hold now (for tests and statistics).
struct SecurePoolUse {
    size_t slabs = 0;    // locked mappings of the pool
    size_t secrets = 0;  // secrets in them
};
SecurePoolUse secure_pool_use();

}  // namespace gdoi
