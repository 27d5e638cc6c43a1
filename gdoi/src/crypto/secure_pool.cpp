// The slab pool of secure_pool.h.
#include "secure_pool.h"

#include <sodium.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GDOI_POOL_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define GDOI_POOL_ASAN 1
#endif
#ifdef GDOI_POOL_ASAN
#include <sanitizer/asan_interface.h>
#endif

#include <algorithm>
#include <array>
#include <mutex>
#include <new>
#include <stdexcept>
#include <vector>

namespace gdoi::detail {
namespace {

// Under AddressSanitizer the bytes of a slab that no secret owns (free chunks, and the slack of
// a chunk beyond its secret's size) are poisoned: a secret overrun is reported at its first byte,
// where a mapping of its own only faulted at the end of its page.
void poison(const std::uint8_t* p, std::size_t n) {
#ifdef GDOI_POOL_ASAN
    ASAN_POISON_MEMORY_REGION(p, n);
#else
    (void)p;
    (void)n;
#endif
}
void unpoison(const std::uint8_t* p, std::size_t n) {
#ifdef GDOI_POOL_ASAN
    ASAN_UNPOISON_MEMORY_REGION(p, n);
#else
    (void)p;
    (void)n;
#endif
}

// 16 KiB slabs: four pages, 512 secrets of 32 octets.
constexpr std::size_t kSlabSize = 16384;
constexpr std::array<std::size_t, 4> kClasses{32, 64, 128, kMaxPooledSize};

struct Slab {
    std::uint8_t* base = nullptr;
    std::vector<std::uint16_t> free;  // indices of the chunks not in use
};

class Pool {
public:
    std::uint8_t* allocate(std::size_t klass, std::size_t size) {
        const std::lock_guard lock(mutex_);
        auto& slabs = slabs_[klass];
        auto it = std::find_if(slabs.begin(), slabs.end(), [](const Slab& s) { return !s.free.empty(); });
        if (it == slabs.end()) {
            Slab s;
            s.base = static_cast<std::uint8_t*>(sodium_malloc(kSlabSize));
            if (s.base == nullptr) throw std::bad_alloc();
            sodium_memzero(s.base, kSlabSize);
            poison(s.base, kSlabSize);
            const std::size_t n = kSlabSize / kClasses[klass];
            s.free.reserve(n);
            for (std::size_t i = n; i-- > 0;) s.free.push_back(static_cast<std::uint16_t>(i));
            slabs.push_back(std::move(s));
            it = slabs.end() - 1;
        }
        const std::uint16_t index = it->free.back();
        it->free.pop_back();
        ++chunks_;
        std::uint8_t* p = it->base + index * kClasses[klass];
        unpoison(p, size);
        return p;
    }

    void deallocate(std::uint8_t* p, std::size_t klass) noexcept {
        const std::lock_guard lock(mutex_);
        const std::size_t size = kClasses[klass];
        auto& slabs = slabs_[klass];
        const auto it = std::find_if(slabs.begin(), slabs.end(),
                                     [&](const Slab& s) { return p >= s.base && p < s.base + kSlabSize; });
        if (it == slabs.end()) std::terminate();  // not ours: a stray pointer
        const auto index = static_cast<std::uint16_t>((p - it->base) / size);
        if (p != it->base + index * size ||
            std::find(it->free.begin(), it->free.end(), index) != it->free.end())
            std::terminate();  // not a chunk's start, or freed twice
        unpoison(p, size);
        sodium_memzero(p, size);
        poison(p, size);
        it->free.push_back(index);
        --chunks_;
        if (it->free.size() == kSlabSize / size) {
            unpoison(it->base, kSlabSize);
            sodium_free(it->base);
            slabs.erase(it);
        }
    }

    SecurePoolUse use() {
        const std::lock_guard lock(mutex_);
        SecurePoolUse u;
        for (const auto& slabs : slabs_) u.slabs += slabs.size();
        u.secrets = chunks_;
        return u;
    }

private:
    std::mutex mutex_;
    std::array<std::vector<Slab>, kClasses.size()> slabs_;
    std::size_t chunks_ = 0;
};

// Never destroyed: secrets in objects of static storage duration may outlive any other static.
Pool& pool() {
    static Pool* p = new Pool;
    return *p;
}

void init_sodium() {
    static const bool ready = sodium_init() >= 0;
    if (!ready) throw std::runtime_error("libsodium initialisation failed");
}

std::size_t class_of(std::size_t size) {
    std::size_t k = 0;
    while (kClasses[k] < size) ++k;
    return k;
}

}  // namespace

std::uint8_t* secure_allocate(std::size_t size) {
    init_sodium();
    if (size == 0) return nullptr;
    if (size <= kMaxPooledSize) return pool().allocate(class_of(size), size);
    auto* p = static_cast<std::uint8_t*>(sodium_malloc(size));
    if (p == nullptr) throw std::bad_alloc();
    sodium_memzero(p, size);
    return p;
}

SecurePoolUse pool_use() { return pool().use(); }

void secure_deallocate(std::uint8_t* p, std::size_t size) noexcept {
    if (p == nullptr) return;
    if (size <= kMaxPooledSize)
        pool().deallocate(p, class_of(size));
    else
        sodium_free(p);  // wipes before unmapping
}

}  // namespace gdoi::detail

namespace gdoi {
SecurePoolUse secure_pool_use() { return detail::pool_use(); }
}  // namespace gdoi
