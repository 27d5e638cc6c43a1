// ISAKMP header, generic payload chain and message builder (RFC 2408 §3.1–3.2).
#include <stdexcept>
#include <string>

#include "gdoi/isakmp.h"

namespace gdoi::isakmp {

const char* payload_name(PayloadType type) {
    switch (type) {
        case PayloadType::None:
            return "NONE";
        case PayloadType::Sa:
            return "SA";
        case PayloadType::Proposal:
            return "PROPOSAL";
        case PayloadType::Transform:
            return "TRANSFORM";
        case PayloadType::KeyExchange:
            return "KE";
        case PayloadType::Identification:
            return "ID";
        case PayloadType::Certificate:
            return "CERT";
        case PayloadType::CertificateRequest:
            return "CR";
        case PayloadType::Hash:
            return "HASH";
        case PayloadType::Signature:
            return "SIG";
        case PayloadType::Nonce:
            return "NONCE";
        case PayloadType::Notification:
            return "N";
        case PayloadType::Delete:
            return "D";
        case PayloadType::VendorId:
            return "VID";
        case PayloadType::SaKek:
            return "SAK";
        case PayloadType::SaTek:
            return "SAT";
        case PayloadType::KeyDownload:
            return "KD";
        case PayloadType::SequenceNumber:
            return "SEQ";
        case PayloadType::NatDiscovery:
            return "NAT-D";
        case PayloadType::NatOriginalAddress:
            return "NAT-OA";
        case PayloadType::Gap:
            return "GAP";
    }
    return "UNKNOWN";
}

bool is_known_payload(uint8_t type) {
    return (type >= 1 && type <= 13) || (type >= 15 && type <= 18) || (type >= 20 && type <= 22);
}

const char* parse_error_name(ParseError e) {
    switch (e) {
        case ParseError::Truncated:
            return "truncated";
        case ParseError::BadLength:
            return "bad length";
        case ParseError::BadVersion:
            return "bad version";
        case ParseError::UnknownPayload:
            return "unknown payload type";
        case ParseError::ReservedNotZero:
            return "reserved field not zero";
        case ParseError::AttributeOverrun:
            return "attribute overrun";
        case ParseError::NestingOverrun:
            return "nesting overrun";
        case ParseError::TooMany:
            return "too many elements";
        case ParseError::BadValue:
            return "bad value";
        case ParseError::TrailingData:
            return "trailing data";
    }
    return "parse error";
}

common::Error parse_failure(ParseError e, const std::string& where) {
    return common::make_error(
        std::string("malformed ISAKMP message: ") + parse_error_name(e) + " in " + where,
        static_cast<int>(e));
}

Result<Header> parse_header(ByteView datagram) {
    ByteReader r(datagram);
    Header h;
    ByteView ic = r.take(8);
    ByteView rc = r.take(8);
    uint8_t next = r.u8();
    h.version = r.u8();
    h.exchange = static_cast<ExchangeType>(r.u8());
    h.flags = r.u8();
    h.message_id = r.u32();
    h.length = r.u32();
    if (r.failed()) return parse_failure(ParseError::Truncated, "header");
    std::copy(ic.begin(), ic.end(), h.initiator_cookie.begin());
    std::copy(rc.begin(), rc.end(), h.responder_cookie.begin());
    if ((h.version >> 4) != 1) return parse_failure(ParseError::BadVersion, "header");
    if (next != 0 && !is_known_payload(next)) return parse_failure(ParseError::UnknownPayload, "header");
    h.next_payload = static_cast<PayloadType>(next);
    if (h.length < kHeaderSize || h.length > datagram.size())
        return parse_failure(ParseError::BadLength, "header");
    return h;
}

Bytes encode_header(const Header& h) {
    ByteWriter w;
    w.bytes(h.initiator_cookie).bytes(h.responder_cookie);
    w.u8(static_cast<uint8_t>(h.next_payload)).u8(h.version).u8(static_cast<uint8_t>(h.exchange)).u8(h.flags);
    w.u32(h.message_id).u32(h.length);
    return w.take();
}

Result<std::vector<RawPayload>> parse_payload_chain(PayloadType first, ByteView data, Trailing trailing) {
    // A chain longer than any datagram's is refused whole; within it every payload takes at
    // least its generic header, so the loop ends after at most kMaxPayloads payloads.
    if (data.size() > kMaxMessageSize - kHeaderSize)
        return parse_failure(ParseError::BadLength, "payload chain longer than a UDP datagram");
    std::vector<RawPayload> out;
    ByteReader r(data);
    PayloadType type = first;
    const auto fail = [&type](ParseError e) {
        return parse_failure(e, std::string(payload_name(type)) + " payload");
    };
    while (type != PayloadType::None) {
        if (out.size() >= kMaxPayloads) return parse_failure(ParseError::TooMany, "payload chain");
        uint8_t next = r.u8();
        uint8_t reserved = r.u8();
        uint16_t length = r.u16();
        if (r.failed()) return fail(ParseError::Truncated);
        if (length < kGenericHeaderSize) return fail(ParseError::BadLength);
        ByteView body = r.take(length - kGenericHeaderSize);
        if (r.failed()) return fail(ParseError::BadLength);
        if (reserved != 0) return fail(ParseError::ReservedNotZero);
        out.push_back(RawPayload{type, body});
        if (next != 0 && !is_known_payload(next)) return fail(ParseError::UnknownPayload);
        type = static_cast<PayloadType>(next);
    }
    if (trailing == Trailing::Reject && !r.at_end())
        return parse_failure(ParseError::TrailingData, "message");
    return out;
}

Result<ParsedMessage> parse_message(ByteView datagram) {
    auto header = parse_header(datagram);
    if (!header) return header.error();
    ParsedMessage m;
    m.header = *header;
    // Bytes beyond the header's length are ignored (RFC 2408 §3.1 Length is authoritative).
    m.body = datagram.subspan(kHeaderSize, header->length - kHeaderSize);
    if (!m.header.encrypted()) {
        auto chain = parse_payload_chain(m.header.next_payload, m.body, Trailing::Reject);
        if (!chain) return chain.error();
        m.payloads = std::move(*chain);
    }
    return m;
}

const RawPayload* find_payload(const std::vector<RawPayload>& payloads, PayloadType type) {
    for (const auto& p : payloads)
        if (p.type == type) return &p;
    return nullptr;
}

MessageBuilder& MessageBuilder::add(PayloadType type, ByteView body) {
    parts_.push_back(Part{type, Bytes(body.begin(), body.end())});
    return *this;
}

Bytes MessageBuilder::chain() const {
    ByteWriter w;
    for (size_t i = 0; i < parts_.size(); ++i) {
        // RFC 2408 §3.2: the payload length (header included) is 16 bits. Our own payloads
        // never come near it; a larger one is a programming error, not a wire condition.
        if (parts_[i].body.size() + kGenericHeaderSize > 0xffff)
            throw std::length_error("ISAKMP payload larger than 65535 bytes");
        PayloadType next = i + 1 < parts_.size() ? parts_[i + 1].type : PayloadType::None;
        w.u8(static_cast<uint8_t>(next))
            .u8(0)
            .u16(static_cast<uint16_t>(parts_[i].body.size() + kGenericHeaderSize));
        w.bytes(parts_[i].body);
    }
    return w.take();
}

Bytes MessageBuilder::finish(Header header) const {
    Bytes body = chain();
    header.next_payload = first_type();
    header.length = static_cast<uint32_t>(kHeaderSize + body.size());
    Bytes out = encode_header(header);
    out.insert(out.end(), body.begin(), body.end());
    return out;
}

}  // namespace gdoi::isakmp
