// Encoding of the compiled table into nf_tables messages. The expression sequences mirror
// what nft(8) 1.0.6 emits for the same syntax (checked with `nft --debug=netlink`), so
// `nft list table` prints our rules in readable nft syntax.
#include "nft_encode.h"

#include <arpa/inet.h>
#include <libnftnl/common.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netlink.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <new>
#include <optional>

#include "nftnl_ptr.h"

namespace policy::detail {

std::string kernel_comment(const std::string& comment) {
    constexpr std::size_t kMaxComment = 127;  // nft's NFTNL_UDATA_COMMENT_MAXLEN is 128 with the NUL
    return comment.size() > kMaxComment ? comment.substr(0, kMaxComment) : comment;
}

namespace {

constexpr std::size_t kMaxMessage = 64 * 1024;
constexpr std::size_t kIfnameLen = 16;  // IFNAMSIZ

// nft datatype ids (nftables include/datatype.h), so nft can print our sets' keys.
constexpr std::uint32_t kTypeIpv4 = 7, kTypeIpv6 = 8, kTypeInetProto = 12, kTypeInetService = 13,
                        kTypeIfname = 41;
constexpr unsigned kTypeBits = 6;
constexpr std::uint32_t kByteorderHost = 1;  // nftables enum byteorder: BYTEORDER_HOST_ENDIAN  //
                                             // concatenated types: (type << 6) | subtype, per field

constexpr std::uint32_t kReg = NFT_REG_1;

template <typename T>
T* check_alloc(T* p) {
    if (!p) throw std::bad_alloc();
    return p;
}

ExprPtr expr(const char* name) { return ExprPtr(check_alloc(nftnl_expr_alloc(name))); }

class RuleBuilder {
public:
    RuleBuilder(const std::string& table, const std::string& chain) : rule_(check_alloc(nftnl_rule_alloc())) {
        nftnl_rule_set_u32(rule_.get(), NFTNL_RULE_FAMILY, NFPROTO_INET);
        nftnl_rule_set_str(rule_.get(), NFTNL_RULE_TABLE, table.c_str());
        nftnl_rule_set_str(rule_.get(), NFTNL_RULE_CHAIN, chain.c_str());
    }

