// Builds XFRM requests through the public batch API and reads them back with
// libmnl, the way the kernel's xfrm_user would.
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/xfrm.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <map>
#include <vector>

#include "xfrm/xfrm.h"

using namespace xfrm;

namespace {

std::vector<const nlmsghdr*> messages(std::span<const uint8_t> bytes) {
    std::vector<const nlmsghdr*> out;
    int left = static_cast<int>(bytes.size());
    for (auto* nlh = reinterpret_cast<const nlmsghdr*>(bytes.data()); mnl_nlmsg_ok(nlh, left);
         nlh = mnl_nlmsg_next(nlh, &left))
        out.push_back(nlh);
    REQUIRE(left == 0);
    return out;
}

std::map<uint16_t, const nlattr*> attrs(const nlmsghdr* nlh, std::size_t header) {
    std::map<uint16_t, const nlattr*> out;
    mnl_attr_parse(
        nlh, static_cast<unsigned>(header),
        [](const nlattr* a, void* data) {
            (*static_cast<std::map<uint16_t, const nlattr*>*>(data))[mnl_attr_get_type(a)] = a;
            return MNL_CB_OK;
        },
        &out);
    return out;
}

const std::vector<uint8_t> kGcmKey(20, 0xab);  // AES-128 + salt
const std::vector<uint8_t> kAesKey(16, 0x11);
const std::vector<uint8_t> kShaKey(32, 0x22);

SaSpec gcm_sa() {
    SaSpec sa;
    sa.src = *Address::parse("169.254.0.2");
    sa.dst = *Address::parse("169.254.0.1");
    sa.spi = 0x1000;
    sa.mode = Mode::tunnel;
    sa.reqid = 7;
    sa.transform = {EspTransformId::esp_aes_gcm_16, 128, AuthAlgorithmId::none};
    sa.encryption_key = kGcmKey;
    sa.soft = {3000, 0, 0};
    sa.hard = {3600, 1'000'000, 0};
    return sa;
}

}  // namespace

TEST_CASE("add_sa builds XFRM_MSG_NEWSA with the AEAD attribute and owner tag", "[messages]") {
    XfrmBatch b(0x47444f49);
    REQUIRE(b.add_sa(gcm_sa()));
    auto msgs = messages(b.bytes());
    REQUIRE(msgs.size() == 1);
    const nlmsghdr* nlh = msgs[0];
    CHECK(nlh->nlmsg_type == XFRM_MSG_NEWSA);
    CHECK((nlh->nlmsg_flags & (NLM_F_CREATE | NLM_F_EXCL)) == (NLM_F_CREATE | NLM_F_EXCL));

    const auto* info = static_cast<const xfrm_usersa_info*>(mnl_nlmsg_get_payload(nlh));
    CHECK(ntohl(info->id.spi) == 0x1000);
    CHECK(info->id.proto == IPPROTO_ESP);
    CHECK(info->mode == XFRM_MODE_TUNNEL);
    CHECK(info->family == AF_INET);
    CHECK(info->reqid == 7);
    CHECK(info->replay_window == 0);
    CHECK((info->flags & XFRM_STATE_ESN) == 0);
    CHECK(info->sel.user == 0x47444f49);
    CHECK(info->lft.soft_add_expires_seconds == 3000);
    CHECK(info->lft.hard_byte_limit == 1'000'000);
    CHECK(info->lft.soft_byte_limit == XFRM_INF);
    CHECK(info->lft.hard_packet_limit == XFRM_INF);

    auto a = attrs(nlh, sizeof(xfrm_usersa_info));
    REQUIRE(a.count(XFRMA_ALG_AEAD));
    CHECK_FALSE(a.count(XFRMA_ALG_CRYPT));
    const auto* aead = static_cast<const xfrm_algo_aead*>(mnl_attr_get_payload(a[XFRMA_ALG_AEAD]));
    CHECK(std::string(aead->alg_name) == "rfc4106(gcm(aes))");
    CHECK(aead->alg_key_len == 160);
    CHECK(aead->alg_icv_len == 128);
    CHECK(std::memcmp(aead->alg_key, kGcmKey.data(), kGcmKey.size()) == 0);
    CHECK_FALSE(a.count(XFRMA_REPLAY_VAL));  // the kernel's default start: first packet 1
}

