#include "freed_memory_watch.h"

#include <malloc.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FREED_MEMORY_WATCH_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define FREED_MEMORY_WATCH_ASAN 1
#endif
#ifdef FREED_MEMORY_WATCH_ASAN
#include <sanitizer/allocator_interface.h>
#endif

namespace {

// Static storage only: the hooks below must not allocate.
constexpr std::size_t kMaxPatterns = 32;
constexpr std::size_t kPatternSize = 16;
unsigned char g_patterns[kMaxPatterns][kPatternSize];
std::size_t g_lengths[kMaxPatterns];
std::size_t g_count = 0;
std::size_t g_hits = 0;
bool g_active = false;

void inspect(const void* p, std::size_t size) {
    if (p == nullptr || !g_active) return;
    for (std::size_t i = 0; i < g_count; ++i)
        if (::memmem(p, size, g_patterns[i], g_lengths[i]) != nullptr) ++g_hits;
}

#ifdef FREED_MEMORY_WATCH_ASAN
// Under AddressSanitizer its allocator owns new/delete: its free hook sees every block
// (malloc'ed ones too) before it is released.
void free_hook(const volatile void* p) {
    const void* block = const_cast<const void*>(p);
    if (g_active && block != nullptr) inspect(block, __sanitizer_get_allocated_size(block));
}
void malloc_hook(const volatile void*, std::size_t) {}  // the runtime takes both hooks or none
const int g_installed = __sanitizer_install_malloc_and_free_hooks(malloc_hook, free_hook);
#endif

}  // namespace

#ifndef FREED_MEMORY_WATCH_ASAN
// glibc has no free hook any more: the C++ deallocation functions are replaced instead.
void operator delete(void* p) noexcept {
    if (p != nullptr) inspect(p, ::malloc_usable_size(p));
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept { ::operator delete(p); }
void operator delete[](void* p) noexcept { ::operator delete(p); }
void operator delete[](void* p, std::size_t) noexcept { ::operator delete(p); }
#endif

namespace gcks_test {

FreedMemoryWatch::FreedMemoryWatch() {
    g_count = 0;
    g_hits = 0;
    g_active = true;
}
FreedMemoryWatch::~FreedMemoryWatch() { g_active = false; }

void FreedMemoryWatch::add(std::span<const unsigned char> secret) {
    if (g_count == kMaxPatterns || secret.empty()) return;
    const std::size_t n = std::min(secret.size(), kPatternSize);
    std::memcpy(g_patterns[g_count], secret.data(), n);
    g_lengths[g_count++] = n;
}

std::size_t FreedMemoryWatch::hits() const { return g_hits; }
void FreedMemoryWatch::pause() { g_active = false; }
void FreedMemoryWatch::resume() { g_active = true; }

}  // namespace gcks_test