    void meta_load(std::uint32_t key, std::uint32_t dreg = kReg) {
        auto e = expr("meta");
        nftnl_expr_set_u32(e.get(), NFTNL_EXPR_META_KEY, key);
        nftnl_expr_set_u32(e.get(), NFTNL_EXPR_META_DREG, dreg);
        add(std::move(e));
    }
    void meta_set(std::uint32_t key, std::uint32_t sreg = kReg) {
        auto e = expr("meta");
        nftnl_expr_set_u32(e.get(), NFTNL_EXPR_META_KEY, key);
        nftnl_expr_set_u32(e.get(), NFTNL_EXPR_META_SREG, sreg);
        add(std::move(e));
    }
    void rt_load(std::uint32_t key) {
        auto e = expr("rt");
        nftnl_expr_set_u32(e.get(), NFTNL_EXPR_RT_KEY, key);
        nftnl_expr_set_u32(e.get(), NFTNL_EXPR_RT_DREG, kReg);
        add(std::move(e));
    }
    void fib_daddr_oifname() {
        auto e = expr("fib");
        nftnl_expr_set_u32(e.get(), NFTNL_EXPR_FIB_FLAGS, NFTA_FIB_F_DADDR);
        nftnl_expr_set_u32(e.get(), NFTNL_EXPR_FIB_RESULT, NFT_FIB_RESULT_OIFNAME);
        nftnl_expr_set_u32(e.get(), NFTNL_EXPR_FIB_DREG, kReg);
        add(std::move(e));
    }
    void cmp(std::uint32_t op, const void* data, std::size_t len) {
        auto e = expr("cmp");
        nftnl_expr_set_u32(e.get(), NFTNL_EXPR_CMP_SREG, kReg);
        nftnl_expr_set_u32(e.get(), NFTNL_EXPR_CMP_OP, op);
        nftnl_expr_set(e.get(), NFTNL_EXPR_CMP_DATA, data, static_cast<std::uint32_t>(len));
        add(std::move(e));
    }
    void cmp_u8(std::uint8_t v) { cmp(NFT_CMP_EQ, &v, 1); }
    void payload_load(std::uint32_t base, std::uint32_t offset, std::uint32_t len,
                      std::uint32_t dreg = kReg) {
        auto e = expr("payload");
        nftnl_expr_set_u32(e.get(), NFTNL_EXPR_PAYLOAD_BASE, base);
        nftnl_expr_set_u32(e.get(), NFTNL_EXPR_PAYLOAD_OFFSET, offset);
        nftnl_expr_set_u32(e.get(), NFTNL_EXPR_PAYLOAD_LEN, len);
        nftnl_expr_set_u32(e.get(), NFTNL_EXPR_PAYLOAD_DREG, dreg);
        add(std::move(e));
    }
    // Writes `len` bytes of the IPv4 header and fixes the header checksum (offset 10, RFC 791).
    // Address writes also carry the L4 pseudo-header flag, as nft sets it (no-op for ESP / IPIP).
    void ipv4_write(std::uint32_t offset, std::uint32_t len = 4, bool address = true) {
        auto e = expr("payload");
        nftnl_expr_set_u32(e.get(), NFTNL_EXPR_PAYLOAD_BASE, NFT_PAYLOAD_NETWORK_HEADER);
        nftnl_expr_set_u32(e.get(), NFTNL_EXPR_PAYLOAD_OFFSET, offset);
        nftnl_expr_set_u32(e.get(), NFTNL_EXPR_PAYLOAD_LEN, len);
        nftnl_expr_set_u32(e.get(), NFTNL_EXPR_PAYLOAD_SREG, kReg);
        nftnl_expr_set_u32(e.get(), NFTNL_EXPR_PAYLOAD_CSUM_TYPE, NFT_PAYLOAD_CSUM_INET);
        nftnl_expr_set_u32(e.get(), NFTNL_EXPR_PAYLOAD_CSUM_OFFSET, 10);
        if (address) nftnl_expr_set_u32(e.get(), NFTNL_EXPR_PAYLOAD_FLAGS, NFT_PAYLOAD_L4CSUM_PSEUDOHDR);
        add(std::move(e));
    }
    // IPv6 has no header checksum, and the carrier's ip6ip6 and ESP no transport checksum over
    // the outer addresses (what nft writes for ip6 saddr set on them: no checksum update).
    void ipv6_write(std::uint32_t offset) {
        auto e = expr("payload");
        nftnl_expr_set_u32(e.get(), NFTNL_EXPR_PAYLOAD_BASE, NFT_PAYLOAD_NETWORK_HEADER);
        nftnl_expr_set_u32(e.get(), NFTNL_EXPR_PAYLOAD_OFFSET, offset);
        nftnl_expr_set_u32(e.get(), NFTNL_EXPR_PAYLOAD_LEN, 16);
        nftnl_expr_set_u32(e.get(), NFTNL_EXPR_PAYLOAD_SREG, kReg);
        nftnl_expr_set_u32(e.get(), NFTNL_EXPR_PAYLOAD_CSUM_TYPE, NFT_PAYLOAD_CSUM_NONE);
        add(std::move(e));
    }
    void bitwise_mask(const void* mask, std::size_t len) {
        const std::array<std::uint8_t, 16> zero{};
        auto e = expr("bitwise");
        nftnl_expr_set_u32(e.get(), NFTNL_EXPR_BITWISE_SREG, kReg);
        nftnl_expr_set_u32(e.get(), NFTNL_EXPR_BITWISE_DREG, kReg);
        nftnl_expr_set_u32(e.get(), NFTNL_EXPR_BITWISE_LEN, static_cast<std::uint32_t>(len));
        nftnl_expr_set(e.get(), NFTNL_EXPR_BITWISE_MASK, mask, static_cast<std::uint32_t>(len));
        nftnl_expr_set(e.get(), NFTNL_EXPR_BITWISE_XOR, zero.data(), static_cast<std::uint32_t>(len));
        add(std::move(e));
    }
    void lookup(const std::string& set, std::uint32_t sreg, bool invert) {
        auto e = expr("lookup");
        nftnl_expr_set_u32(e.get(), NFTNL_EXPR_LOOKUP_SREG, sreg);
        nftnl_expr_set_str(e.get(), NFTNL_EXPR_LOOKUP_SET, set.c_str());
        if (invert) nftnl_expr_set_u32(e.get(), NFTNL_EXPR_LOOKUP_FLAGS, NFT_LOOKUP_F_INV);
        add(std::move(e));
    }
    // range: the register (4 octets) between from and to (network order), or outside them (NEQ).
    void range(std::uint32_t op, std::uint32_t from, std::uint32_t to) {
        auto e = expr("range");
        nftnl_expr_set_u32(e.get(), NFTNL_EXPR_RANGE_SREG, kReg);
        nftnl_expr_set_u32(e.get(), NFTNL_EXPR_RANGE_OP, op);
        nftnl_expr_set(e.get(), NFTNL_EXPR_RANGE_FROM_DATA, &from, sizeof from);
        nftnl_expr_set(e.get(), NFTNL_EXPR_RANGE_TO_DATA, &to, sizeof to);
        add(std::move(e));
    }
    void immediate(const void* data, std::size_t len) {
        auto e = expr("immediate");
        nftnl_expr_set_u32(e.get(), NFTNL_EXPR_IMM_DREG, kReg);
        nftnl_expr_set(e.get(), NFTNL_EXPR_IMM_DATA, data, static_cast<std::uint32_t>(len));
        add(std::move(e));
    }
    void verdict(int code, const std::string& chain = {}) {
        auto e = expr("immediate");
        nftnl_expr_set_u32(e.get(), NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
        nftnl_expr_set_u32(e.get(), NFTNL_EXPR_IMM_VERDICT, static_cast<std::uint32_t>(code));
        if (!chain.empty()) nftnl_expr_set_str(e.get(), NFTNL_EXPR_IMM_CHAIN, chain.c_str());
        add(std::move(e));
    }
    void hton16() {
        auto e = expr("byteorder");
        nftnl_expr_set_u32(e.get(), NFTNL_EXPR_BYTEORDER_SREG, kReg);
        nftnl_expr_set_u32(e.get(), NFTNL_EXPR_BYTEORDER_DREG, kReg);
        nftnl_expr_set_u32(e.get(), NFTNL_EXPR_BYTEORDER_OP, NFT_BYTEORDER_HTON);
        nftnl_expr_set_u32(e.get(), NFTNL_EXPR_BYTEORDER_LEN, 2);
        nftnl_expr_set_u32(e.get(), NFTNL_EXPR_BYTEORDER_SIZE, 2);
        add(std::move(e));
    }
    // Writes `len` bytes at `offset` of TCP option `type` (nft: exthdr write tcpopt).
    void tcp_option_write(std::uint8_t type, std::uint32_t offset, std::uint32_t len) {
        auto e = expr("exthdr");
        nftnl_expr_set_u8(e.get(), NFTNL_EXPR_EXTHDR_TYPE, type);
        nftnl_expr_set_u32(e.get(), NFTNL_EXPR_EXTHDR_OFFSET, offset);
        nftnl_expr_set_u32(e.get(), NFTNL_EXPR_EXTHDR_LEN, len);
        nftnl_expr_set_u32(e.get(), NFTNL_EXPR_EXTHDR_SREG, kReg);
        nftnl_expr_set_u32(e.get(), NFTNL_EXPR_EXTHDR_OP, NFT_EXTHDR_OP_TCPOPT);
        add(std::move(e));
    }
    void notrack() { add(expr("notrack")); }
    void counter() { add(expr("counter")); }
    void comment(const std::string& text) {
        if (text.empty()) return;
        UdataPtr u(check_alloc(nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN)));
        nftnl_udata_put_strz(u.get(), NFTNL_UDATA_RULE_COMMENT, kernel_comment(text).c_str());
        nftnl_rule_set_data(rule_.get(), NFTNL_RULE_USERDATA, nftnl_udata_buf_data(u.get()),
                            nftnl_udata_buf_len(u.get()));
    }

