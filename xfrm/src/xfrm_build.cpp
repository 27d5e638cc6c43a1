// Building NETLINK_XFRM requests (linux/xfrm.h layouts, net/xfrm/xfrm_user.c).
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/xfrm.h>

#include <algorithm>
#include <cstring>

#include "common/hex_spi.h"
#include "scratch.h"
#include "xfrm_messages.h"

namespace xfrm::detail {
namespace {

// "rfc4106(gcm(aes)) 128" / "cbc(aes) 256 + hmac(sha256)": names the crypto the
// kernel could be missing (ENOSYS) in error messages.
std::string transform_text(const EspTransform& t) {
    const CipherInfo* c = find_cipher(t.cipher);
    std::string text =
        c ? std::string(c->kernel_name) : "cipher " + std::to_string(static_cast<int>(t.cipher));
    text += " " + std::to_string(t.key_bits);
    if (const AuthInfo* a = find_auth(t.auth)) text += " + " + std::string(a->kernel_name);
    return text;
}

void put_mark(nlmsghdr* nlh, const std::optional<Mark>& mark) {
    if (!mark) return;
    xfrm_mark m{mark->value, mark->mask};
    mnl_attr_put(nlh, XFRMA_MARK, sizeof(m), &m);
}

// Writes an algorithm attribute in place (struct + key), so the key is copied
// once, into the wiped scratch buffer.
template <typename AlgoStruct>
AlgoStruct* put_algo(nlmsghdr* nlh, uint16_t type, std::string_view name, std::span<const uint8_t> key) {
    auto* attr = static_cast<nlattr*>(mnl_nlmsg_get_payload_tail(nlh));
    const std::size_t len = MNL_ATTR_HDRLEN + sizeof(AlgoStruct) + key.size();
    attr->nla_type = type;
    attr->nla_len = static_cast<uint16_t>(len);
    auto* algo = static_cast<AlgoStruct*>(mnl_attr_get_payload(attr));
    std::memset(algo, 0, sizeof(AlgoStruct));
    std::memcpy(algo->alg_name, name.data(), std::min(name.size(), sizeof(algo->alg_name) - 1));
    algo->alg_key_len = static_cast<unsigned>(key.size() * 8);  // bits
    std::memcpy(algo->alg_key, key.data(), key.size());
    nlh->nlmsg_len += MNL_ALIGN(len);
    return algo;
}

void fill_selector(xfrm_selector& sel, const Selector& s, uint32_t owner) {
    sel.family = static_cast<uint16_t>(to_af(s.dst.address.family));
    sel.daddr = to_xfrm(s.dst.address);
    sel.saddr = to_xfrm(s.src.address);
    sel.prefixlen_d = s.dst.length;
    sel.prefixlen_s = s.src.length;
    sel.proto = s.proto;
    const auto mask = [](uint16_t port, uint16_t m) -> uint16_t { return m ? m : port ? 0xffff : 0; };
    sel.dport = htons(s.dst_port);
    sel.dport_mask = htons(mask(s.dst_port, s.dst_port_mask));
    sel.sport = htons(s.src_port);
    sel.sport_mask = htons(mask(s.src_port, s.src_port_mask));
    sel.user = owner;
}

std::string selector_text(const Selector& s) {
    std::string t = "src " + s.src.to_string() + " dst " + s.dst.to_string();
    if (s.proto) t += " proto " + std::to_string(s.proto);
    return t;
}

const char* dir_name(Direction d) {
    switch (d) {
        case Direction::in:
            return "in";
        case Direction::out:
            return "out";
        case Direction::fwd:
            return "fwd";
    }
    return "?";
}

}  // namespace

common::Status build_sa(MessageBuffer& out, const SaSpec& sa, uint32_t owner, bool update) {
    const std::string what = std::string(update ? "update" : "add") + " SA spi " + common::hex_spi(sa.spi) +
                             " src " + sa.src.to_string() + " dst " + sa.dst.to_string() + " " +
                             transform_text(sa.transform);
    if (auto problem = validate(sa.transform); !problem.empty())
        return common::make_error(what + ": " + std::string(problem));
    const KeySizes sizes = key_sizes(sa.transform);
    if (sa.encryption_key.size() != sizes.encryption_bytes ||
        sa.integrity_key.size() != sizes.integrity_bytes)
        return common::make_error(what + ": key length does not match the transform (need " +
                                  std::to_string(sizes.encryption_bytes) + " + " +
                                  std::to_string(sizes.integrity_bytes) + " bytes)");
    if (sa.src.family != sa.dst.family) return common::make_error(what + ": src and dst families differ");
    if (sa.spi < 256) return common::make_error(what + ": SPIs 0-255 are reserved (RFC 4303 §2.1)");

    Scratch s;
    nlmsghdr* nlh =
        s.header(update ? XFRM_MSG_UPDSA : XFRM_MSG_NEWSA, update ? 0 : NLM_F_CREATE | NLM_F_EXCL);
    auto* info = static_cast<xfrm_usersa_info*>(mnl_nlmsg_put_extra_header(nlh, sizeof(xfrm_usersa_info)));
    const uint16_t af = static_cast<uint16_t>(to_af(sa.dst.family));
    // Selector: any traffic (family 0 would be filled in by the kernel); it carries the owner tag.
    info->sel.user = owner;
    info->id.daddr = to_xfrm(sa.dst);
    info->id.spi = htonl(sa.spi);
    info->id.proto = kIpprotoEsp;
    info->saddr = to_xfrm(sa.src);
    info->family = af;
    info->mode = static_cast<uint8_t>(sa.mode);
    info->reqid = sa.reqid;
    info->replay_window = static_cast<uint8_t>(std::min<uint32_t>(sa.replay_window, 255));
    info->lft.soft_byte_limit = to_limit(sa.soft.bytes);
    info->lft.hard_byte_limit = to_limit(sa.hard.bytes);
    info->lft.soft_packet_limit = to_limit(sa.soft.packets);
    info->lft.hard_packet_limit = to_limit(sa.hard.packets);
    info->lft.soft_add_expires_seconds = sa.soft.seconds;
    info->lft.hard_add_expires_seconds = sa.hard.seconds;
    // No XFRM_STATE_ESN: group senders share the SPI, 64-bit sequence numbers
    // cannot be kept in step (RFC 6407 §4.3).

    const CipherInfo* cipher = find_cipher(sa.transform.cipher);
    if (cipher->aead) {
        auto* aead = put_algo<xfrm_algo_aead>(nlh, XFRMA_ALG_AEAD, cipher->kernel_name, sa.encryption_key);
        aead->alg_icv_len = cipher->icv_bits;
    } else {
        const AuthInfo* auth = find_auth(sa.transform.auth);
        put_algo<xfrm_algo>(nlh, XFRMA_ALG_CRYPT, cipher->kernel_name, sa.encryption_key);
        auto* a = put_algo<xfrm_algo_auth>(nlh, XFRMA_ALG_AUTH_TRUNC, auth->kernel_name, sa.integrity_key);
        a->alg_trunc_len = auth->truncation_bits;
    }
    if (sa.outbound_seq != 0) {
        // xfrm_state_construct() applies XFRMA_REPLAY_VAL (xfrm_update_ae_params) before the SA
        // is visible: no packet leaves with a lower number.
        const xfrm_replay_state replay{sa.outbound_seq, 0, 0};
        mnl_attr_put(nlh, XFRMA_REPLAY_VAL, sizeof(replay), &replay);
    }
    put_mark(nlh, sa.mark);
    append(out, nlh, ObjectKind::sa, sa.dst.family, what);
    return {};
}

void build_sa_id(MessageBuffer& out, const SaId& id, bool get) {
    Scratch s;
    nlmsghdr* nlh = s.header(get ? XFRM_MSG_GETSA : XFRM_MSG_DELSA, 0);
    auto* sid = static_cast<xfrm_usersa_id*>(mnl_nlmsg_put_extra_header(nlh, sizeof(xfrm_usersa_id)));
    sid->daddr = to_xfrm(id.dst);
    sid->spi = htonl(id.spi);
    sid->family = static_cast<uint16_t>(to_af(id.dst.family));
    sid->proto = kIpprotoEsp;
    put_mark(nlh, id.mark);
    append(out, nlh, ObjectKind::sa, id.dst.family,
           std::string(get ? "get" : "delete") + " SA spi " + common::hex_spi(id.spi) + " dst " +
               id.dst.to_string());
}

void build_set_outbound_seq(MessageBuffer& out, const SaId& id, uint32_t seq) {
    Scratch s;
    // XFRM_MSG_NEWAE replaces the SA's replay state (net/xfrm/xfrm_user.c: xfrm_new_ae wants
    // NLM_F_REPLACE; xfrm_update_ae_params copies the whole struct xfrm_replay_state under x->lock).
    nlmsghdr* nlh = s.header(XFRM_MSG_NEWAE, NLM_F_REPLACE);
    auto* ae = static_cast<xfrm_aevent_id*>(mnl_nlmsg_put_extra_header(nlh, sizeof(xfrm_aevent_id)));
    ae->sa_id.daddr = to_xfrm(id.dst);
    ae->sa_id.spi = htonl(id.spi);
    ae->sa_id.family = static_cast<uint16_t>(to_af(id.dst.family));
    ae->sa_id.proto = kIpprotoEsp;
    // An outbound SA's inbound half (seq, bitmap) is unused: zero, as the kernel starts it.
    const xfrm_replay_state replay{seq, 0, 0};
    mnl_attr_put(nlh, XFRMA_REPLAY_VAL, sizeof(replay), &replay);
    put_mark(nlh, id.mark);
    append(out, nlh, ObjectKind::sa, id.dst.family,
           "set the outbound sequence number of SA spi " + common::hex_spi(id.spi) + " dst " +
               id.dst.to_string() + " to " + std::to_string(seq));
}

common::Status build_policy(MessageBuffer& out, const PolicySpec& p, uint32_t owner, bool update) {
    const std::string what = std::string(update ? "update" : "add") + " policy " + selector_text(p.selector) +
                             " dir " + dir_name(p.dir);
    if (p.selector.src.address.family != p.selector.dst.address.family)
        return common::make_error(what + ": selector src and dst families differ");

    Scratch s;
    nlmsghdr* nlh =
        s.header(update ? XFRM_MSG_UPDPOLICY : XFRM_MSG_NEWPOLICY, update ? 0 : NLM_F_CREATE | NLM_F_EXCL);
    auto* info =
        static_cast<xfrm_userpolicy_info*>(mnl_nlmsg_put_extra_header(nlh, sizeof(xfrm_userpolicy_info)));
    fill_selector(info->sel, p.selector, owner);
    info->lft.soft_byte_limit = info->lft.hard_byte_limit = XFRM_INF;
    info->lft.soft_packet_limit = info->lft.hard_packet_limit = XFRM_INF;
    info->priority = p.priority;
    info->dir = static_cast<uint8_t>(p.dir);
    info->action = static_cast<uint8_t>(p.action);
    info->share = XFRM_SHARE_ANY;

    if (!p.templates.empty()) {
        std::vector<xfrm_user_tmpl> tmpls(p.templates.size());
        for (std::size_t i = 0; i < p.templates.size(); ++i) {
            const Template& t = p.templates[i];
            xfrm_user_tmpl& k = tmpls[i];
            const Family fam = t.dst ? t.dst->family : p.selector.dst.address.family;
            k.family = static_cast<uint16_t>(to_af(fam));
            if (t.dst) k.id.daddr = to_xfrm(*t.dst);
            if (t.src) k.saddr = to_xfrm(*t.src);
            k.id.spi = htonl(t.spi);
            k.id.proto = kIpprotoEsp;
            k.reqid = t.reqid;
            k.mode = static_cast<uint8_t>(t.mode);
            k.share = XFRM_SHARE_ANY;
            k.optional = t.level == Level::use ? 1 : 0;
            k.aalgos = k.ealgos = k.calgos = ~0u;  // any algorithm
        }
        mnl_attr_put(nlh, XFRMA_TMPL, tmpls.size() * sizeof(xfrm_user_tmpl), tmpls.data());
    }
    put_mark(nlh, p.mark);
    out.append({reinterpret_cast<const uint8_t*>(nlh), nlh->nlmsg_len}, ObjectKind::policy,
               p.selector.dst.address.family, what);
    return {};
}

void build_delete_policy(MessageBuffer& out, const PolicyId& id, uint32_t owner) {
    Scratch s;
    nlmsghdr* nlh = s.header(XFRM_MSG_DELPOLICY, 0);
    auto* pid = static_cast<xfrm_userpolicy_id*>(mnl_nlmsg_put_extra_header(nlh, sizeof(xfrm_userpolicy_id)));
    fill_selector(pid->sel, id.selector, owner);
    pid->dir = static_cast<uint8_t>(id.dir);
    put_mark(nlh, id.mark);
    out.append({reinterpret_cast<const uint8_t*>(nlh), nlh->nlmsg_len}, ObjectKind::policy,
               id.selector.dst.address.family,
               "delete policy " + selector_text(id.selector) + " dir " + dir_name(id.dir));
}

void build_sa_dump(MessageBuffer& out) {
    Scratch s;
    nlmsghdr* nlh = s.header(XFRM_MSG_GETSA, NLM_F_DUMP);
    mnl_nlmsg_put_extra_header(nlh, sizeof(xfrm_usersa_info));
    out.append({reinterpret_cast<const uint8_t*>(nlh), nlh->nlmsg_len}, ObjectKind::sa, Family::ipv4,
               "dump SAs");
}

void build_policy_dump(MessageBuffer& out) {
    Scratch s;
    nlmsghdr* nlh = s.header(XFRM_MSG_GETPOLICY, NLM_F_DUMP);
    mnl_nlmsg_put_extra_header(nlh, sizeof(xfrm_userpolicy_info));
    out.append({reinterpret_cast<const uint8_t*>(nlh), nlh->nlmsg_len}, ObjectKind::policy, Family::ipv4,
               "dump policies");
}

}  // namespace xfrm::detail
