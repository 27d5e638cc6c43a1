// Parsing NETLINK_XFRM replies: SA and policy dumps, GETSA replies.
#include "xfrm_messages.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/xfrm.h>

#include <cstring>

namespace xfrm::detail {

Selector selector_from(const xfrm_selector& sel) {
    Selector s;
    s.dst = {from_xfrm(sel.daddr, sel.family), sel.prefixlen_d};
    s.src = {from_xfrm(sel.saddr, sel.family), sel.prefixlen_s};
    s.proto = sel.proto;
    s.dst_port = sel.dport_mask ? ntohs(sel.dport) : 0;
    s.src_port = sel.sport_mask ? ntohs(sel.sport) : 0;
    // A whole-port mask is the default (a port set alone); a block keeps its mask.
    const auto mask = [](uint16_t m) -> uint16_t { return m == 0xffff ? 0 : m; };
    s.dst_port_mask = mask(ntohs(sel.dport_mask));
    s.src_port_mask = mask(ntohs(sel.sport_mask));
    return s;
}

SaState sa_state_from_info(const void* raw) {
    const auto copy = read_struct<xfrm_usersa_info>(raw);
    const auto* info = &copy;
    SaState st;
    st.src = from_xfrm(info->saddr, info->family);
    st.dst = from_xfrm(info->id.daddr, info->family);
    st.spi = ntohl(info->id.spi);
    st.mode = info->mode == XFRM_MODE_TRANSPORT ? Mode::transport : Mode::tunnel;
    st.reqid = info->reqid;
    st.owner = info->sel.user;
    st.replay_window = info->replay_window;
    st.soft = {info->lft.soft_add_expires_seconds, from_limit(info->lft.soft_byte_limit),
               from_limit(info->lft.soft_packet_limit)};
    st.hard = {info->lft.hard_add_expires_seconds, from_limit(info->lft.hard_byte_limit),
               from_limit(info->lft.hard_packet_limit)};
    st.bytes = info->curlft.bytes;
    st.packets = info->curlft.packets;
    st.add_time = info->curlft.add_time;
    st.use_time = info->curlft.use_time;
    st.replay_errors = info->stats.replay;
    st.integrity_failures = info->stats.integrity_failed;
    return st;
}

namespace {

// alg_name is a char[64] the kernel terminates; do not rely on it.
template <std::size_t N>
std::string_view bounded(const char (&name)[N]) {
    return {name, strnlen(name, N)};
}

struct SaAttrs {
    SaState* state;
    const CipherInfo* cipher = nullptr;
    uint16_t cipher_key_bits = 0;
    const AuthInfo* auth = nullptr;
};

int sa_attr(const nlattr* attr, void* data) {
    auto* a = static_cast<SaAttrs*>(data);
    const auto len = mnl_attr_get_payload_len(attr);
    switch (mnl_attr_get_type(attr)) {
        case XFRMA_ALG_AEAD:
            if (len >= sizeof(xfrm_algo_aead)) {
                const auto* algo = static_cast<const xfrm_algo_aead*>(mnl_attr_get_payload(attr));
                a->cipher = find_cipher_by_kernel_name(bounded(algo->alg_name));
                if (a->cipher) a->cipher_key_bits = static_cast<uint16_t>(algo->alg_key_len - a->cipher->salt_bits);
            }
            break;
        case XFRMA_ALG_CRYPT:
            if (len >= sizeof(xfrm_algo)) {
                const auto* algo = static_cast<const xfrm_algo*>(mnl_attr_get_payload(attr));
                a->cipher = find_cipher_by_kernel_name(bounded(algo->alg_name));
                a->cipher_key_bits = static_cast<uint16_t>(algo->alg_key_len);
            }
            break;
        case XFRMA_ALG_AUTH_TRUNC:
            if (len >= sizeof(xfrm_algo_auth)) {
                const auto* algo = static_cast<const xfrm_algo_auth*>(mnl_attr_get_payload(attr));
                a->auth = find_auth_by_kernel_name(bounded(algo->alg_name));
            }
            break;
        case XFRMA_MARK:
            if (len >= sizeof(xfrm_mark)) {
                const auto* m = static_cast<const xfrm_mark*>(mnl_attr_get_payload(attr));
                a->state->mark = Mark{m->v, m->m};
            }
            break;
        case XFRMA_REPLAY_VAL:
            if (len >= sizeof(xfrm_replay_state)) {
                const auto r = read_struct<xfrm_replay_state>(mnl_attr_get_payload(attr));
                a->state->outbound_seq = r.oseq;
                a->state->inbound_seq = r.seq;
            }
            break;
        default:
            break;
    }
    return MNL_CB_OK;
}

struct PolicyAttrs {
    PolicyState* state;
};

int policy_attr(const nlattr* attr, void* data) {
    auto* p = static_cast<PolicyAttrs*>(data);
    const auto len = mnl_attr_get_payload_len(attr);
    if (mnl_attr_get_type(attr) == XFRMA_TMPL) {
        const auto* tmpls = static_cast<const uint8_t*>(mnl_attr_get_payload(attr));
        for (std::size_t i = 0; i < len / sizeof(xfrm_user_tmpl); ++i) {
            const auto k = read_struct<xfrm_user_tmpl>(tmpls + i * sizeof(xfrm_user_tmpl));
            Template t;
            const Address dst = from_xfrm(k.id.daddr, k.family);
            const Address src = from_xfrm(k.saddr, k.family);
            if (!dst.is_any()) t.dst = dst;
            if (!src.is_any()) t.src = src;
            t.spi = ntohl(k.id.spi);
            t.mode = k.mode == XFRM_MODE_TRANSPORT ? Mode::transport : Mode::tunnel;
            t.reqid = k.reqid;
            t.level = k.optional ? Level::use : Level::required;
            p->state->spec.templates.push_back(t);
        }
    } else if (mnl_attr_get_type(attr) == XFRMA_MARK && len >= sizeof(xfrm_mark)) {
        const auto* m = static_cast<const xfrm_mark*>(mnl_attr_get_payload(attr));
        p->state->spec.mark = Mark{m->v, m->m};
    }
    return MNL_CB_OK;
}

}  // namespace

std::optional<SaState> parse_sa(std::span<const uint8_t> message) {
    const auto* nlh = reinterpret_cast<const nlmsghdr*>(message.data());
    if (message.size() < sizeof(nlmsghdr) || nlh->nlmsg_type != XFRM_MSG_NEWSA ||
        nlh->nlmsg_len < mnl_nlmsg_size(sizeof(xfrm_usersa_info)))
        return std::nullopt;
    SaState st = sa_state_from_info(mnl_nlmsg_get_payload(nlh));
    SaAttrs attrs{&st};
    mnl_attr_parse(nlh, sizeof(xfrm_usersa_info), sa_attr, &attrs);
    if (attrs.cipher) {
        EspTransform t{attrs.cipher->id, attrs.cipher_key_bits,
                       attrs.auth ? attrs.auth->id : AuthAlgorithmId::none};
        if (validate(t).empty()) st.transform = t;
    }
    return st;
}

std::optional<PolicyState> parse_policy(std::span<const uint8_t> message) {
    const auto* nlh = reinterpret_cast<const nlmsghdr*>(message.data());
    if (message.size() < sizeof(nlmsghdr) || nlh->nlmsg_type != XFRM_MSG_NEWPOLICY ||
        nlh->nlmsg_len < mnl_nlmsg_size(sizeof(xfrm_userpolicy_info)))
        return std::nullopt;
    const auto copy = read_struct<xfrm_userpolicy_info>(mnl_nlmsg_get_payload(nlh));
    const auto* info = &copy;
    PolicyState st;
    st.spec.selector = selector_from(info->sel);
    st.spec.dir = static_cast<Direction>(info->dir);
    st.spec.action = info->action == XFRM_POLICY_BLOCK ? Action::block : Action::allow;
    st.spec.priority = info->priority;
    st.index = info->index;
    st.owner = info->sel.user;
    PolicyAttrs attrs{&st};
    mnl_attr_parse(nlh, sizeof(xfrm_userpolicy_info), policy_attr, &attrs);
    return st;
}

}  // namespace xfrm::detail
