// GDOI payloads (RFC 6407 §5). Layout notes, from the RFC and what deployed code sends:
// - SA (§5.2): DOI(4) Situation(4) SA-Attribute-Next-Payload(2) RESERVED2(2), then the
//   SAK/GAP/SAT payloads inside the SA's length, each with a generic header; the last has
//   next payload 0.
// - SAK (§5.3): Protocol(1), SRC ID Type(1) Port(2) Data-Len(1) Data, DST likewise,
//   SPI(16), RESERVED(4), KEK attributes. The Cisco reference code writes 6 octets after
//   the SPI (RFC 3547's POP fields) and one implementation uses 2-octet ID lengths: those
//   variants are accepted when the RFC layout does not parse.
// - SAT/ESP (§5.4.1): Protocol-ID(1), then Protocol(1), SRC ID Type(1) Port(2)
//   Data-Len(2) Data, DST likewise, Transform ID(1), SPI(4), IPsec attributes. A 1-octet
//   ID length (Cisco reference code) is accepted when the 2-octet layout does not parse.
// - KD (§5.5): Number of Key Packets(2) RESERVED2(2), then packets: KD Type(1) RESERVED(1)
//   KD Length(2, whole packet) SPI Size(1) SPI, attributes.
#include "gdoi/gdoi_payloads.h"

#include <array>