    nftnl_rule* get() { return rule_.get(); }

private:
    void add(ExprPtr e) { nftnl_rule_add_expr(rule_.get(), e.release()); }  // the rule owns it now
    RulePtr rule_;
};

std::array<char, kIfnameLen> ifname_bytes(const std::string& name) {
    std::array<char, kIfnameLen> b{};
    std::memcpy(b.data(), name.data(), std::min(name.size(), kIfnameLen - 1));
    return b;
}

std::uint8_t nfproto(Family f) { return f == Family::ipv6 ? NFPROTO_IPV6 : NFPROTO_IPV4; }

// Header offsets (RFC 791, RFC 8200).
std::uint32_t addr_offset(Family f, bool source) {
    if (f == Family::ipv6) return source ? 8 : 24;
    return source ? 12 : 16;
}

void encode_prefix(RuleBuilder& b, const MatchPrefix& m) {
    const auto& p = m.prefix;
    // Load only the bytes the prefix covers (as nft does); mask the partial last byte.
    const std::uint32_t bytes = (p.length + 7u) / 8u;
    b.payload_load(NFT_PAYLOAD_NETWORK_HEADER, addr_offset(p.family, m.source), bytes);
    if (p.length % 8) {
        std::array<std::uint8_t, 16> mask{};
        for (std::size_t bit = 0; bit < p.length; ++bit)
            mask[bit / 8] |= static_cast<std::uint8_t>(0x80u >> (bit % 8));
        b.bitwise_mask(mask.data(), bytes);
    }
    b.cmp(NFT_CMP_EQ, p.address.data(), bytes);
}

void encode_port(RuleBuilder& b, const MatchPort& m) {
    b.payload_load(NFT_PAYLOAD_TRANSPORT_HEADER, m.source ? 0 : 2, 2);
    const std::uint16_t first = htons(m.range.first), last = htons(m.range.last);
    if (m.range.is_single()) {
        b.cmp(NFT_CMP_EQ, &first, 2);
    } else {
        b.cmp(NFT_CMP_GTE, &first, 2);
        b.cmp(NFT_CMP_LTE, &last, 2);
    }
}

// saddr . daddr . l4proto . sport . dport, each field in its own 32-bit register(s).
void encode_fail_open_lookup(RuleBuilder& b, const MatchFailOpenSet& m) {
    const std::uint32_t alen = m.family == Family::ipv6 ? 16 : 4;
    std::uint32_t reg = NFT_REG32_00;
    b.payload_load(NFT_PAYLOAD_NETWORK_HEADER, addr_offset(m.family, !m.mirrored), alen, reg);
    reg += alen / 4;
    b.payload_load(NFT_PAYLOAD_NETWORK_HEADER, addr_offset(m.family, m.mirrored), alen, reg);
    reg += alen / 4;
    b.meta_load(NFT_META_L4PROTO, reg++);
    b.payload_load(NFT_PAYLOAD_TRANSPORT_HEADER, m.mirrored ? 2 : 0, 2, reg++);
    b.payload_load(NFT_PAYLOAD_TRANSPORT_HEADER, m.mirrored ? 0 : 2, 2, reg++);
    b.lookup(m.set, NFT_REG32_00, false);
}

// saddr . daddr . l4proto: no transport header, so fragments match as well.
void encode_scope_lookup(RuleBuilder& b, const MatchScopeSet& m) {
    const std::uint32_t alen = m.family == Family::ipv6 ? 16 : 4;
    std::uint32_t reg = NFT_REG32_00;
    b.payload_load(NFT_PAYLOAD_NETWORK_HEADER, addr_offset(m.family, true), alen, reg);
    reg += alen / 4;
    b.payload_load(NFT_PAYLOAD_NETWORK_HEADER, addr_offset(m.family, false), alen, reg);
    reg += alen / 4;
    b.meta_load(NFT_META_L4PROTO, reg);
    b.lookup(m.set, NFT_REG32_00, false);
}

struct MatchEncoder {
    RuleBuilder& b;
    void operator()(const MatchIfname& m) const {
        b.meta_load(m.output ? NFT_META_OIFNAME : NFT_META_IIFNAME);
        const auto name = ifname_bytes(m.name);
        b.cmp(m.negate ? NFT_CMP_NEQ : NFT_CMP_EQ, name.data(), name.size());
    }
    void operator()(const MatchIfnameSet& m) const {
        b.meta_load(m.output ? NFT_META_OIFNAME : NFT_META_IIFNAME);
        b.lookup(m.set, kReg, m.negate);
    }
    void operator()(const MatchFamily& m) const {
        b.meta_load(NFT_META_NFPROTO);
        b.cmp_u8(nfproto(m.family));
    }
    void operator()(const MatchL4Proto& m) const {
        b.meta_load(NFT_META_L4PROTO);
        b.cmp_u8(m.protocol);
    }
    void operator()(const MatchPrefix& m) const { encode_prefix(b, m); }
    void operator()(const MatchPort& m) const { encode_port(b, m); }
    void operator()(const MatchMark& m) const {
        b.meta_load(NFT_META_MARK);
        b.cmp(NFT_CMP_EQ, &m.mark, sizeof m.mark);  // host byte order, like skb->mark
    }
    void operator()(const MatchSecpath& m) const {
        b.meta_load(NFT_META_SECPATH);
        b.cmp_u8(m.exists ? 1 : 0);
    }
    void operator()(const MatchRtIpsec& m) const {
        b.rt_load(NFT_RT_XFRM);
        b.cmp_u8(m.exists ? 1 : 0);
    }
    void operator()(const MatchFailOpenSet& m) const { encode_fail_open_lookup(b, m); }
    void operator()(const MatchScopeSet& m) const { encode_scope_lookup(b, m); }
    void operator()(const MatchTcpSyn&) const {
        // TCP flags: byte 13 of the TCP header (RFC 9293 §3.1); SYN 0x02, RST 0x04.
        const std::uint8_t mask = 0x06, syn = 0x02;
        b.meta_load(NFT_META_L4PROTO);
        b.cmp_u8(6);
        b.payload_load(NFT_PAYLOAD_TRANSPORT_HEADER, 13, 1);
        b.bitwise_mask(&mask, 1);
        b.cmp(NFT_CMP_EQ, &syn, 1);
    }
    void operator()(const MatchIcmpv6Types& m) const {
        // ICMPv6 type: byte 0 of the ICMPv6 header (RFC 4443 §2.1).
        b.payload_load(NFT_PAYLOAD_TRANSPORT_HEADER, 0, 1);
        if (m.first == m.last) {
            b.cmp(NFT_CMP_EQ, &m.first, 1);
        } else {
            b.cmp(NFT_CMP_GTE, &m.first, 1);
            b.cmp(NFT_CMP_LTE, &m.last, 1);
        }
    }
    void operator()(const MatchHopLimit& m) const {
        // Hop Limit: byte 7 of the IPv6 header (RFC 8200 §3).
        b.payload_load(NFT_PAYLOAD_NETWORK_HEADER, 7, 1);
        b.cmp(NFT_CMP_EQ, &m.value, 1);
    }
    void operator()(const MatchIpv4Fragment&) const {
        // Fragment offset: low 13 bits of bytes 6-7 of the IPv4 header (RFC 791).
        const std::uint8_t mask[2] = {0x1f, 0xff}, zero[2] = {0, 0};
        b.payload_load(NFT_PAYLOAD_NETWORK_HEADER, 6, 2);
        b.bitwise_mask(mask, 2);
        b.cmp(NFT_CMP_NEQ, zero, 2);
    }
    void operator()(const MatchEspSpi& m) const {
        const std::uint32_t spi = htonl(m.spi);
        b.payload_load(NFT_PAYLOAD_TRANSPORT_HEADER, 0, 4);
        b.cmp(NFT_CMP_EQ, &spi, 4);
    }
    void operator()(const MatchEspSequenceOutside& m) const {
        b.payload_load(NFT_PAYLOAD_TRANSPORT_HEADER, 4, 4);
        // Network order, as the packet holds it (nft compares range data bytewise).
        if (m.accepted.size() == 2) {
            b.range(NFT_RANGE_EQ, htonl(m.accepted[0].last + 1), htonl(m.accepted[1].first - 1));
        } else if (m.accepted.size() == 1) {
            b.range(NFT_RANGE_NEQ, htonl(m.accepted[0].first), htonl(m.accepted[0].last));
        } else {
            b.range(NFT_RANGE_EQ, 0, 0xffffffffu);
        }
    }
    void operator()(const MatchRouteOifname& m) const {
        b.fib_daddr_oifname();
        const auto name = ifname_bytes(m.name);
        b.cmp(NFT_CMP_EQ, name.data(), name.size());
    }
};

struct StatementEncoder {
    RuleBuilder& b;
    void operator()(const SetMark& s) const {
        b.immediate(&s.mark, sizeof s.mark);
        b.meta_set(NFT_META_MARK);
    }
    void operator()(const SetAddresses& s) const {
        if (s.source.family == common::IpFamily::ipv6) {
            // IPv6 source and destination: bytes 8-23 and 24-39 of the header (RFC 8200 §3).
            b.immediate(s.source.bytes.data(), 16);
            b.ipv6_write(8);
            b.immediate(s.destination.bytes.data(), 16);
            b.ipv6_write(24);
            return;
        }
        b.immediate(s.source.bytes.data(), 4);
        b.ipv4_write(12);
        b.immediate(s.destination.bytes.data(), 4);
        b.ipv4_write(16);
    }
    // Inner header of the IPIP carrier starts at byte 20 (the kernel's outer header has no
    // options): inner saddr at 20+12 = 32 (@nh,256,32), inner daddr at 36 (@nh,288,32).
    // Of the ip6ip6 carrier at byte 40 (encaplimit none: no destination option between the
    // headers): inner saddr at 40+8 = 48 (@nh,384,128), inner daddr at 64 (@nh,512,128).
    void operator()(const CopyInnerAddresses& c) const {
        if (c.family == Family::ipv6) {
            b.payload_load(NFT_PAYLOAD_NETWORK_HEADER, 48, 16);
            b.ipv6_write(8);
            b.payload_load(NFT_PAYLOAD_NETWORK_HEADER, 64, 16);
            b.ipv6_write(24);
            return;
        }
        b.payload_load(NFT_PAYLOAD_NETWORK_HEADER, 32, 4);
        b.ipv4_write(12);
        b.payload_load(NFT_PAYLOAD_NETWORK_HEADER, 36, 4);
        b.ipv4_write(16);
    }
    void operator()(const Notrack&) const { b.notrack(); }
    // Flags and fragment offset: bytes 6-7 of the IPv4 header, DF is 0x4000 (RFC 791).
    void operator()(const ClearDf&) const {
        const std::uint8_t mask[2] = {0xbf, 0xff};
        b.payload_load(NFT_PAYLOAD_NETWORK_HEADER, 6, 2);
        b.bitwise_mask(mask, 2);
        b.ipv4_write(6, 2, /*address=*/false);
    }
    // MSS option (kind 2, RFC 9293 §3.2): its 2-byte value at offset 2; rt tcpmss is the
    // route's MTU minus the headers, in host order.
    void operator()(const ClampMssToRoute&) const {
        b.rt_load(NFT_RT_TCPMSS);
        b.hton16();
        b.tcp_option_write(2, 2, 2);
    }
};

int verdict_code(VerdictKind k) {
    switch (k) {
        case VerdictKind::accept:
            return NF_ACCEPT;
        case VerdictKind::drop:
            return NF_DROP;
        case VerdictKind::ret:
            return NFT_RETURN;
        case VerdictKind::jump:
            return NFT_JUMP;
        case VerdictKind::none:
            break;
    }
    return NFT_CONTINUE;
}

std::uint32_t hook_number(Hook h) {
    switch (h) {
        case Hook::prerouting:
            return NF_INET_PRE_ROUTING;
        case Hook::input:
            return NF_INET_LOCAL_IN;
        case Hook::forward:
            return NF_INET_FORWARD;
        case Hook::output:
            return NF_INET_LOCAL_OUT;
        case Hook::postrouting:
            return NF_INET_POST_ROUTING;
    }
    return NF_INET_FORWARD;
}

// Key of an element: start (first=true) or end of every field's range, each field padded to
// 32-bit registers. Fail-open keys have the two port fields, scope keys stop after l4proto.
std::vector<std::uint8_t> element_key(const SetElement& e, Family family, bool ports, bool first) {
    const auto& s = e.selector;
    const std::size_t alen = family == Family::ipv6 ? 16 : 4;
    std::vector<std::uint8_t> key(2 * alen + (ports ? 12 : 4), 0);
    const auto put_addr = [&](std::size_t at, const Prefix& p) {
        const auto a = first ? p.address : p.last_address();
        std::memcpy(key.data() + at, a.data(), alen);
    };
    put_addr(0, s.source ? *s.source : Prefix::any(family));
    put_addr(alen, s.destination ? *s.destination : Prefix::any(family));
    key[2 * alen] = s.protocol ? *s.protocol : (first ? 0 : 255);
    if (!ports) return key;
    const auto put_port = [&](std::size_t at, const std::optional<PortRange>& r) {
        const PortRange range = r ? *r : PortRange{};
        const std::uint16_t v = htons(first ? range.first : range.last);
        std::memcpy(key.data() + at, &v, 2);
    };
    put_port(2 * alen + 4, s.source_port);
    put_port(2 * alen + 8, s.destination_port);
    return key;
}

SetPtr set_object(const std::string& table, const std::string& name) {
    SetPtr s(check_alloc(nftnl_set_alloc()));
    nftnl_set_set_u32(s.get(), NFTNL_SET_FAMILY, NFPROTO_INET);
    nftnl_set_set_str(s.get(), NFTNL_SET_TABLE, table.c_str());
    nftnl_set_set_str(s.get(), NFTNL_SET_NAME, name.c_str());
    return s;
}

// Elements per message: keeps each message well below kMaxMessage (an element is < 300 bytes).
constexpr std::size_t kElementsPerMessage = 128;

void add_elements(const std::string& table, const SetSpec& spec, const std::vector<SetElement>& elements,
                  Batch& batch) {
    if (spec.kind != SetSpec::Kind::ifname && elements.size() > kElementsPerMessage) {
        for (std::size_t i = 0; i < elements.size(); i += kElementsPerMessage) {
            const auto end = std::min(elements.size(), i + kElementsPerMessage);
            add_elements(table, spec, std::vector<SetElement>(elements.begin() + i, elements.begin() + end),
                         batch);
        }
        return;
    }
    auto s = set_object(table, spec.name);
    std::size_t count = 0;
    if (spec.kind == SetSpec::Kind::ifname) {
        for (const auto& name : spec.ifnames) {
            SetElemPtr e(check_alloc(nftnl_set_elem_alloc()));
            const auto key = ifname_bytes(name);
            nftnl_set_elem_set(e.get(), NFTNL_SET_ELEM_KEY, key.data(), key.size());
            nftnl_set_elem_add(s.get(), e.release());  // the set owns it now
            ++count;
        }
    } else {
        for (const auto& el : elements) {
            SetElemPtr e(check_alloc(nftnl_set_elem_alloc()));
            const bool ports = spec.kind == SetSpec::Kind::fail_open;
            const auto start = element_key(el, spec.family, ports, true),
                       end = element_key(el, spec.family, ports, false);
            nftnl_set_elem_set(e.get(), NFTNL_SET_ELEM_KEY, start.data(),
                               static_cast<std::uint32_t>(start.size()));
            nftnl_set_elem_set(e.get(), NFTNL_SET_ELEM_KEY_END, end.data(),
                               static_cast<std::uint32_t>(end.size()));
            UdataPtr u(check_alloc(nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN)));
            nftnl_udata_put_strz(u.get(), NFTNL_UDATA_SET_ELEM_COMMENT, kernel_comment(el.comment).c_str());
            nftnl_set_elem_set(e.get(), NFTNL_SET_ELEM_USERDATA, nftnl_udata_buf_data(u.get()),
                               nftnl_udata_buf_len(u.get()));
            nftnl_set_elem_add(s.get(), e.release());
            ++count;
        }
    }
    if (count == 0) return;
    auto* nlh = nftnl_nlmsg_build_hdr(batch.reserve(kMaxMessage), NFT_MSG_NEWSETELEM, NFPROTO_INET,
                                      NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK, batch.next_seq());
    nftnl_set_elems_nlmsg_build_payload(nlh, s.get());
    batch.commit("adding " + std::to_string(count) + " element(s) to set " + spec.name);
}

void encode_set(const std::string& table, const SetSpec& spec, std::uint32_t set_id, Batch& batch) {
    auto s = set_object(table, spec.name);
    nftnl_set_set_u32(s.get(), NFTNL_SET_ID, set_id);  // mandatory in NEWSET (nf_tables_newset)
    if (spec.kind == SetSpec::Kind::ifname) {
        nftnl_set_set_u32(s.get(), NFTNL_SET_KEY_TYPE, kTypeIfname);
        nftnl_set_set_u32(s.get(), NFTNL_SET_KEY_LEN, kIfnameLen);
        // Interface names are host-order strings; without this hint nft prints them as "".
        UdataPtr u(check_alloc(nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN)));
        nftnl_udata_put_u32(u.get(), NFTNL_UDATA_SET_KEYBYTEORDER, kByteorderHost);
        nftnl_set_set_data(s.get(), NFTNL_SET_USERDATA, nftnl_udata_buf_data(u.get()),
                           nftnl_udata_buf_len(u.get()));
    } else {
        // A concatenated interval set (pipapo): each field an address/protocol(/port) range.
        const bool ports = spec.kind == SetSpec::Kind::fail_open;
        const std::uint32_t addr_type = spec.family == Family::ipv6 ? kTypeIpv6 : kTypeIpv4;
        const std::uint8_t alen = spec.family == Family::ipv6 ? 16 : 4;
        std::vector<std::uint32_t> types{addr_type, addr_type, kTypeInetProto};
        std::vector<std::uint8_t> fields{alen, alen, 1};
        if (ports) {
            types.insert(types.end(), {kTypeInetService, kTypeInetService});
            fields.insert(fields.end(), {2, 2});
        }
        std::uint32_t type = 0;
        for (const auto t : types) type = (type << kTypeBits) | t;
        nftnl_set_set_u32(s.get(), NFTNL_SET_KEY_TYPE, type);
        nftnl_set_set_u32(s.get(), NFTNL_SET_KEY_LEN, 2u * alen + (ports ? 12u : 4u));
        nftnl_set_set_u32(s.get(), NFTNL_SET_FLAGS, NFT_SET_INTERVAL | NFT_SET_CONCAT);
        nftnl_set_set_data(s.get(), NFTNL_SET_DESC_CONCAT, fields.data(),
                           static_cast<std::uint32_t>(fields.size()));
        // Scope sets count per element: which policy saw traffic, visible in nft list set.
        if (!ports) nftnl_set_add_expr(s.get(), expr("counter").release());  // the set owns it now
    }
    auto* nlh = nftnl_nlmsg_build_hdr(batch.reserve(kMaxMessage), NFT_MSG_NEWSET, NFPROTO_INET,
                                      NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK, batch.next_seq());
    nftnl_set_nlmsg_build_payload(nlh, s.get());
    batch.commit("creating set " + spec.name);
    add_elements(table, spec, spec.elements, batch);
}

