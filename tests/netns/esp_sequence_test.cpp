// The ESP sequence number of an outbound SA (issue 15, time-based anti-replay): read back from
// the kernel (XFRMA_REPLAY_VAL), set with XFRM_MSG_NEWAE, seen on the wire by nftables'
// `esp sequence` match before any decryption. Two namespaces: a sends ESP (transport mode, its
// own outbound SA), b only counts what arrives, by sequence number, in a prerouting chain.
// Needs ESP: [esp], runs in the test VM (vm_xfrm_sa).
#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "netns_fixture.h"
#include "xfrm/xfrm.h"

using namespace xfrm;
using netns_test::ScopedNetns;

namespace {

Address address(const char* text) { return *Address::parse(text); }

std::string exec(const ScopedNetns& ns, const std::string& command) {
    return netns_test::capture("ip netns exec " + ns.name() + " " + command);
}

// Packets of the counter NAME in b's table.
uint64_t counted(const ScopedNetns& b, const std::string& name) {
    const auto out = exec(b, "nft list counter inet seqtest " + name);
    const auto at = out.find("packets ");
    if (at == std::string::npos) FAIL("no counter " << name << ": " << out);
    return std::stoull(out.substr(at + 8));
}

// One ICMP echo from a to b: it leaves a as ESP (the policy); b has no SA, so nothing answers.
void send_one(const ScopedNetns& a) { exec(a, "ping -c 1 -W 0.2 192.0.2.2"); }

}  // namespace

TEST_CASE("the outbound ESP sequence number is read back, set by NEWAE and matched by nft", "[esp][seq]") {
    ScopedNetns a, b;
    REQUIRE(netns_test::capture("ip link add va netns " + a.name() + " type veth peer vb netns " + b.name())
                .empty());
    REQUIRE(a.ip("addr add 192.0.2.1/24 dev va").empty());
    REQUIRE(b.ip("addr add 192.0.2.2/24 dev vb").empty());
    REQUIRE(a.ip("link set va up").empty());
    REQUIRE(b.ip("link set vb up").empty());
    // b counts a's ESP by sequence number, before anything else could drop it.
    const std::string table =
        "table inet seqtest {\n"
        " counter first3 {}\n counter below1000 {}\n counter at1001 {}\n counter at6 {}\n"
        " chain pre { type filter hook prerouting priority -300;\n"
        "  esp spi 0x2000 esp sequence 1-3 counter name first3\n"
        "  esp spi 0x2000 esp sequence < 1000 counter name below1000\n"
        "  esp spi 0x2000 esp sequence 1001 counter name at1001\n"
        "  esp spi 0x2000 esp sequence 6 counter name at6\n"
        " }\n}\n";
    REQUIRE(exec(b, "sh -c 'printf \"%s\" \"" + table + "\" | nft -f -'").empty());

    const SaId id{address("192.0.2.2"), 0x2000, std::nullopt};
    const auto oseq = [&] {
        return a.run([&] {
            auto sa = Xfrm::open()->get_sa(id);
            REQUIRE(sa);
            return sa->outbound_seq;
        });
    };
    const auto set_oseq = [&](uint32_t seq) {
        return a.run([&] {
            auto s = Xfrm::open()->set_outbound_seq(id, seq);
            INFO((s ? std::string() : s.error().message));
            return s.ok();
        });
    };
    const bool installed = a.run([] {
        auto x = Xfrm::open();
        REQUIRE(x);
        const std::vector<uint8_t> key(16, 1), auth(32, 2);
        SaSpec sa;
        sa.src = address("192.0.2.1");
        sa.dst = address("192.0.2.2");
        sa.spi = 0x2000;
        sa.mode = Mode::transport;
        sa.reqid = 7;
        sa.transform = {EspTransformId::esp_aes_cbc, 128, AuthAlgorithmId::hmac_sha2_256};
        sa.encryption_key = key;
        sa.integrity_key = auth;
        PolicySpec out;
        out.selector.src = *Prefix::parse("192.0.2.1/32");
        out.selector.dst = *Prefix::parse("192.0.2.2/32");
        out.dir = Direction::out;
        Template t;
        t.mode = Mode::transport;
        t.reqid = 7;
        out.templates.push_back(t);
        auto s = x->add_sa(sa);
        if (s) s = x->add_policy(out);
        INFO((s ? std::string() : s.error().message));
        return s.ok();
    });
    REQUIRE(installed);

    // 1. The kernel counts from 1; the replay state says how far.
    CHECK(oseq() == 0);
    for (int i = 0; i < 3; ++i) send_one(a);
    CHECK(oseq() == 3);
    CHECK(counted(b, "first3") == 3);

    // 2. NEWAE raises the counter: the next packet carries 1001 on the wire.
    REQUIRE(set_oseq(1000));
    CHECK(oseq() == 1000);
    send_one(a);
    CHECK(oseq() == 1001);
    CHECK(counted(b, "at1001") == 1);
    CHECK(counted(b, "below1000") == 3);

    // 3. ...and takes a lower value as well: the counter moves back and sequence numbers repeat.
    //    A caller must never do this (GCM's IV is the sequence number): Xfrm::set_outbound_seq.
    REQUIRE(set_oseq(5));
    send_one(a);
    CHECK(oseq() == 6);
    CHECK(counted(b, "at6") == 1);
    CHECK(counted(b, "below1000") == 4);
}