namespace gdoi::wire {

using isakmp::parse_failure;
using isakmp::ParseError;

namespace {

constexpr uint16_t kAfBit = 0x8000;

// Address length per RFC 2407 §4.6.2.1 ID type (subnets and ranges carry two addresses).
std::optional<size_t> id_data_size(uint8_t type) {
    switch (type) {
        case 1:
            return 4;  // ID_IPV4_ADDR
        case 4:
            return 8;  // ID_IPV4_ADDR_SUBNET: address | mask
        case 5:
            return 16;  // ID_IPV6_ADDR
        case 6:
            return 32;  // ID_IPV6_ADDR_SUBNET
        case 7:
            return 8;  // ID_IPV4_ADDR_RANGE: start | end
        case 8:
            return 32;  // ID_IPV6_ADDR_RANGE
        default:
            return std::nullopt;
    }
}

Result<TrafficId> traffic_id(uint8_t type, uint16_t port, ByteView data, const char* where) {
    auto size = id_data_size(type);
    if (!size)
        return parse_failure(ParseError::BadValue,
                             std::string(where) + " (ID type " + std::to_string(type) + ")");
    if (data.size() != *size) return parse_failure(ParseError::BadLength, std::string(where) + " ID data");
    TrafficId id;
    id.id_type = type;
    id.port = port;
    bool pair = type == 4 || type == 6 || type == 7 || type == 8;
    size_t half = pair ? data.size() / 2 : data.size();
    id.address.assign(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(half));
    if (pair) id.mask_or_end.assign(data.begin() + static_cast<std::ptrdiff_t>(half), data.end());
    return id;
}

void write_traffic_id(ByteWriter& w, const TrafficId& id, int length_octets) {
    w.u8(id.id_type).u16(id.port);
    size_t n = id.address.size() + id.mask_or_end.size();
    if (length_octets == 1)
        w.u8(static_cast<uint8_t>(n));
    else
        w.u16(static_cast<uint16_t>(n));
    w.bytes(id.address).bytes(id.mask_or_end);
}

Result<TrafficId> read_traffic_id(ByteReader& r, int length_octets, const char* where) {
    uint8_t type = r.u8();
    uint16_t port = r.u16();
    size_t len = length_octets == 1 ? r.u8() : r.u16();
    ByteView data = r.take(len);
    if (r.failed()) return parse_failure(ParseError::Truncated, where);
    return traffic_id(type, port, data, where);
}

uint16_t basic_value(const isakmp::AttributeView& a) {
    return static_cast<uint16_t>(a.as_integer().value_or(0));
}

void put_basic(ByteWriter& w, uint16_t type, uint16_t value) { w.u16(type | kAfBit).u16(value); }
void put_variable_u32(ByteWriter& w, uint16_t type, uint32_t value) { w.u16(type).u16(4).u32(value); }

// ---- SAK

struct SakLayout {
    int id_length_octets;
    size_t reserved_after_spi;
};
constexpr std::array<SakLayout, 3> kSakLayouts{{{1, 4}, {1, 6}, {2, 4}}};

Result<Kek> parse_sak_as(ByteView body, const SakLayout& layout) {
    ByteReader r(body);
    Kek kek;
    uint8_t protocol = r.u8();
    auto src = read_traffic_id(r, layout.id_length_octets, "SA KEK source");
    if (!src) return src.error();
    auto dst = read_traffic_id(r, layout.id_length_octets, "SA KEK destination");
    if (!dst) return dst.error();
    ByteView spi = r.take(16);
    r.take(layout.reserved_after_spi);
    if (r.failed()) return parse_failure(ParseError::Truncated, "SA KEK");
    kek.selector = TrafficSelector{protocol, *src, *dst};
    std::copy(spi.begin(), spi.end(), kek.spi.begin());
    auto attrs = isakmp::parse_attribute_views(r.rest());
    if (!attrs) return attrs.error();
    for (const auto& a : *attrs) {
        switch (a.type) {
            case kek_attr::kManagementAlgorithm:
                kek.management_algorithm = basic_value(a);
                break;
            case kek_attr::kAlgorithm:
                kek.algorithm = basic_value(a);
                break;
            case kek_attr::kKeyLength:
                kek.key_bits = basic_value(a);
                break;
            case kek_attr::kKeyLifetime: {
                auto v = a.as_integer();
                if (!v || *v > UINT32_MAX) return parse_failure(ParseError::BadValue, "KEK_KEY_LIFETIME");
                kek.lifetime_seconds = static_cast<uint32_t>(*v);
                break;
            }
            case kek_attr::kSigHashAlgorithm:
                kek.sig_hash_algorithm = basic_value(a);
                break;
            case kek_attr::kSigAlgorithm:
                kek.sig_algorithm = basic_value(a);
                break;
            case kek_attr::kSigKeyLength:
                kek.sig_key_bits = basic_value(a);
                break;
            case kek_attr::kAckRequested:
                kek.ack_requested = basic_value(a) != 0;
                break;
            default:
                return parse_failure(ParseError::BadValue, "SA KEK attribute " + std::to_string(a.type));
        }
    }
    if (kek.algorithm == 0) return parse_failure(ParseError::BadValue, "SA KEK without KEK_ALGORITHM");
    return kek;
}

// ---- SAT

Result<Tek> parse_sat_as(ByteView body, int id_length_octets) {
    ByteReader r(body);
    Tek tek;
    uint8_t protocol_id = r.u8();
    if (r.failed()) return parse_failure(ParseError::Truncated, "SA TEK");
    if (protocol_id != kProtocolEsp)
        return parse_failure(ParseError::BadValue,
                             "SA TEK protocol " + std::to_string(protocol_id) + " (only ESP)");
    uint8_t ip_protocol = r.u8();
    auto src = read_traffic_id(r, id_length_octets, "SA TEK source");
    if (!src) return src.error();
    auto dst = read_traffic_id(r, id_length_octets, "SA TEK destination");
    if (!dst) return dst.error();
    tek.transform_id = r.u8();
    tek.spi = r.u32();
    if (r.failed()) return parse_failure(ParseError::Truncated, "SA TEK");
    tek.selector = TrafficSelector{ip_protocol, *src, *dst};
    // RFC 6407 §5.4.1: absent Address Preservation means source-and-destination (4),
    // absent SA Direction means symmetric (3).
    tek.address_preservation = 4;
    tek.sa_direction = 3;
    auto attrs = isakmp::parse_attribute_views(r.rest());
    if (!attrs) return attrs.error();
    uint16_t life_type = 0;
    for (const auto& a : *attrs) {
        switch (a.type) {
            case tek_attr::kLifeType:
                life_type = basic_value(a);
                break;
            case tek_attr::kLifeDuration: {
                auto v = a.as_integer();
                if (!v) return parse_failure(ParseError::BadValue, "SA Life Duration");
                if (life_type == tek_attr::kLifeSeconds)
                    tek.lifetime_seconds = static_cast<uint32_t>(std::min<uint64_t>(*v, UINT32_MAX));
                else if (life_type == tek_attr::kLifeKilobytes)
                    tek.lifetime_kilobytes = *v;
                else
                    return parse_failure(ParseError::BadValue, "SA Life Duration before SA Life Type");
                break;
            }
            case tek_attr::kEncapsulationMode:
                tek.encapsulation_mode = basic_value(a);
                break;
            case tek_attr::kAuthAlgorithm:
                tek.auth_algorithm = basic_value(a);
                break;
            case tek_attr::kKeyLength:
                tek.key_bits = basic_value(a);
                break;
            // 0 is no value of either attribute (RFC 6407 §5.4.1 starts both at 1); some key
            // servers send 0 when they mean nothing: read it as "not sent", the RFC default.
            case tek_attr::kAddressPreservation:
                if (basic_value(a) != 0) tek.address_preservation = basic_value(a);
                break;
            case tek_attr::kSaDirection:
                if (basic_value(a) != 0) tek.sa_direction = basic_value(a);
                break;
            default:
                break;  // other RFC 2407 attributes (e.g. ESN, group description) do not change the SA
        }
    }
    return tek;
}

}  // namespace

Result<Kek> parse_sak(ByteView body) {
    common::Error first = parse_failure(ParseError::BadValue, "SA KEK");
    for (size_t i = 0; i < kSakLayouts.size(); ++i) {
        auto kek = parse_sak_as(body, kSakLayouts[i]);
        if (kek) return kek;
        if (i == 0) first = kek.error();
    }
    return first;  // report against the RFC layout
}

Bytes encode_sak(const Kek& kek) {
    ByteWriter w;
    w.u8(kek.selector.protocol);
    write_traffic_id(w, kek.selector.source, 1);
    write_traffic_id(w, kek.selector.destination, 1);
    w.bytes(kek.spi).u32(0);
    if (kek.management_algorithm) put_basic(w, kek_attr::kManagementAlgorithm, kek.management_algorithm);
    put_basic(w, kek_attr::kAlgorithm, kek.algorithm);
    if (kek.key_bits) put_basic(w, kek_attr::kKeyLength, kek.key_bits);
    put_variable_u32(w, kek_attr::kKeyLifetime, kek.lifetime_seconds);
    if (kek.sig_hash_algorithm) put_basic(w, kek_attr::kSigHashAlgorithm, kek.sig_hash_algorithm);
    if (kek.sig_algorithm) put_basic(w, kek_attr::kSigAlgorithm, kek.sig_algorithm);
    if (kek.sig_key_bits) put_basic(w, kek_attr::kSigKeyLength, kek.sig_key_bits);
    if (kek.ack_requested) put_basic(w, kek_attr::kAckRequested, 1);
    return w.take();
}

Result<Tek> parse_sat(ByteView body) {
    auto tek = parse_sat_as(body, 2);
    if (tek) return tek;
    auto alt = parse_sat_as(body, 1);
    return alt ? alt : tek;
}

Bytes encode_sat(const Tek& tek) {
    ByteWriter w;
    w.u8(kProtocolEsp).u8(tek.selector.protocol);
    write_traffic_id(w, tek.selector.source, 2);
    write_traffic_id(w, tek.selector.destination, 2);
    w.u8(tek.transform_id).u32(tek.spi);
    put_basic(w, tek_attr::kEncapsulationMode, tek.encapsulation_mode);
    if (tek.auth_algorithm) put_basic(w, tek_attr::kAuthAlgorithm, tek.auth_algorithm);
    if (tek.lifetime_seconds) {
        put_basic(w, tek_attr::kLifeType, tek_attr::kLifeSeconds);
        put_variable_u32(w, tek_attr::kLifeDuration, tek.lifetime_seconds);
    }
    if (tek.lifetime_kilobytes) {
        put_basic(w, tek_attr::kLifeType, tek_attr::kLifeKilobytes);
        w.u16(tek_attr::kLifeDuration).u16(8).u64(tek.lifetime_kilobytes);
    }
    if (tek.key_bits) put_basic(w, tek_attr::kKeyLength, tek.key_bits);
    if (tek.address_preservation) put_basic(w, tek_attr::kAddressPreservation, tek.address_preservation);
    if (tek.sa_direction) put_basic(w, tek_attr::kSaDirection, tek.sa_direction);
    return w.take();
}

Result<Gap> parse_gap(ByteView body) {
    auto attrs = isakmp::parse_attribute_views(body);
    if (!attrs) return attrs.error();
    Gap gap;
    for (const auto& a : *attrs) {
        auto v = a.as_integer();
        if (!v || *v > UINT32_MAX) return parse_failure(ParseError::BadValue, "GAP attribute");
        if (a.type == gap_attr::kActivationTimeDelay)
            gap.activation_time_delay = static_cast<uint32_t>(*v);
        else if (a.type == gap_attr::kDeactivationTimeDelay)
            gap.deactivation_time_delay = static_cast<uint32_t>(*v);
    }
    return gap;
}

// A basic (TV) attribute when the value fits 16 bits, else a 4-octet variable one
// (RFC 2408 §3.3: either form may carry an integer).
static void put_integer(ByteWriter& w, uint16_t type, uint32_t value) {
    if (value <= 0xffff)
        put_basic(w, type, static_cast<uint16_t>(value));
    else
        put_variable_u32(w, type, value);
}

Bytes encode_gap(const Gap& gap) {
    ByteWriter w;
    put_integer(w, gap_attr::kActivationTimeDelay, gap.activation_time_delay);
    put_integer(w, gap_attr::kDeactivationTimeDelay, gap.deactivation_time_delay);
    return w.take();
}

Result<GdoiSa> parse_gdoi_sa(ByteView body) {
    ByteReader r(body);
    GdoiSa sa;
    uint32_t doi = r.u32();
    sa.situation = r.u32();
    uint16_t next = r.u16();
    r.u16();  // RESERVED2
    if (r.failed()) return parse_failure(ParseError::Truncated, "GDOI SA payload");
    if (doi != kDoiGdoi)
        return parse_failure(ParseError::BadValue, "GDOI SA payload (DOI " + std::to_string(doi) + ")");
    if (next > 0xff || (next != 15 && next != 16 && next != 22))
        return parse_failure(ParseError::BadValue, "SA Attribute Next Payload " + std::to_string(next));
    auto nested = isakmp::parse_payload_chain(static_cast<isakmp::PayloadType>(next), r.rest(),
                                              isakmp::Trailing::Reject);
    if (!nested) return nested.error();
    for (const auto& p : *nested) {
        switch (p.type) {
            case isakmp::PayloadType::SaKek: {
                if (sa.kek) return parse_failure(ParseError::BadValue, "GDOI SA with two SA KEK payloads");
                auto kek = parse_sak(p.body);
                if (!kek) return kek.error();
                sa.kek = std::move(*kek);
                break;
            }
            case isakmp::PayloadType::SaTek: {
                auto tek = parse_sat(p.body);
                if (!tek) return tek.error();
                sa.teks.push_back(std::move(*tek));
                break;
            }
            case isakmp::PayloadType::Gap: {
                auto gap = parse_gap(p.body);
                if (!gap) return gap.error();
                sa.gap = *gap;
                break;
            }
            default:
                return parse_failure(ParseError::BadValue, std::string("GDOI SA nesting a ") +
                                                               isakmp::payload_name(p.type) + " payload");
        }
    }
    if (!sa.kek && sa.teks.empty())
        return parse_failure(ParseError::BadValue, "GDOI SA without SA KEK or SA TEK");
    return sa;
}

Bytes encode_gdoi_sa(const GdoiSa& sa) {
    isakmp::MessageBuilder nested;  // SAK, GAP, SATs in the order RFC 6407 §5.2 and deployed servers use
    if (sa.kek) nested.add(isakmp::PayloadType::SaKek, encode_sak(*sa.kek));
    if (sa.gap) nested.add(isakmp::PayloadType::Gap, encode_gap(*sa.gap));
    for (const auto& tek : sa.teks) nested.add(isakmp::PayloadType::SaTek, encode_sat(tek));
    ByteWriter w;
    w.u32(kDoiGdoi).u32(sa.situation).u16(static_cast<uint16_t>(nested.first_type())).u16(0);
    w.bytes(nested.chain());
    return w.take();
}

const KeyPacket::Attr* KeyPacket::find(uint16_t attr_type) const {
    for (const auto& a : attributes)
        if (a.type == attr_type) return &a;
    return nullptr;
}

Result<std::vector<KeyPacket>> parse_key_download(ByteView body) {
    ByteReader r(body);
    uint16_t count = r.u16();
    r.u16();  // RESERVED2
    if (r.failed()) return parse_failure(ParseError::Truncated, "KD payload");
    // RFC 6407 §5.5: one key packet per SA (TEK or KEK) of the message; each has at least its
    // 4-octet header and the SPI Size octet, so a count the payload's bytes cannot hold is
    // refused before any packet is read (the payload itself is bounded by the datagram).
    constexpr size_t kMinKeyPacketSize = 5;
    if (count == 0 || count > r.remaining() / kMinKeyPacketSize)
        return parse_failure(ParseError::TooMany, "KD key packets");
    std::vector<KeyPacket> out;
    for (uint16_t i = 0; i < count; ++i) {
        KeyPacket kp;
        kp.type = r.u8();
        r.u8();
        uint16_t length = r.u16();
        if (r.failed()) return parse_failure(ParseError::NestingOverrun, "KD key packet header");
        if (length < kMinKeyPacketSize) return parse_failure(ParseError::BadLength, "KD key packet");
        ByteView packet = r.take(length - 4u);
        if (r.failed()) return parse_failure(ParseError::NestingOverrun, "KD key packet");
        ByteReader pr(packet);
        uint8_t spi_size = pr.u8();
        ByteView spi = pr.take(spi_size);
        if (pr.failed()) return parse_failure(ParseError::Truncated, "KD key packet SPI");
        kp.spi.assign(spi.begin(), spi.end());
        auto attrs = isakmp::parse_attribute_views(pr.rest());
        if (!attrs) return attrs.error();
        for (const auto& a : *attrs) kp.attributes.push_back({a.type, a.value});
        out.push_back(std::move(kp));
    }
    if (!r.at_end()) return parse_failure(ParseError::TrailingData, "KD payload");
    return out;
}

Bytes encode_key_download(const std::vector<KeyPacketOut>& packets) {
    ByteWriter w;
    w.u16(static_cast<uint16_t>(packets.size())).u16(0);
    for (const auto& kp : packets) {
        ByteWriter pw;
        pw.u8(static_cast<uint8_t>(kp.spi.size())).bytes(kp.spi);
        for (const auto& [type, value] : kp.attributes)
            pw.u16(type).u16(static_cast<uint16_t>(value.size())).bytes(value);
        w.u8(kp.type).u8(0).u16(static_cast<uint16_t>(pw.size() + 4)).bytes(pw.data());
        Bytes scratch = pw.take();
        wipe(scratch);
    }
    return w.take();
}

Result<uint32_t> parse_seq(ByteView body) {
    if (body.size() != 4) return parse_failure(ParseError::BadLength, "SEQ payload");
    ByteReader r(body);
    return r.u32();
}

Bytes encode_seq(uint32_t sequence) {
    ByteWriter w;
    w.u32(sequence);
    return w.take();
}

isakmp::IdPayload group_id_payload(uint32_t group_id) {
    isakmp::IdPayload id;
    id.type = static_cast<uint8_t>(isakmp::IdType::KeyId);
    ByteWriter w;
    w.u32(group_id);
    id.data = w.take();
    return id;
}

std::optional<uint32_t> group_id_of(const isakmp::IdPayload& id) {
    if (id.type != static_cast<uint8_t>(isakmp::IdType::KeyId) || id.data.size() != 4) return std::nullopt;
    ByteReader r(id.data);
    return r.u32();
}

}  // namespace gdoi::wire