void encode_chain(const std::string& table, const ChainSpec& spec, Batch& batch) {
    ChainPtr c(check_alloc(nftnl_chain_alloc()));
    nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_FAMILY, NFPROTO_INET);
    nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TABLE, table.c_str());
    nftnl_chain_set_str(c.get(), NFTNL_CHAIN_NAME, spec.name.c_str());
    if (spec.base) {
        nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_HOOKNUM, hook_number(spec.base->hook));
        nftnl_chain_set_s32(c.get(), NFTNL_CHAIN_PRIO, spec.base->priority);
        nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TYPE,
                            spec.base->type == ChainType::route ? "route" : "filter");
        nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_POLICY, NF_ACCEPT);
    }
    auto* nlh = nftnl_nlmsg_build_hdr(batch.reserve(kMaxMessage), NFT_MSG_NEWCHAIN, NFPROTO_INET,
                                      NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK, batch.next_seq());
    nftnl_chain_nlmsg_build_payload(nlh, c.get());
    batch.commit("creating chain " + spec.name);
}

// Where a rule goes: appended (a new table), or an edit of the table in place (table_diff.h).
struct RulePlace {
    RuleEdit::Kind kind = RuleEdit::Kind::append;
    std::uint64_t handle = 0;  // replace: the rule replaced; insert_before: the rule it goes before
    bool echo = false;         // NLM_F_ECHO: the kernel sends the new rule back, with its handle
};

