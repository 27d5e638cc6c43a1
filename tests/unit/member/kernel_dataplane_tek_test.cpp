// TEK acceptance, transforms, lifetimes and the GCM packet limit (member/src/dataplane_tek.h).
#include <catch2/catch.hpp>

#include "dataplane/dataplane_tek.h"

using namespace member;

namespace {

gdoi::Tek tek(uint8_t transform, uint16_t auth, uint16_t key_bits, size_t enc_bytes, size_t int_bytes) {
    gdoi::Tek t;
    t.spi = 0x1000;
    t.transform_id = transform;
    t.auth_algorithm = auth;
    t.key_bits = key_bits;
    t.lifetime_seconds = 3600;
    t.encryption_key = gdoi::SecureBytes(enc_bytes);
    t.integrity_key = gdoi::SecureBytes(int_bytes);
    t.selector.source.id_type = 4;
    t.selector.source.address = {10, 0, 0, 0};
    t.selector.source.mask_or_end = {255, 0, 0, 0};
    t.selector.destination = t.selector.source;
    return t;
}

gdoi::Tek cbc() { return tek(12, 5, 256, 32, 32); }  // AES-256-CBC + HMAC-SHA-256
gdoi::Tek gcm() { return tek(20, 0, 128, 20, 0); }   // AES-GCM-16 128 (+4-byte salt)

}  // namespace

TEST_CASE("dataplane tek: AES-CBC + HMAC is accepted, without a packet limit", "[dataplane][tek]") {
    GroupConfig g;
    CHECK(accept_tek(cbc(), g).empty());
    auto t = tek_transform(cbc());
    REQUIRE(t);
    CHECK(transform_name(*t) == "AES-256-CBC/HMAC-SHA-256");
    const auto life = tek_lifetimes(cbc(), *t, 100);
    CHECK(life.outbound_hard.packets == 0);
    CHECK(life.outbound_soft.packets == 0);
    CHECK(life.outbound_hard.seconds == 3600);
    CHECK(life.inbound_hard.seconds == 3600);
    CHECK(life.inbound_hard.packets == 0);
    CHECK(accept_tek(tek(3, 2, 0, 24, 20), g).empty());   // 3DES + HMAC-SHA1, Key Length absent
    CHECK(accept_tek(tek(12, 2, 0, 16, 20), g).empty());  // AES-128 inferred from the key
}

TEST_CASE("dataplane tek: AES-GCM follows allow-gcm and gets the packet limit", "[dataplane][tek]") {
    GroupConfig g;
    g.allow_gcm = AllowGcm::warn;
    CHECK(accept_tek(gcm(), g).empty());
    g.allow_gcm = AllowGcm::accept;
    CHECK(accept_tek(gcm(), g).empty());
    g.allow_gcm = AllowGcm::refuse;
    CHECK_THAT(accept_tek(gcm(), g), Catch::Contains("allow-gcm = refuse"));

    g.allow_gcm = AllowGcm::accept;
    g.gcm_expected_senders = 100000;
    CHECK_THAT(accept_tek(gcm(), g), Catch::Contains("100000 expected senders"));

    auto t = tek_transform(gcm());
    REQUIRE(t);
    CHECK(transform_name(*t) == "AES-GCM-128");
    const auto life = tek_lifetimes(gcm(), *t, 100);
    CHECK(life.outbound_hard.packets == 524287);
    CHECK(life.outbound_soft.packets == 524287 - 524287 / 4);
    CHECK(life.inbound_hard.packets == 0);  // a receiver counts every sender's packets
}

TEST_CASE("dataplane tek: unknown or inconsistent TEKs are refused with a reason", "[dataplane][tek]") {
    GroupConfig g;
    CHECK_THAT(accept_tek(tek(99, 0, 128, 16, 0), g),
               Catch::Contains("ESP transform id 99 is not supported"));
    CHECK_THAT(accept_tek(tek(12, 99, 128, 16, 20), g), Catch::Contains("authentication algorithm 99"));
    CHECK_THAT(accept_tek(tek(12, 0, 128, 16, 0), g), Catch::Contains("needs an authentication algorithm"));
    CHECK_THAT(accept_tek(tek(12, 5, 128, 17, 32), g), Catch::Contains("encryption key is 17 bytes"));
    CHECK_THAT(accept_tek(tek(12, 5, 128, 16, 20), g), Catch::Contains("integrity key is 20 bytes"));
    CHECK_THAT(accept_tek(tek(12, 5, 100, 16, 32), g), Catch::Contains("key size"));
    auto transport = cbc();
    transport.encapsulation_mode = 2;
    CHECK_THAT(accept_tek(transport, g), Catch::Contains("encapsulation mode 2"));
    auto none = cbc();
    none.address_preservation = 1;
    CHECK_THAT(accept_tek(none, g), Catch::Contains("address preservation 1"));
    auto v6 = cbc();
    v6.selector.source.id_type = 6;
    v6.selector.source.address = gdoi::Bytes(16, 0);
    v6.selector.source.mask_or_end = gdoi::Bytes(16, 0);
    CHECK_THAT(accept_tek(v6, g), Catch::Contains("different address families"));
    // IPv6 on both ends: carried by the group's IPv6 carrier (kernel_dataplane.h).
    v6.selector.destination = v6.selector.source;
    CHECK(accept_tek(v6, g).empty());
    CHECK(tek_family(v6) == common::IpFamily::ipv6);
    CHECK(tek_family(cbc()) == common::IpFamily::ipv4);
}

TEST_CASE("dataplane tek: GCM packet limit keeps n(n-1)/2 * 2^m / 2^64 below 2^-32",
          "[dataplane][tek][gcm]") {
    CHECK(gcm_packet_limit(0) == (uint64_t{1} << 31) - 1);  // taken as 2
    CHECK(gcm_packet_limit(2) == (uint64_t{1} << 31) - 1);
    CHECK(gcm_packet_limit(3) == (uint64_t{1} << 30) - 1);  // 6 * 2^30 < 2^33 <= 6 * 2^31
    CHECK(gcm_packet_limit(100) == 524287);
    CHECK(gcm_packet_limit(1000) == 8191);
    CHECK(gcm_packet_limit(65536) == 1);
    CHECK(gcm_packet_limit(65537) == 0);
    // The bound itself, for a range of n: the chosen 2^m satisfies it and 2^(m+1) does not.
    for (uint64_t n : {2ull, 5ull, 17ull, 100ull, 999ull, 4096ull, 50000ull}) {
        const uint64_t p = gcm_packet_limit(static_cast<uint32_t>(n));
        const long double two_m = static_cast<long double>(p + 1);
        const long double prob = static_cast<long double>(n * (n - 1)) / 2 * two_m / 18446744073709551616.0L;
        CHECK(prob < 1.0L / 4294967296.0L);
        CHECK(static_cast<long double>(n * (n - 1)) / 2 * 2 * two_m / 18446744073709551616.0L >=
              1.0L / 4294967296.0L);
    }
}

TEST_CASE("dataplane tek: anti-replay refuses AES-GCM (its nonce is the sequence number), keeps CBC",
          "[dataplane][tek][anti-replay]") {
    GroupConfig g;
    g.allow_gcm = AllowGcm::accept;
    g.anti_replay_window = 100;
    CHECK_THAT(accept_tek(gcm(), g), Catch::Contains("cannot be used with anti-replay-time-window"));
    CHECK(accept_tek(cbc(), g).empty());
    g.anti_replay_window = 0;
    CHECK(accept_tek(gcm(), g).empty());
}
