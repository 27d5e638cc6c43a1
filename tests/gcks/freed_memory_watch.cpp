#include "freed_memory_watch.h"

#include <malloc.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

namespace {

// Static storage only: the hooks below must not allocate.
constexpr std::size_t kMaxPatterns = 32;
constexpr std::size_t kPatternSize = 16;
unsigned char g_patterns[kMaxPatterns][kPatternSize];
std::size_t g_lengths[kMaxPatterns];
std::size_t g_count = 0;
std::size_t g_hits = 0;
bool g_active = false;

void inspect(void* p) {
    if (p == nullptr || !g_active) return;
    const std::size_t size = ::malloc_usable_size(p);
    const auto* block = static_cast<const unsigned char*>(p);
    for (std::size_t i = 0; i < g_count; ++i)
        if (::memmem(block, size, g_patterns[i], g_lengths[i]) != nullptr) ++g_hits;
}

}  // namespace

void operator delete(void* p) noexcept {
    inspect(p);
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
    inspect(p);
    std::free(p);
}
void operator delete[](void* p) noexcept {
    inspect(p);
    std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
    inspect(p);
    std::free(p);
}

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