void encode_rule(const std::string& table, const std::string& chain, std::size_t index, const RuleSpec& spec,
                 Batch& batch, RulePlace place = {}) {
    RuleBuilder b(table, chain);
    for (const auto& m : spec.matches) std::visit(MatchEncoder{b}, m);
    for (const auto& s : spec.statements) std::visit(StatementEncoder{b}, s);
    if (spec.counter) b.counter();
    if (spec.verdict.kind != VerdictKind::none)
        b.verdict(verdict_code(spec.verdict.kind), spec.verdict.chain);
    b.comment(spec.comment);
    // NEWRULE: with a handle and NLM_F_REPLACE it takes that rule's place (and handle); with a
    // position and without NLM_F_APPEND it goes before that rule; with NLM_F_APPEND alone, last.
    std::uint16_t flags = NLM_F_CREATE | NLM_F_ACK;
    std::string what = "adding";
    switch (place.kind) {
        case RuleEdit::Kind::replace:
            nftnl_rule_set_u64(b.get(), NFTNL_RULE_HANDLE, place.handle);
            flags = NLM_F_REPLACE | NLM_F_ACK;
            what = "replacing (handle " + std::to_string(place.handle) + ") with";
            break;
        case RuleEdit::Kind::insert_before:
            nftnl_rule_set_u64(b.get(), NFTNL_RULE_POSITION, place.handle);
            what = "inserting (before handle " + std::to_string(place.handle) + ")";
            break;
        case RuleEdit::Kind::append:
        case RuleEdit::Kind::remove:
            flags |= NLM_F_APPEND;
            break;
    }
    if (place.echo) flags |= NLM_F_ECHO;
    auto* nlh = nftnl_nlmsg_build_hdr(batch.reserve(kMaxMessage), NFT_MSG_NEWRULE, NFPROTO_INET, flags,
                                      batch.next_seq());
    nftnl_rule_nlmsg_build_payload(nlh, b.get());
    batch.commit(what + " rule " + std::to_string(index + 1) + " of chain " + chain + " (\"" + spec.comment +
                 "\")");
}

