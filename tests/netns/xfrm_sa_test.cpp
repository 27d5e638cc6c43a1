// ESP SAs of every algorithm in the table: add, get (counters), update, dump,
// delete, checked against `ip xfrm state`. Tagged [esp]: needs a kernel with ESP,
// so these run in the test VM (tests/vm/xfrm-sa.sh), not on the build host.
#include <poll.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "netns_fixture.h"
#include "xfrm/events.h"
#include "xfrm/xfrm.h"

using namespace xfrm;
using netns_test::ScopedNetns;

namespace {

Address address(const char* text) { return *Address::parse(text); }
bool contains(const std::string& h, const std::string& n) { return h.find(n) != std::string::npos; }

std::vector<uint8_t> key_bytes(std::size_t n, uint8_t seed) {
    std::vector<uint8_t> k(n);
    for (std::size_t i = 0; i < n; ++i) k[i] = static_cast<uint8_t>(seed + 7 * i + 1);
    return k;
}

struct Case {
    EspTransform transform;
    const char* shown;  // what `ip xfrm state` prints for it
};

const Case kCases[] = {
    {{EspTransformId::esp_aes_gcm_16, 128, AuthAlgorithmId::none}, "aead rfc4106(gcm(aes))"},
    {{EspTransformId::esp_aes_gcm_16, 192, AuthAlgorithmId::none}, "aead rfc4106(gcm(aes))"},
    {{EspTransformId::esp_aes_gcm_16, 256, AuthAlgorithmId::none}, "aead rfc4106(gcm(aes))"},
    {{EspTransformId::esp_aes_cbc, 128, AuthAlgorithmId::hmac_sha1}, "auth-trunc hmac(sha1)"},
    {{EspTransformId::esp_aes_cbc, 192, AuthAlgorithmId::hmac_sha2_256}, "auth-trunc hmac(sha256)"},
    {{EspTransformId::esp_aes_cbc, 256, AuthAlgorithmId::hmac_sha2_384}, "auth-trunc hmac(sha384)"},
    {{EspTransformId::esp_aes_cbc, 256, AuthAlgorithmId::hmac_sha2_512}, "auth-trunc hmac(sha512)"},
    {{EspTransformId::esp_3des, 192, AuthAlgorithmId::hmac_sha1}, "enc cbc(des3_ede)"},
};

}  // namespace

TEST_CASE("ESP SAs of every algorithm: add, get, update, dump, delete", "[esp][sa]") {
    ScopedNetns ns;
    uint32_t spi = 0x1000;
    for (const Case& c : kCases) {
        const KeySizes sizes = key_sizes(c.transform);
        const auto enc = key_bytes(sizes.encryption_bytes, static_cast<uint8_t>(spi));
        const auto integ = key_bytes(sizes.integrity_bytes, 0x40);
        SaSpec sa;
        sa.src = address("169.254.0.2");
        sa.dst = address("169.254.0.1");
        sa.spi = ++spi;
        sa.mode = Mode::tunnel;
        sa.reqid = 0x47440001;
        sa.transform = c.transform;
        sa.encryption_key = enc;
        sa.integrity_key = integ;
        sa.soft = {3000, 0, 0};
        sa.hard = {3600, 0, 1'000'000};
        INFO(c.shown << " " << c.transform.key_bits);

        auto got = ns.run([&] {
            auto x = Xfrm::open();
            REQUIRE(x);
            auto added = x->add_sa(sa);
            INFO((added.ok() ? std::string() : added.error().message));
            REQUIRE(added);
            auto state = x->get_sa(sa.id());
            INFO((state.ok() ? std::string() : state.error().message));
            REQUIRE(state);
            return *state;
        });
        REQUIRE(got.transform);
        CHECK(*got.transform == c.transform);
        CHECK(got.spi == sa.spi);
        CHECK(got.reqid == 0x47440001);
        CHECK(got.owner == kDefaultOwnerTag);
        CHECK(got.replay_window == 0);
        CHECK(got.hard.packets == 1'000'000);
        CHECK(got.soft.seconds == 3000);
        CHECK(got.packets == 0);
        CHECK(got.add_time > 0);

        std::string shown = ns.ip("xfrm state");
        CHECK(contains(shown, c.shown));
        char spi_text[80];
        std::snprintf(spi_text, sizeof(spi_text), "spi 0x%08x reqid 1195638785 mode tunnel", sa.spi);
        CHECK(contains(shown, spi_text));
        CHECK(contains(shown, "replay-window 0"));
        CHECK_FALSE(contains(shown, "esn"));

        // UPDSA changes lifetimes (not keys: xfrm_state_update keeps the algorithms).
        sa.hard = {7200, 0, 0};
        auto updated = ns.run([&] {
            auto x = Xfrm::open();
            REQUIRE(x->update_sa(sa));
            auto again = x->add_sa(sa);
            CHECK_FALSE(again);
            CHECK(contains(again.error().message, "already exists"));
            return *x->get_sa(sa.id());
        });
        CHECK(updated.hard.seconds == 7200);
        CHECK(updated.hard.packets == 0);
        CHECK(contains(ns.ip("-s xfrm state"), "expire add: soft 3000(sec), hard 7200(sec)"));

        auto dumped = ns.run([&] {
            auto x = Xfrm::open();
            auto d = x->dump_sas();
            REQUIRE(d);
            REQUIRE(x->delete_sa(sa.id()));
            return *d;
        });
        REQUIRE(dumped.size() == 1);
        CHECK(dumped[0].spi == sa.spi);
        CHECK(ns.ip("xfrm state").empty());
    }
}

