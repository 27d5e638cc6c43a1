// GroupState: everything a registration (GROUPKEY-PULL) or a rekey (GROUPKEY-PUSH)
// yields for one group — KEK, TEKs with their selectors and keys, GAP, SEQ. The one
// model gdoi/ produces and member/ hands to xfrm/ and policy/ (RFC 6407 §5).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "gdoi/bytes.h"
#include "gdoi/secure_bytes.h"

namespace gdoi {

// An identification from an SA KEK/TEK payload (RFC 6407 §5.3.1, §5.4.1: RFC 2407
// §4.6.2 ID types). Addresses are network-order bytes (4 or 16).
struct TrafficId {
    uint8_t id_type = 4;  // ID_IPV4_ADDR_SUBNET
    uint16_t port = 0;    // 0 = any
    Bytes address;        // first address (or the address)
    Bytes mask_or_end;    // subnet mask (…_SUBNET) or range end (…_RANGE); empty for single addresses

    bool is_ipv6() const { return address.size() == 16; }
    // Prefix length of a subnet id (single address: full length); nullopt for a range
    // or a non-contiguous mask.
    std::optional<unsigned> prefix_length() const;
    std::string to_string() const;  // "10.1.0.0/16", "10.0.0.1-10.0.0.9", "2001:db8::/32", ":port"
};

struct TrafficSelector {
    uint8_t protocol = 0;  // IP protocol, 0 = any
    TrafficId source;
    TrafficId destination;
    std::string to_string() const;
};

// KEK policy and keys (RFC 6407 §5.3, §5.5.2).
struct Kek {
    std::array<uint8_t, 16> spi{};  // = the GROUPKEY-PUSH header's cookie pair
    TrafficSelector selector;       // where rekeys come from/go to
    uint16_t management_algorithm = 0;
    uint16_t algorithm = 0;         // KEK_ALGORITHM: 1 DES, 2 3DES, 3 AES (RFC 6407 §5.3.3)
    uint16_t key_bits = 0;
    uint32_t lifetime_seconds = 0;
    uint16_t sig_hash_algorithm = 0;
    uint16_t sig_algorithm = 0;
    uint16_t sig_key_bits = 0;
    bool ack_requested = false;     // RFC 8263
    SecureBytes key;                // from KEK_ALGORITHM_KEY (which is IV | key)
    Bytes iv;                       // static CBC IV for GROUPKEY-PUSH (RFC 6407 §5.5.2.1)
    Bytes signature_public_key;     // SIG_KEY: the GCKS's public key (DER SubjectPublicKeyInfo)
};

// One TEK: an ESP group SA (RFC 6407 §5.4.1) and its keys (§5.5.1).
struct Tek {
    uint32_t spi = 0;
    TrafficSelector selector;
    uint8_t transform_id = 0;        // ESP transform id (RFC 2407 §4.4.4, e.g. 12 AES-CBC, 20 AES-GCM-16)
    uint16_t auth_algorithm = 0;     // RFC 2407 §4.5 class 5; 0 for AEAD
    uint16_t key_bits = 0;           // class 6 Key Length
    uint32_t lifetime_seconds = 0;   // SA Life Type seconds
    uint64_t lifetime_kilobytes = 0;
    uint16_t encapsulation_mode = 1; // 1 tunnel, 2 transport
    uint16_t address_preservation = 0;  // RFC 6407 §5.4.1 attribute; 0 = not sent
    uint16_t sa_direction = 0;          // RFC 6407 §5.4.1 attribute; 0 = not sent
    SecureBytes encryption_key;      // TEK_ALGORITHM_KEY (GCM: key | 4-byte salt)
    SecureBytes integrity_key;       // TEK_INTEGRITY_KEY
};

// Group Associated Policy (RFC 6407 §5.6).
struct Gap {
    uint32_t activation_time_delay = 0;    // seconds before senders use a new TEK
    uint32_t deactivation_time_delay = 0;  // seconds receivers keep an old TEK
};

struct GroupState {
    uint32_t group_id = 0;
    std::optional<Kek> kek;
    std::vector<Tek> teks;
    Gap gap;
    uint32_t sequence = 0;                 // SEQ: last accepted push sequence number
    std::vector<uint32_t> deleted_tek_spis;  // from Delete payloads of a push
    bool kek_deleted = false;
};

}  // namespace gdoi
