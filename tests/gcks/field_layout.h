// Wire habits of deployed key servers, each selectable on its own, so the
// member's tolerance of them is tested against the test GCKS. What the RFC says instead:
//  - SAK: RFC 6407 §5.3 has 4 RESERVED octets between the SPI and the attributes; RFC 3547
//    §5.3 had the POP fields there, which deployed code zero-fills as 6 octets.
//  - SAT/ESP: RFC 6407 §5.4.1 gives the ID data length 2 octets; deployed code writes 1
//    (as in the SAK's IDs).
//  - KEK_KEY_LIFETIME: RFC 6407 §5.3.4 says variable (4 octets); sent as a basic (TV)
//    attribute when it fits in 16 bits.
//  - ADDRESS_PRESERVATION / SA_DIRECTION (RFC 6407 §5.4.1, values from 1): sent with 0.
#pragma once

#include "gdoi/gdoi_payloads.h"

namespace gcks {

struct FieldHabits {
    bool sak_six_octets = false;        // 6 zero octets after the SAK SPI
    bool sat_one_octet_id = false;      // 1-octet ID data lengths in the SAT
    bool kek_lifetime_basic = false;    // KEK_KEY_LIFETIME as a basic attribute (capped at 65535 s)
    bool tek_attrs_zero = false;        // ADDRESS_PRESERVATION and SA_DIRECTION sent as 0
    bool raw_hash_rsa = false;          // RSA push signatures over the bare hash (no DigestInfo)
    bool kd_names_current_kek = false;  // KEK rekey: the KD's KEK packet names the protecting KEK's SPI
};

// The GDOI SA payload body with these habits (wire::encode_gdoi_sa when none applies).
gdoi::Bytes encode_sa(const gdoi::wire::GdoiSa& sa, const FieldHabits& habits);

}  // namespace gcks