TEST_CASE("add_sa with a starting sequence number carries XFRMA_REPLAY_VAL", "[messages]") {
    SaSpec sa = gcm_sa();
    sa.outbound_seq = 0x12300000;
    XfrmBatch b(1);
    REQUIRE(b.add_sa(sa));
    auto msgs = messages(b.bytes());
    REQUIRE(msgs.size() == 1);
    const auto a = attrs(msgs[0], sizeof(xfrm_usersa_info));
    REQUIRE(a.count(XFRMA_REPLAY_VAL));
    REQUIRE(mnl_attr_get_payload_len(a.at(XFRMA_REPLAY_VAL)) == sizeof(xfrm_replay_state));
    xfrm_replay_state r{};
    std::memcpy(&r, mnl_attr_get_payload(a.at(XFRMA_REPLAY_VAL)), sizeof(r));
    CHECK(r.oseq == 0x12300000);
    CHECK(r.seq == 0);
    CHECK(r.bitmap == 0);
}

TEST_CASE("CBC SAs carry XFRMA_ALG_CRYPT and XFRMA_ALG_AUTH_TRUNC", "[messages]") {
    SaSpec sa = gcm_sa();
    sa.mode = Mode::transport;
    sa.transform = {EspTransformId::esp_aes_cbc, 128, AuthAlgorithmId::hmac_sha2_256};
    sa.encryption_key = kAesKey;
    sa.integrity_key = kShaKey;
    sa.mark = Mark{0x10, 0xff};
    XfrmBatch b(1);
    REQUIRE(b.update_sa(sa));
    auto msgs = messages(b.bytes());
    REQUIRE(msgs.size() == 1);
    CHECK(msgs[0]->nlmsg_type == XFRM_MSG_UPDSA);
    auto a = attrs(msgs[0], sizeof(xfrm_usersa_info));
    REQUIRE(a.count(XFRMA_ALG_CRYPT));
    REQUIRE(a.count(XFRMA_ALG_AUTH_TRUNC));
    REQUIRE(a.count(XFRMA_MARK));
    const auto* crypt = static_cast<const xfrm_algo*>(mnl_attr_get_payload(a[XFRMA_ALG_CRYPT]));
    CHECK(std::string(crypt->alg_name) == "cbc(aes)");
    CHECK(crypt->alg_key_len == 128);
    const auto* auth = static_cast<const xfrm_algo_auth*>(mnl_attr_get_payload(a[XFRMA_ALG_AUTH_TRUNC]));
    CHECK(std::string(auth->alg_name) == "hmac(sha256)");
    CHECK(auth->alg_key_len == 256);
    CHECK(auth->alg_trunc_len == 128);
    CHECK(std::memcmp(auth->alg_key, kShaKey.data(), kShaKey.size()) == 0);
    const auto* mark = static_cast<const xfrm_mark*>(mnl_attr_get_payload(a[XFRMA_MARK]));
    CHECK(mark->v == 0x10);
    CHECK(mark->m == 0xff);
    const auto* info = static_cast<const xfrm_usersa_info*>(mnl_nlmsg_get_payload(msgs[0]));
    CHECK(info->mode == XFRM_MODE_TRANSPORT);
}

TEST_CASE("bad SA specs are refused before reaching the kernel", "[messages]") {
    XfrmBatch b(1);
    SaSpec sa = gcm_sa();
    sa.encryption_key = kAesKey;  // 16 bytes: salt missing
    auto s = b.add_sa(sa);
    REQUIRE_FALSE(s);
    CHECK(s.error().message.find("need 20 + 0 bytes") != std::string::npos);
    sa = gcm_sa();
    sa.spi = 5;
    CHECK_FALSE(b.add_sa(sa));
    CHECK(b.empty());
}