// DELRULE: one rule (by handle) or, without a handle, every rule of the chain.
void encode_delete_rules(const std::string& table, const std::string& chain,
                         std::optional<std::uint64_t> handle, Batch& batch) {
    RulePtr r(check_alloc(nftnl_rule_alloc()));
    nftnl_rule_set_u32(r.get(), NFTNL_RULE_FAMILY, NFPROTO_INET);
    nftnl_rule_set_str(r.get(), NFTNL_RULE_TABLE, table.c_str());
    nftnl_rule_set_str(r.get(), NFTNL_RULE_CHAIN, chain.c_str());
    if (handle) nftnl_rule_set_u64(r.get(), NFTNL_RULE_HANDLE, *handle);
    auto* nlh = nftnl_nlmsg_build_hdr(batch.reserve(kMaxMessage), NFT_MSG_DELRULE, NFPROTO_INET, NLM_F_ACK,
                                      batch.next_seq());
    nftnl_rule_nlmsg_build_payload(nlh, r.get());
    batch.commit(handle ? "deleting rule (handle " + std::to_string(*handle) + ") of chain " + chain
                        : "flushing chain " + chain);
}

TablePtr table_object(const std::string& name) {
    TablePtr t(check_alloc(nftnl_table_alloc()));
    nftnl_table_set_u32(t.get(), NFTNL_TABLE_FAMILY, NFPROTO_INET);
    nftnl_table_set_str(t.get(), NFTNL_TABLE_NAME, name.c_str());
    return t;
}

