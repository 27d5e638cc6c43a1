// Typed ISAKMP payloads (RFC 2408 §3.3–3.15, RFC 2407 §4.6.2): parse and encode.
#include "gdoi/isakmp.h"

namespace gdoi::isakmp {
namespace {

constexpr uint16_t kAttributeFormatBit = 0x8000;

Bytes to_bytes(ByteView v) { return Bytes(v.begin(), v.end()); }

}  // namespace

// ---- attributes

Attribute Attribute::basic_attr(uint16_t type, uint16_t value) {
    return Attribute{type, true, Bytes{static_cast<uint8_t>(value >> 8), static_cast<uint8_t>(value)}};
}

Attribute Attribute::variable(uint16_t type, ByteView value) {
    return Attribute{type, false, to_bytes(value)};
}

Attribute Attribute::integer(uint16_t type, uint64_t value) {
    Bytes b;
    for (int s = 56; s >= 0; s -= 8)
        if (!b.empty() || (value >> s) != 0 || s == 0) b.push_back(static_cast<uint8_t>(value >> s));
    // Keep at least 4 bytes: RFC 2407 §4.5 life durations are commonly 4 bytes.
    while (b.size() < 4) b.insert(b.begin(), 0);
    return Attribute{type, false, b};
}

namespace {

std::optional<uint64_t> integer_of(ByteView value) {
    if (value.size() > 8) return std::nullopt;
    uint64_t v = 0;
    for (uint8_t b : value) v = v << 8 | b;
    return v;
}

}  // namespace

std::optional<uint64_t> AttributeView::as_integer() const { return integer_of(value); }
std::optional<uint64_t> Attribute::as_integer() const { return integer_of(value); }

Result<std::vector<AttributeView>> parse_attribute_views(ByteView data) {
    std::vector<AttributeView> out;
    ByteReader r(data);
    while (!r.at_end()) {
        if (out.size() >= kMaxAttributes) return parse_failure(ParseError::TooMany, "attributes");
        uint16_t type = r.u16();
        if (r.failed()) return parse_failure(ParseError::AttributeOverrun, "attribute header");
        AttributeView a;
        a.type = type & ~kAttributeFormatBit;
        a.basic = type & kAttributeFormatBit;
        if (a.basic) {
            a.value = r.take(2);
        } else {
            uint16_t length = r.u16();
            a.value = r.take(length);
        }
        if (r.failed()) return parse_failure(ParseError::AttributeOverrun, "attribute value");
        out.push_back(a);
    }
    return out;
}

Result<std::vector<Attribute>> parse_attributes(ByteView data) {
    auto views = parse_attribute_views(data);
    if (!views) return views.error();
    std::vector<Attribute> out;
    out.reserve(views->size());
    for (const auto& v : *views) out.push_back(Attribute{v.type, v.basic, to_bytes(v.value)});
    return out;
}

void write_attributes(ByteWriter& w, const std::vector<Attribute>& attrs) {
    for (const auto& a : attrs) {
        if (a.basic) {
            w.u16(a.type | kAttributeFormatBit).bytes(a.value);
        } else {
            w.u16(a.type).u16(static_cast<uint16_t>(a.value.size())).bytes(a.value);
        }
    }
}

const Attribute* find_attribute(const std::vector<Attribute>& attrs, uint16_t type) {
    for (const auto& a : attrs)
        if (a.type == type) return &a;
    return nullptr;
}

// ---- SA / Proposal / Transform

Result<Transform> parse_transform(ByteView body) {
    ByteReader r(body);
    Transform t;
    t.number = r.u8();
    t.id = r.u8();
    uint16_t reserved = r.u16();
    if (r.failed()) return parse_failure(ParseError::Truncated, "transform");
    if (reserved != 0) return parse_failure(ParseError::ReservedNotZero, "transform");
    auto attrs = parse_attributes(r.rest());
    if (!attrs) return attrs.error();
    t.attributes = std::move(*attrs);
    return t;
}

namespace {

// Reads one nested generic payload (proposal in an SA, transform in a proposal)
// whose length must stay inside the parent.
Result<ByteView> nested_body(ByteReader& r, PayloadType expected, uint8_t& next, const char* where) {
    next = r.u8();
    uint8_t reserved = r.u8();
    uint16_t length = r.u16();
    if (r.failed()) return parse_failure(ParseError::NestingOverrun, where);
    if (length < kGenericHeaderSize) return parse_failure(ParseError::BadLength, where);
    ByteView body = r.take(length - kGenericHeaderSize);
    if (r.failed()) return parse_failure(ParseError::NestingOverrun, where);
    if (reserved != 0) return parse_failure(ParseError::ReservedNotZero, where);
    if (next != 0 && next != static_cast<uint8_t>(expected))
        return parse_failure(ParseError::BadValue, where);
    return body;
}

}  // namespace

Result<std::vector<Proposal>> parse_proposals(ByteView data) {
    std::vector<Proposal> out;
    ByteReader r(data);
    uint8_t next = static_cast<uint8_t>(PayloadType::Proposal);
    while (next == static_cast<uint8_t>(PayloadType::Proposal)) {
        if (out.size() >= kMaxProposals) return parse_failure(ParseError::TooMany, "proposals");
        auto body = nested_body(r, PayloadType::Proposal, next, "proposal");
        if (!body) return body.error();
        ByteReader pr(*body);
        Proposal p;
        p.number = pr.u8();
        p.protocol = pr.u8();
        uint8_t spi_size = pr.u8();
        uint8_t count = pr.u8();
        p.spi = to_bytes(pr.take(spi_size));
        if (pr.failed()) return parse_failure(ParseError::Truncated, "proposal");
        if (count > kMaxTransforms) return parse_failure(ParseError::TooMany, "transforms");
        uint8_t tnext = static_cast<uint8_t>(PayloadType::Transform);
        for (uint8_t i = 0; i < count; ++i) {
            if (tnext != static_cast<uint8_t>(PayloadType::Transform))
                return parse_failure(ParseError::BadValue, "transform count");
            auto tbody = nested_body(pr, PayloadType::Transform, tnext, "transform");
            if (!tbody) return tbody.error();
            auto t = parse_transform(*tbody);
            if (!t) return t.error();
            p.transforms.push_back(std::move(*t));
        }
        if (tnext != 0 || !pr.at_end()) return parse_failure(ParseError::BadLength, "proposal");
        out.push_back(std::move(p));
    }
    if (!r.at_end()) return parse_failure(ParseError::TrailingData, "SA proposals");
    return out;
}

void write_proposals(ByteWriter& w, const std::vector<Proposal>& proposals) {
    for (size_t i = 0; i < proposals.size(); ++i) {
        const Proposal& p = proposals[i];
        ByteWriter pw;
        pw.u8(p.number).u8(p.protocol).u8(static_cast<uint8_t>(p.spi.size()));
        pw.u8(static_cast<uint8_t>(p.transforms.size())).bytes(p.spi);
        for (size_t j = 0; j < p.transforms.size(); ++j) {
            const Transform& t = p.transforms[j];
            ByteWriter tw;
            tw.u8(t.number).u8(t.id).u16(0);
            write_attributes(tw, t.attributes);
            bool last_t = j + 1 == p.transforms.size();
            pw.u8(last_t ? 0 : static_cast<uint8_t>(PayloadType::Transform)).u8(0);
            pw.u16(static_cast<uint16_t>(tw.size() + kGenericHeaderSize)).bytes(tw.data());
        }
        bool last = i + 1 == proposals.size();
        w.u8(last ? 0 : static_cast<uint8_t>(PayloadType::Proposal)).u8(0);
        w.u16(static_cast<uint16_t>(pw.size() + kGenericHeaderSize)).bytes(pw.data());
    }
}

Result<SaPayload> parse_sa(ByteView body) {
    ByteReader r(body);
    SaPayload sa;
    sa.doi = r.u32();
    sa.situation = r.u32();
    if (r.failed()) return parse_failure(ParseError::Truncated, "SA payload");
    auto proposals = parse_proposals(r.rest());
    if (!proposals) return proposals.error();
    sa.proposals = std::move(*proposals);
    if (sa.proposals.empty()) return parse_failure(ParseError::BadValue, "SA payload (no proposal)");
    return sa;
}

Bytes encode_sa(const SaPayload& sa) {
    ByteWriter w;
    w.u32(sa.doi).u32(sa.situation);
    write_proposals(w, sa.proposals);
    return w.take();
}

// ---- Identification

Result<IdPayload> parse_id(ByteView body) {
    ByteReader r(body);
    IdPayload id;
    id.type = r.u8();
    id.protocol = r.u8();
    id.port = r.u16();
    if (r.failed()) return parse_failure(ParseError::Truncated, "ID payload");
    id.data = to_bytes(r.rest());
    if (auto sized = check_address_id(id); !sized)
        return common::make_error(
            "malformed ISAKMP message: " + std::string(parse_error_name(ParseError::BadValue)) +
                " in ID payload: " + sized.error().message,
            static_cast<int>(ParseError::BadValue));
    return id;
}

common::Status check_address_id(const IdPayload& id) {
    const auto type = static_cast<IdType>(id.type);
    const size_t want = type == IdType::Ipv4Addr ? 4 : type == IdType::Ipv6Addr ? 16 : 0;
    if (want == 0 || id.data.size() == want) return {};
    return common::make_error(std::string(type == IdType::Ipv4Addr ? "ID_IPV4_ADDR" : "ID_IPV6_ADDR") +
                              " with " + std::to_string(id.data.size()) + " bytes of data (an " +
                              (type == IdType::Ipv4Addr ? "IPv4 address is 4" : "IPv6 address is 16") + ")");
}

Bytes encode_id(const IdPayload& id) {
    ByteWriter w;
    w.u8(id.type).u8(id.protocol).u16(id.port).bytes(id.data);
    return w.take();
}

IdPayload address_id(const common::IpAddress& address) {
    IdPayload id;
    id.type =
        static_cast<uint8_t>(address.family == common::IpFamily::ipv4 ? IdType::Ipv4Addr : IdType::Ipv6Addr);
    id.data.assign(address.bytes.begin(), address.bytes.begin() + address.byte_count());
    return id;
}

// ---- Notification

Result<NotificationPayload> parse_notification(ByteView body) {
    ByteReader r(body);
    NotificationPayload n;
    n.doi = r.u32();
    n.protocol = r.u8();
    uint8_t spi_size = r.u8();
    n.type = r.u16();
    n.spi = to_bytes(r.take(spi_size));
    if (r.failed()) return parse_failure(ParseError::Truncated, "notification payload");
    n.data = to_bytes(r.rest());
    return n;
}

Bytes encode_notification(const NotificationPayload& n) {
    ByteWriter w;
    w.u32(n.doi).u8(n.protocol).u8(static_cast<uint8_t>(n.spi.size())).u16(n.type).bytes(n.spi).bytes(n.data);
    return w.take();
}

// ---- Delete

Result<DeletePayload> parse_delete(ByteView body) {
    ByteReader r(body);
    DeletePayload d;
    d.doi = r.u32();
    d.protocol = r.u8();
    d.spi_size = r.u8();
    uint16_t count = r.u16();
    if (r.failed()) return parse_failure(ParseError::Truncated, "delete payload");
    if (d.spi_size == 0 && count != 0) return parse_failure(ParseError::BadValue, "delete payload");
    // RFC 2408 §3.15: # of SPIs, 2 octets; a rekey deletes one SPI per TEK it replaces, so the
    // bound is the payload's bytes (at most a datagram's), not a count.
    if (size_t{count} * d.spi_size > r.remaining())
        return parse_failure(ParseError::BadLength, "delete payload SPIs");
    for (uint16_t i = 0; i < count; ++i) {
        ByteView spi = r.take(d.spi_size);
        if (r.failed()) return parse_failure(ParseError::BadLength, "delete payload SPIs");
        d.spis.push_back(to_bytes(spi));
    }
    if (!r.at_end()) return parse_failure(ParseError::BadLength, "delete payload");
    return d;
}

Bytes encode_delete(const DeletePayload& d) {
    ByteWriter w;
    w.u32(d.doi).u8(d.protocol).u8(d.spi_size).u16(static_cast<uint16_t>(d.spis.size()));
    for (const auto& spi : d.spis) w.bytes(spi);
    return w.take();
}

// ---- Certificate

Result<CertificatePayload> parse_certificate(ByteView body) {
    ByteReader r(body);
    CertificatePayload c;
    c.encoding = r.u8();
    if (r.failed()) return parse_failure(ParseError::Truncated, "certificate payload");
    c.data = to_bytes(r.rest());
    return c;
}

Bytes encode_certificate(const CertificatePayload& c) {
    ByteWriter w;
    w.u8(c.encoding).bytes(c.data);
    return w.take();
}

Result<ByteView> parse_nonce(ByteView body) {
    if (body.size() < 8 || body.size() > 256) return parse_failure(ParseError::BadLength, "nonce payload");
    return body;
}

}  // namespace gdoi::isakmp
