// Carrier MTU from WAN MTU and ESP transform; the derivation is in mtu.h.
#include "xfrm/mtu.h"

namespace xfrm {
namespace {

constexpr uint32_t kIpv4Header = 20;
constexpr uint32_t kEspHeader = 8;      // SPI + sequence number
constexpr uint32_t kEspTrailer = 2;     // pad length + next header
constexpr uint32_t kIpv4MinMtu = 68;    // RFC 791
constexpr uint32_t kIpv6Header = 40;    // RFC 8200 §3, no extension header (encaplimit none)
constexpr uint32_t kIpv6MinMtu = 1280;  // RFC 8200 §5

struct Sizes {
    uint32_t iv, icv, block;
};

bool sizes_of(const EspTransform& t, Sizes& s) {
    if (!validate(t).empty()) return false;
    const CipherInfo* c = find_cipher(t.cipher);
    s.iv = c->iv_bytes;
    s.block = c->block_bytes;
    s.icv = c->aead ? c->icv_bits / 8u : find_auth(t.auth)->truncation_bits / 8u;
    return true;
}

}  // namespace

uint32_t esp_overhead(uint32_t payload, const EspTransform& t) {
    Sizes s{};
    if (!sizes_of(t, s)) return 0;
    const uint32_t padded = (payload + kEspTrailer + s.block - 1) / s.block * s.block;
    return kEspHeader + s.iv + (padded - payload) + s.icv;
}

uint32_t carrier_mtu(uint32_t wan_mtu, const EspTransform& t, Family family) {
    Sizes s{};
    if (!sizes_of(t, s)) return 0;
    const bool v6 = family == Family::ipv6;
    const uint32_t fixed = (v6 ? kIpv6Header : kIpv4Header) + kEspHeader + s.iv + s.icv;
    if (wan_mtu < fixed + s.block) return 0;
    const uint32_t room = (wan_mtu - fixed) / s.block * s.block;  // padded payload
    const uint32_t mtu = room - kEspTrailer;
    return mtu >= (v6 ? kIpv6MinMtu : kIpv4MinMtu) ? mtu : 0;
}

}  // namespace xfrm
