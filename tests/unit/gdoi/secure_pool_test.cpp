// Small secrets share locked slabs (gdoi/src/crypto/secure_pool.h): the locked memory of many
// keys is their size, not a page each, and the slabs go when their secrets do.
#include <catch2/catch.hpp>
#include <fstream>
#include <string>
#include <vector>

#include "gdoi/secure_bytes.h"
#include "test_util.h"

using namespace gdoi;

namespace {

// VmLck of this process in KiB (/proc/self/status): what mlock() holds.
long locked_kib() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line))
        if (line.rfind("VmLck:", 0) == 0) return std::stol(line.substr(6));
    return -1;
}

}  // namespace

TEST_CASE("SecurePool: 2,000 TEK-sized keys lock less than 128 KiB", "[secure_bytes]") {
    const long before = locked_kib();
    REQUIRE(before >= 0);
    std::vector<SecureBytes> keys;
    for (int i = 0; i < 2000; ++i) keys.emplace_back(i % 2 == 0 ? 32 : 20);
    const long after = locked_kib();
    INFO("VmLck before " << before << " KiB, after " << after << " KiB");
    // 2,000 secrets of at most 32 octets fill 125 KiB of 32-octet chunks. With a mapping
    // each (one locked page) they held 8,000 KiB, or ran into RLIMIT_MEMLOCK.
    CHECK(after - before <= 128);
    CHECK(secure_pool_use().secrets >= 2000);
}

TEST_CASE("SecurePool: secrets are distinct, zero-filled, and keep their bytes", "[secure_bytes]") {
    std::vector<SecureBytes> keys;
    for (int i = 0; i < 600; ++i) {
        SecureBytes k(48);
        CHECK(test::to_bytes(k) == Bytes(48, 0));  // a chunk given back earlier was wiped
        for (auto& b : k.span()) b = static_cast<uint8_t>(i);
        keys.push_back(std::move(k));
    }
    // Free every other one, take new ones in their place: nothing else changes.
    for (int i = 0; i < 600; i += 2) keys[i] = SecureBytes(40);
    for (int i = 0; i < 600; ++i) {
        INFO("key " << i);
        if (i % 2 == 0)
            CHECK(test::to_bytes(keys[i]) == Bytes(40, 0));
        else
            CHECK(test::to_bytes(keys[i]) == Bytes(48, static_cast<uint8_t>(i)));
    }
    for (std::size_t i = 0; i < keys.size(); ++i)
        for (std::size_t j = i + 1; j < keys.size(); ++j) REQUIRE(keys[i].data() != keys[j].data());
}

TEST_CASE("SecurePool: slabs are unmapped when their last secret goes", "[secure_bytes]") {
    const auto before = secure_pool_use();
    {
        std::vector<SecureBytes> keys;
        for (int i = 0; i < 3000; ++i) keys.emplace_back(100);  // 128-octet chunks, 128 per slab
        CHECK(secure_pool_use().slabs >= before.slabs + 3000 / 128);
        CHECK(secure_pool_use().secrets == before.secrets + 3000);
    }
    CHECK(secure_pool_use().slabs == before.slabs);
    CHECK(secure_pool_use().secrets == before.secrets);
}

TEST_CASE("SecurePool: secrets beyond 256 octets keep their own mapping", "[secure_bytes]") {
    const auto before = secure_pool_use();
    SecureBytes shared_secret(512);  // a MODP-4096 g^xy
    CHECK(secure_pool_use().secrets == before.secrets);
    SecureBytes grown(16);
    grown.resize(300);  // leaves the pool, keeps its bytes
    CHECK(secure_pool_use().secrets == before.secrets);
    CHECK(test::to_bytes(grown) == Bytes(300, 0));
}

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GDOI_TEST_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define GDOI_TEST_ASAN 1
#endif
#ifdef GDOI_TEST_ASAN
#include <sanitizer/asan_interface.h>

// In the sanitizer build (the README's test command runs the suite there): an overrun of a
// pooled secret is reported at its first byte, and a freed secret cannot be read.
TEST_CASE("SecurePool: under ASan, the bytes no secret owns are poisoned", "[secure_bytes]") {
    SecureBytes key(20);  // a 32-octet chunk: 12 octets of slack
    CHECK_FALSE(__asan_address_is_poisoned(key.data()));
    CHECK_FALSE(__asan_address_is_poisoned(key.data() + 19));
    CHECK(__asan_address_is_poisoned(key.data() + 20));
    CHECK(__asan_address_is_poisoned(key.data() + 31));
    SecureBytes neighbour(20);  // keeps the slab mapped after `key` goes
    const uint8_t* old = key.data();
    key = SecureBytes();
    CHECK(__asan_address_is_poisoned(old));
    SecureBytes again(32);
    CHECK_FALSE(__asan_address_is_poisoned(again.data() + 31));
}
#endif
