// What a kernel expire event means for a group (sa_expiry.h): which group, re-register or not.
#include "watch/sa_expiry.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using member::decide_sa_expire;
using member::ExpiryCandidate;

namespace {

constexpr uint32_t kOwner = 0x47444f49;

gdoi::GroupState keys(std::vector<uint32_t> spis) {
    gdoi::GroupState s;
    for (uint32_t spi : spis) {
        gdoi::Tek t;
        t.spi = spi;
        s.teks.push_back(std::move(t));
    }
    return s;
}

xfrm::SaExpire expire(uint32_t spi, bool hard, uint32_t owner = kOwner) {
    xfrm::SaExpire e;
    e.sa.spi = spi;
    e.sa.owner = owner;
    e.hard = hard;
    e.sa.soft = {0, 0, 393215};  // the GCM soft packet limit of an outbound SA
    e.sa.hard = {0, 0, 524287};
    e.sa.packets = hard ? 524287 : 393215;
    return e;
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("soft expire of the newest TEK's SA: that group registers again", "[sa_expiry]") {
    const auto a = keys({0x1111});
    const auto b = keys({0x2221, 0x2222});
    const std::vector<ExpiryCandidate> groups{{"alpha", false, &a}, {"beta", true, &b}};
    auto d = decide_sa_expire(expire(0x2222, false), kOwner, groups);
    REQUIRE(d);
    CHECK(d->group == "beta");
    CHECK_FALSE(d->hard);
    CHECK(d->reregister);
    CHECK(contains(d->message, "group beta"));
    CHECK(contains(d->message, "0x00002222"));
    CHECK(contains(d->message, "soft lifetime (packets)"));
}

TEST_CASE("soft expire when a newer TEK is held: counted, no registration", "[sa_expiry]") {
    const auto b = keys({0x2221, 0x2222});  // 0x2222 came with the last push
    const std::vector<ExpiryCandidate> groups{{"beta", true, &b}};
    auto d = decide_sa_expire(expire(0x2221, false), kOwner, groups);
    REQUIRE(d);
    CHECK(d->group == "beta");
    CHECK_FALSE(d->reregister);
    CHECK(contains(d->message, "newer TEK"));
}

TEST_CASE("soft expire of a TEK the key server no longer lists: no registration", "[sa_expiry]") {
    const auto b = keys({0x2222});  // 0x2221 deleted, its inbound SA still deactivating
    const std::vector<ExpiryCandidate> groups{{"beta", true, &b}};
    auto d = decide_sa_expire(expire(0x2221, false), kOwner, groups);
    REQUIRE(d);
    CHECK_FALSE(d->reregister);
    CHECK(contains(d->message, "no longer listed"));
}

TEST_CASE("hard expire: warning text, never a registration from here", "[sa_expiry]") {
    const auto a = keys({0x1111});
    const std::vector<ExpiryCandidate> groups{{"alpha", true, &a}};
    auto d = decide_sa_expire(expire(0x1111, true), kOwner, groups);
    REQUIRE(d);
    CHECK(d->hard);
    CHECK_FALSE(d->reregister);
    CHECK(d->message ==
          "SA 0x00001111 of group alpha reached its hard lifetime (packets): removed by the kernel; "
          "traffic fail-closed until new keys (the AES-GCM packet limit for gcm-expected-senders is used up: "
          "have the key server rekey the group sooner, or use AES-CBC TEKs)");
}

TEST_CASE("expires of SAs that are not ours or that no group holds are ignored", "[sa_expiry]") {
    const auto a = keys({0x1111});
    const std::vector<ExpiryCandidate> groups{{"alpha", true, &a}};
    CHECK_FALSE(decide_sa_expire(expire(0x1111, false, 0x12345678), kOwner, groups));  // another daemon's SA
    const std::vector<ExpiryCandidate> none{{"alpha", false, &a}};
    CHECK_FALSE(decide_sa_expire(expire(0x1111, false), kOwner, none));
    CHECK_FALSE(decide_sa_expire(expire(0x1111, false), kOwner, {}));
}

TEST_CASE("a group that holds the SA but has no keys does not register from here", "[sa_expiry]") {
    const std::vector<ExpiryCandidate> groups{{"alpha", true, nullptr}};
    auto d = decide_sa_expire(expire(0x1111, false), kOwner, groups);
    REQUIRE(d);
    CHECK(d->group == "alpha");
    CHECK_FALSE(d->reregister);
}

TEST_CASE("is_newest_tek: the last TEK of the state", "[sa_expiry]") {
    CHECK(member::is_newest_tek(keys({1, 2, 3}), 3));
    CHECK_FALSE(member::is_newest_tek(keys({1, 2, 3}), 2));
    CHECK_FALSE(member::is_newest_tek(keys({}), 3));
    CHECK_FALSE(member::is_newest_tek(keys({1}), 3));
}