TEST_CASE("fwd policy carries a template without addresses, level required", "[messages]") {
    PolicySpec p;
    p.selector = {*Prefix::parse("10.2.0.0/16"), *Prefix::parse("10.1.0.0/16"), 0, 0, 0};
    p.dir = Direction::fwd;
    p.priority = 100;
    p.templates.push_back(Template{std::nullopt, std::nullopt, 0, Mode::tunnel, 7, Level::required});
    XfrmBatch b(42);
    REQUIRE(b.add_policy(p));
    b.delete_policy({p.selector, Direction::fwd, std::nullopt});
    auto msgs = messages(b.bytes());
    REQUIRE(msgs.size() == 2);
    CHECK(msgs[0]->nlmsg_type == XFRM_MSG_NEWPOLICY);
    const auto* info = static_cast<const xfrm_userpolicy_info*>(mnl_nlmsg_get_payload(msgs[0]));
    CHECK(info->dir == XFRM_POLICY_FWD);
    CHECK(info->action == XFRM_POLICY_ALLOW);
    CHECK(info->priority == 100);
    CHECK(info->sel.prefixlen_s == 16);
    CHECK(info->sel.prefixlen_d == 16);
    CHECK(info->sel.user == 42);
    CHECK(info->sel.family == AF_INET);
    auto a = attrs(msgs[0], sizeof(xfrm_userpolicy_info));
    REQUIRE(a.count(XFRMA_TMPL));
    REQUIRE(mnl_attr_get_payload_len(a[XFRMA_TMPL]) == sizeof(xfrm_user_tmpl));
    const auto* t = static_cast<const xfrm_user_tmpl*>(mnl_attr_get_payload(a[XFRMA_TMPL]));
    CHECK(t->optional == 0);
    CHECK(t->mode == XFRM_MODE_TUNNEL);
    CHECK(t->reqid == 7);
    CHECK(t->id.proto == IPPROTO_ESP);
    CHECK(t->id.daddr.a4 == 0);
    CHECK(t->saddr.a4 == 0);

    CHECK(msgs[1]->nlmsg_type == XFRM_MSG_DELPOLICY);
    const auto* id = static_cast<const xfrm_userpolicy_id*>(mnl_nlmsg_get_payload(msgs[1]));
    CHECK(id->sel.user == 42);  // the kernel compares whole selectors
    CHECK(id->dir == XFRM_POLICY_FWD);
}

TEST_CASE("block policy has no template", "[messages]") {
    PolicySpec p;
    p.selector = {Prefix::any(Family::ipv4), *Prefix::parse("169.254.0.1/32"), IPPROTO_IPIP, 0, 0};
    p.dir = Direction::in;
    p.action = Action::block;
    XfrmBatch b(1);
    REQUIRE(b.add_policy(p));
    auto msgs = messages(b.bytes());
    const auto* info = static_cast<const xfrm_userpolicy_info*>(mnl_nlmsg_get_payload(msgs[0]));
    CHECK(info->action == XFRM_POLICY_BLOCK);
    CHECK(info->sel.proto == IPPROTO_IPIP);
    CHECK(attrs(msgs[0], sizeof(xfrm_userpolicy_info)).count(XFRMA_TMPL) == 0);
}

TEST_CASE("set_outbound_seq builds XFRM_MSG_NEWAE replacing the replay state", "[messages]") {
    XfrmBatch b(1);
    b.set_outbound_seq({*Address::parse("192.0.2.2"), 0x2000, Mark{0x10, 0xff}}, 123456);
    auto msgs = messages(b.bytes());
    REQUIRE(msgs.size() == 1);
    CHECK(msgs[0]->nlmsg_type == XFRM_MSG_NEWAE);
    // xfrm_new_ae() refuses an NEWAE without NLM_F_REPLACE.
    CHECK((msgs[0]->nlmsg_flags & NLM_F_REPLACE) != 0);
    const auto* ae = static_cast<const xfrm_aevent_id*>(mnl_nlmsg_get_payload(msgs[0]));
    CHECK(ntohl(ae->sa_id.spi) == 0x2000);
    CHECK(ae->sa_id.family == AF_INET);
    CHECK(ae->sa_id.proto == IPPROTO_ESP);
    in_addr dst{};
    std::memcpy(&dst, &ae->sa_id.daddr, 4);
    CHECK(ntohl(dst.s_addr) == 0xc0000202);
    const auto a = attrs(msgs[0], sizeof(xfrm_aevent_id));
    REQUIRE(a.count(XFRMA_REPLAY_VAL));
    REQUIRE(mnl_attr_get_payload_len(a.at(XFRMA_REPLAY_VAL)) == sizeof(xfrm_replay_state));
    xfrm_replay_state r{};
    std::memcpy(&r, mnl_attr_get_payload(a.at(XFRMA_REPLAY_VAL)), sizeof(r));
    CHECK(r.oseq == 123456);
    CHECK(r.seq == 0);
    CHECK(r.bitmap == 0);
    REQUIRE(a.count(XFRMA_MARK));
}