void encode_table_msg(const std::string& name, std::uint16_t type, std::uint16_t flags, Batch& batch,
                      const std::string& what, bool with_comment = false) {
    auto t = table_object(name);
    // Flags 0: in particular no NFT_TABLE_F_OWNER, so the table (and fail-closed) outlives the
    // process that installed it.
    nftnl_table_set_u32(t.get(), NFTNL_TABLE_FLAGS, 0);
    if (with_comment) {
        UdataPtr u(check_alloc(nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN)));
        nftnl_udata_put_strz(u.get(), NFTNL_UDATA_TABLE_COMMENT,
                             "gdoi-member: group VPN rules, fail-closed; remove with gdoictl flush");
        nftnl_table_set_data(t.get(), NFTNL_TABLE_USERDATA, nftnl_udata_buf_data(u.get()),
                             nftnl_udata_buf_len(u.get()));
    }
    auto* nlh = nftnl_nlmsg_build_hdr(batch.reserve(kMaxMessage), type, NFPROTO_INET, flags | NLM_F_ACK,
                                      batch.next_seq());
    nftnl_table_nlmsg_build_payload(nlh, t.get());
    batch.commit(what + " table inet " + name);
}

}  // namespace

void encode_replace_table(const TableSpec& table, Batch& batch) {
    // Create-if-missing first so the delete cannot fail on a fresh system.
    encode_table_msg(table.name, NFT_MSG_NEWTABLE, NLM_F_CREATE, batch, "creating (if missing)");
    encode_table_msg(table.name, NFT_MSG_DELTABLE, 0, batch, "deleting old");
    encode_table_msg(table.name, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_EXCL, batch, "creating", true);
    std::uint32_t set_id = 0;
    for (const auto& s : table.sets) encode_set(table.name, s, ++set_id, batch);
    for (const auto& c : table.chains) encode_chain(table.name, c, batch);
    for (const auto& c : table.chains)
        for (std::size_t i = 0; i < c.rules.size(); ++i)
            encode_rule(table.name, c.name, i, c.rules[i], batch);
}