TEST_CASE("flush_own removes only own SAs; marks round-trip", "[esp][sa]") {
    ScopedNetns ns;
    REQUIRE(ns.ip("xfrm state add src 10.9.0.1 dst 10.9.0.2 proto esp spi 0x999 mode tunnel "
                  "aead 'rfc4106(gcm(aes))' 0x0102030405060708090a0b0c0d0e0f1011121314 128")
                .empty());
    const auto enc = key_bytes(20, 3);
    auto states = ns.run([&] {
        auto x = Xfrm::open();
        XfrmBatch b = x->batch();
        for (uint32_t spi : {0x2001u, 0x2002u}) {
            SaSpec sa;
            sa.src = address("169.254.0.1");
            sa.dst = address("169.254.0.2");
            sa.spi = spi;
            sa.mode = Mode::transport;
            sa.reqid = 5;
            sa.encryption_key = enc;
            sa.mark = Mark{0x10, 0xff};
            REQUIRE(b.add_sa(sa));
        }
        REQUIRE(x->apply(b));
        auto d = x->dump_sas();
        REQUIRE(d);
        REQUIRE(x->flush_own());
        return *d;
    });
    REQUIRE(states.size() == 2);
    REQUIRE(states[0].mark);
    CHECK(states[0].mark->value == 0x10);
    CHECK(states[0].mode == Mode::transport);
    const std::string left = ns.ip("xfrm state");
    CHECK(contains(left, "spi 0x00000999"));
    CHECK_FALSE(contains(left, "0x00002001"));
}

TEST_CASE("soft and hard expire events arrive for a short-lived SA", "[esp][events]") {
    ScopedNetns ns;
    const auto enc = key_bytes(20, 9);
    auto events = ns.run([&] {
        auto sock = EventSocket::open(true, false);
        REQUIRE(sock);
        SaSpec sa;
        sa.src = address("169.254.0.2");
        sa.dst = address("169.254.0.1");
        sa.spi = 0x3001;
        sa.encryption_key = enc;
        sa.soft = {1, 0, 0};
        sa.hard = {2, 0, 0};
        REQUIRE(Xfrm::open()->add_sa(sa));
        std::vector<SaExpire> got;
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
        while (got.size() < 2 && std::chrono::steady_clock::now() < deadline) {
            pollfd pfd{sock->fd(), POLLIN, 0};
            if (poll(&pfd, 1, 1000) != 1) continue;
            auto read = sock->read();
            REQUIRE(read);
            for (auto& e : *read)
                if (auto* x = std::get_if<SaExpire>(&e)) got.push_back(*x);
        }
        return got;
    });
    REQUIRE(events.size() == 2);
    CHECK_FALSE(events[0].hard);
    CHECK(events[1].hard);
    CHECK(events[0].sa.spi == 0x3001);
    CHECK(events[0].sa.owner == kDefaultOwnerTag);
    CHECK(ns.ip("xfrm state").empty());  // the kernel deleted it at the hard expire
}
