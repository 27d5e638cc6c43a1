// Watches what the process frees through operator delete (std::vector, std::string, ...;
// under AddressSanitizer every free, through its free hook):
// while a FreedMemoryWatch is alive, every block freed is searched for the watched byte
// strings before it goes back to the allocator. A hit means a key was left in ordinary
// heap memory instead of SecureBytes. Single-threaded tests only.
#pragma once

#include <cstddef>
#include <span>

namespace gcks_test {

class FreedMemoryWatch {
public:
    FreedMemoryWatch();  // starts watching with no patterns
    ~FreedMemoryWatch();
    FreedMemoryWatch(const FreedMemoryWatch&) = delete;
    FreedMemoryWatch& operator=(const FreedMemoryWatch&) = delete;

    // Watches the first 16 bytes of `secret` (at most 32 patterns; shorter secrets: all of it).
    void add(std::span<const unsigned char> secret);
    // Freed blocks that held a watched pattern since the watch started.
    std::size_t hits() const;
    void pause();
    void resume();
};

}  // namespace gcks_test
