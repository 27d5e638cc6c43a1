#include "field_layout.h"

namespace gcks {

namespace {

namespace wire = gdoi::wire;
using gdoi::Bytes;

constexpr uint16_t kAfBit = 0x8000;  // RFC 2408 §3.3: AF = 1, a basic (TV) attribute

// Offset just past the ID (type, port, length, data) that starts at `at`.
size_t id_end(const Bytes& b, size_t at, size_t length_octets) {
    size_t len = length_octets == 1 ? b.at(at + 3) : (size_t{b.at(at + 3)} << 8) | b.at(at + 4);
    return at + 3 + length_octets + len;
}

Bytes field_sak(const gdoi::Kek& kek, const FieldHabits& h) {
    Bytes b =
        wire::encode_sak(kek);  // Protocol, SRC ID, DST ID (1-octet lengths), SPI, RESERVED(4), attributes
    size_t spi_end = id_end(b, id_end(b, 1, 1), 1) + 16;
    size_t attrs = spi_end + 4;
    if (h.kek_lifetime_basic) {
        // Replace the variable KEK_KEY_LIFETIME (type, length 4, value) by a basic attribute.
        for (size_t at = attrs; at + 4 <= b.size();) {
            const uint16_t type = static_cast<uint16_t>((b[at] << 8) | b[at + 1]);
            const size_t len = (type & kAfBit) ? 0 : (size_t{b[at + 2]} << 8) | b[at + 3];
            if (type == wire::kek_attr::kKeyLifetime && len == 4) {
                const uint32_t v = std::min<uint32_t>(kek.lifetime_seconds, 0xffff);
                Bytes basic{static_cast<uint8_t>((kAfBit | type) >> 8), static_cast<uint8_t>(type),
                            static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
                b.erase(b.begin() + static_cast<std::ptrdiff_t>(at),
                        b.begin() + static_cast<std::ptrdiff_t>(at + 8));
                b.insert(b.begin() + static_cast<std::ptrdiff_t>(at), basic.begin(), basic.end());
                break;
            }
            at += 4 + len;
        }
    }
    if (h.sak_six_octets) b.insert(b.begin() + static_cast<std::ptrdiff_t>(attrs), 2, 0);
    return b;
}

Bytes field_sat(gdoi::Tek tek, const FieldHabits& h) {
    if (h.tek_attrs_zero) tek.address_preservation = tek.sa_direction = 0;  // omitted by encode_sat
    Bytes b = wire::encode_sat(tek);  // Protocol-ID, Protocol, SRC ID, DST ID (2-octet lengths), ...
    if (h.sat_one_octet_id) {
        const size_t src = 2;
        b.erase(b.begin() + static_cast<std::ptrdiff_t>(src + 3));  // high octet of the length (< 256)
        const size_t dst = id_end(b, src, 1);
        b.erase(b.begin() + static_cast<std::ptrdiff_t>(dst + 3));
    }
    if (h.tek_attrs_zero)
        for (uint16_t type : {wire::tek_attr::kAddressPreservation, wire::tek_attr::kSaDirection})
            b.insert(b.end(), {static_cast<uint8_t>((kAfBit | type) >> 8), static_cast<uint8_t>(type), 0, 0});
    return b;
}

}  // namespace

Bytes encode_sa(const wire::GdoiSa& sa, const FieldHabits& h) {
    if (!h.sak_six_octets && !h.sat_one_octet_id && !h.kek_lifetime_basic && !h.tek_attrs_zero)
        return wire::encode_gdoi_sa(sa);
    gdoi::isakmp::MessageBuilder nested;  // SAK, GAP, SATs: the order of wire::encode_gdoi_sa
    if (sa.kek) nested.add(gdoi::isakmp::PayloadType::SaKek, field_sak(*sa.kek, h));
    if (sa.gap) nested.add(gdoi::isakmp::PayloadType::Gap, wire::encode_gap(*sa.gap));
    for (const auto& tek : sa.teks) nested.add(gdoi::isakmp::PayloadType::SaTek, field_sat(tek, h));
    gdoi::ByteWriter w;
    w.u32(wire::kDoiGdoi).u32(sa.situation).u16(static_cast<uint16_t>(nested.first_type())).u16(0);
    w.bytes(nested.chain());
    return w.take();
}

}  // namespace gcks