void encode_new_sets(const TableSpec& table, const std::vector<std::size_t>& sets, Batch& batch) {
    std::uint32_t set_id = 0;
    for (const auto i : sets) encode_set(table.name, table.sets[i], ++set_id, batch);
}

std::vector<std::size_t> encode_table_edits(const TableSpec& table, const TableEdits& edits,
                                            const std::vector<std::size_t>& refilled_sets,
                                            const std::vector<std::string>& unused_sets, Batch& batch) {
    std::vector<std::size_t> echoed;  // batch positions of the new rules (0 is BATCH_BEGIN)
    const auto written = [&] { echoed.push_back(batch.messages()); };
    for (const auto i : refilled_sets)
        encode_set_contents(table.name, table.sets[i], table.sets[i].elements, batch);
    for (const auto* c : edits.new_chains) encode_chain(table.name, *c, batch);
    for (const auto& e : edits.rules) {
        if (e.kind == RuleEdit::Kind::remove) {
            encode_delete_rules(table.name, e.chain, e.handle, batch);
        } else {
            const bool is_new = e.kind != RuleEdit::Kind::replace;
            encode_rule(table.name, e.chain, e.index, *e.rule, batch, {e.kind, e.handle, is_new});
            if (is_new) written();
        }
    }
    for (const auto* c : edits.new_chains)
        for (std::size_t i = 0; i < c->rules.size(); ++i) {
            encode_rule(table.name, c->name, i, c->rules[i], batch, {RuleEdit::Kind::append, 0, true});
            written();
        }
    // A chain or set cannot go while a rule still jumps to or looks it up: the rules that did are
    // gone by now (edited above, or flushed here), inside the same transaction.
    for (const auto& name : edits.removed_chains) encode_delete_rules(table.name, name, std::nullopt, batch);
    for (const auto& name : edits.removed_chains) {
        ChainPtr chain(check_alloc(nftnl_chain_alloc()));
        nftnl_chain_set_u32(chain.get(), NFTNL_CHAIN_FAMILY, NFPROTO_INET);
        nftnl_chain_set_str(chain.get(), NFTNL_CHAIN_TABLE, table.name.c_str());
        nftnl_chain_set_str(chain.get(), NFTNL_CHAIN_NAME, name.c_str());
        auto* nlh = nftnl_nlmsg_build_hdr(batch.reserve(kMaxMessage), NFT_MSG_DELCHAIN, NFPROTO_INET,
                                          NLM_F_ACK, batch.next_seq());
        nftnl_chain_nlmsg_build_payload(nlh, chain.get());
        batch.commit("deleting chain " + name);
    }
    for (const auto& name : unused_sets) {
        auto s = set_object(table.name, name);
        auto* nlh = nftnl_nlmsg_build_hdr(batch.reserve(kMaxMessage), NFT_MSG_DELSET, NFPROTO_INET, NLM_F_ACK,
                                          batch.next_seq());
        nftnl_set_nlmsg_build_payload(nlh, s.get());
        batch.commit("deleting set " + name);
    }
    return echoed;
}

void encode_delete_table(const std::string& table, Batch& batch) {
    encode_table_msg(table, NFT_MSG_NEWTABLE, NLM_F_CREATE, batch, "creating (if missing)");
    encode_table_msg(table, NFT_MSG_DELTABLE, 0, batch, "deleting");
}

void encode_set_contents(const std::string& table, const SetSpec& set,
                         const std::vector<SetElement>& elements, Batch& batch) {
    // DELSETELEM without elements flushes the set (nf_tables_delsetelem).
    auto s = set_object(table, set.name);
    auto* nlh = nftnl_nlmsg_build_hdr(batch.reserve(kMaxMessage), NFT_MSG_DELSETELEM, NFPROTO_INET, NLM_F_ACK,
                                      batch.next_seq());
    nftnl_set_elems_nlmsg_build_payload(nlh, s.get());
    batch.commit("emptying set " + set.name);
    add_elements(table, set, elements, batch);
}

void encode_get_table(const std::string& table, char* buf, std::uint32_t seq) {
    auto t = table_object(table);
    auto* nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETTABLE, NFPROTO_INET, NLM_F_ACK, seq);
    nftnl_table_nlmsg_build_payload(nlh, t.get());
}

}  // namespace policy::detail
