// Carrier MTU: the largest inner packet that still fits the WAN MTU after the
// carrier's encapsulation.
//
// On the wire (ARCHITECTURE.md layout: ESP in transport mode on the IPIP carrier):
//   IPv4 header 20 | ESP header 8 (SPI, sequence; RFC 4303 §2) | IV |
//   inner packet + padding + pad length 1 + next header 1 | ICV
// where inner packet + padding + 2 is a multiple of the cipher's block size
// (4 for GCM, RFC 4106 §3; 16 for AES-CBC; 8 for 3DES).
// So the largest inner packet m satisfies
//   20 + 8 + iv + align_down(wan - 20 - 8 - iv - icv, block) - 2 >= m.
// WAN 1500: GCM (iv 8, icv 16, block 4) -> 1446; AES-CBC + HMAC-SHA-256-128
// (iv 16, icv 16, block 16) -> 1438; 3DES + HMAC-SHA1-96 (iv 8, icv 12, block 8) -> 1446.
// The kernel's default for an IPIP device (WAN - 20 = 1480) is too big: DF-less
// inner packets of 1447..1480 bytes would be lost after ESP is added.
#pragma once

#include <cstdint>

#include "xfrm/address.h"
#include "xfrm/algorithm.h"

namespace xfrm {

// Bytes ESP adds around a payload of `payload` bytes (header, IV, padding,
// trailer, ICV), without the outer IP header.
uint32_t esp_overhead(uint32_t payload, const EspTransform& transform);

// 0 when the WAN MTU is too small to carry anything (below the IPv4 minimum of 68)
// or the transform is invalid.
//
// The IPv6 carrier (ip6tnl ip6ip6, encaplimit none) has a 40-octet outer header, and its
// result must reach the IPv6 minimum link MTU of 1280 (RFC 8200 §5), else 0: WAN 1500 with
// AES-CBC + HMAC-SHA-256-128 -> 1406 (tests/vm/ipv6-layout.sh measured it).
uint32_t carrier_mtu(uint32_t wan_mtu, const EspTransform& transform, Family family = Family::ipv4);

}  // namespace xfrm
