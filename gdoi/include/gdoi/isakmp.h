// ISAKMP (RFC 2408) message codec: header, generic payload chain and the typed
// payloads IKEv1 (RFC 2409) and GDOI (RFC 6407) use. Parsing is bounds-checked
// everywhere and returns a typed ParseError; building computes every length.
// Views returned by the parsers point into the caller's datagram buffer.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "common/ip_address.h"
#include "common/result.h"
#include "gdoi/bytes.h"

namespace gdoi::isakmp {

using common::Result;

// RFC 2408 §3.1; GDOI values RFC 6407 §5.
enum class PayloadType : uint8_t {
    None = 0,
    Sa = 1,
    Proposal = 2,
    Transform = 3,
    KeyExchange = 4,
    Identification = 5,
    Certificate = 6,
    CertificateRequest = 7,
    Hash = 8,
    Signature = 9,
    Nonce = 10,
    Notification = 11,
    Delete = 12,
    VendorId = 13,
    SaKek = 15,
    SaTek = 16,
    KeyDownload = 17,
    SequenceNumber = 18,
    NatDiscovery = 20,  // RFC 3947
    NatOriginalAddress = 21,
    Gap = 22,
};
const char* payload_name(PayloadType type);
bool is_known_payload(uint8_t type);

// RFC 2408 §3.1 / RFC 2409; GDOI: RFC 6407 §3.1, §4.1; RFC 8263 §3.
enum class ExchangeType : uint8_t {
    Base = 1,
    IdentityProtection = 2,  // Main Mode
    AuthenticationOnly = 3,
    Aggressive = 4,
    Informational = 5,
    QuickMode = 32,     // IPsec DOI
    GroupkeyPull = 32,  // GDOI DOI reuses the DOI-specific range
    GroupkeyPush = 33,
    GroupkeyPushAck = 35,  // RFC 8263 (number not yet checked against the RFC's IANA section)
};

inline constexpr uint8_t kVersion = 0x10;  // major 1, minor 0
inline constexpr uint8_t kFlagEncryption = 0x01;
inline constexpr uint8_t kFlagCommit = 0x02;
inline constexpr uint8_t kFlagAuthOnly = 0x04;
inline constexpr size_t kHeaderSize = 28;
inline constexpr size_t kGenericHeaderSize = 4;
// The payload chain is bounded by bytes, not by a count. An ISAKMP message travels in one UDP
// datagram (GDOI: RFC 6407 §2, port 848) and neither RFC 2408 nor RFC 6407 splits a message
// over several, so no message, and no decrypted payload chain, is longer than a UDP payload:
// 65,535 - 8 octets (RFC 768 Length includes the header; 65,507 over IPv4).
// Every payload has at least its 4-octet generic header (RFC 2408 §3.2), so a chain holds at
// most kMaxPayloads payloads (16,374, about 390 KiB of views): what a datagram can say, and a
// key server that sends one SA TEK per policy line needs far more than a fixed 64.
inline constexpr size_t kMaxMessageSize = 65535 - 8;
inline constexpr size_t kMaxPayloads = (kMaxMessageSize - kHeaderSize) / kGenericHeaderSize;
// DoS bounds on the nesting inside one SA payload: far above what any real exchange carries.
inline constexpr size_t kMaxProposals = 32;
inline constexpr size_t kMaxTransforms = 64;
inline constexpr size_t kMaxAttributes = 64;

enum class ParseError : int {
    Truncated = 1,     // fewer bytes than a fixed field needs
    BadLength,         // a length field disagrees with the bytes present
    BadVersion,        // not ISAKMP 1.0
    UnknownPayload,    // payload type we do not know (IKEv1 has no "non-critical")
    ReservedNotZero,   // RFC 2408 §3.2: RESERVED must be 0
    AttributeOverrun,  // an attribute runs past its transform
    NestingOverrun,    // a proposal/transform runs past its parent
    TooMany,           // more payloads/proposals/transforms/attributes than the bounds
    BadValue,          // a field holds a value the format forbids
    TrailingData,      // bytes after the last payload of a cleartext message
};
const char* parse_error_name(ParseError e);
common::Error parse_failure(ParseError e, const std::string& where);
inline ParseError parse_error_of(const common::Error& e) { return static_cast<ParseError>(e.code); }

using Cookie = std::array<uint8_t, 8>;

struct Header {
    Cookie initiator_cookie{};
    Cookie responder_cookie{};
    PayloadType next_payload = PayloadType::None;
    uint8_t version = kVersion;
    ExchangeType exchange = ExchangeType::IdentityProtection;
    uint8_t flags = 0;
    uint32_t message_id = 0;
    uint32_t length = 0;

    bool encrypted() const { return flags & kFlagEncryption; }
};

Result<Header> parse_header(ByteView datagram);
Bytes encode_header(const Header& header);

struct RawPayload {
    PayloadType type;
    ByteView body;  // without the 4-byte generic header
};

// Trailing bytes after the last payload: an error in cleartext messages, the
// cipher padding in decrypted ones (RFC 2409 §5.3; receivers ignore padding).
enum class Trailing { Reject, AllowPadding };

Result<std::vector<RawPayload>> parse_payload_chain(PayloadType first, ByteView data, Trailing trailing);

struct ParsedMessage {
    Header header;
    ByteView body;                     // bytes after the header (ciphertext if encrypted)
    std::vector<RawPayload> payloads;  // empty when encrypted: decrypt, then parse_payload_chain
};
// Parses a datagram: header, length check, and the payload chain when not encrypted.
Result<ParsedMessage> parse_message(ByteView datagram);

// Finds the first payload of a type (nullptr when absent).
const RawPayload* find_payload(const std::vector<RawPayload>& payloads, PayloadType type);

// ---- Data attributes (RFC 2408 §3.3): TV when the AF bit is set, TLV otherwise.
struct Attribute {
    uint16_t type = 0;  // without the AF bit
    bool basic = true;
    Bytes value;  // 2 bytes when basic

    static Attribute basic_attr(uint16_t type, uint16_t value);
    static Attribute variable(uint16_t type, ByteView value);
    // Variable attribute holding an integer in as few bytes as needed (e.g. life duration).
    static Attribute integer(uint16_t type, uint64_t value);
    // Value as an unsigned integer; nullopt if longer than 8 bytes.
    std::optional<uint64_t> as_integer() const;
};
// The same attributes as views into the input (for key material, which must not be
// copied into ordinary heap memory).
struct AttributeView {
    uint16_t type = 0;
    bool basic = true;
    ByteView value;
    std::optional<uint64_t> as_integer() const;
};
Result<std::vector<AttributeView>> parse_attribute_views(ByteView data);
Result<std::vector<Attribute>> parse_attributes(ByteView data);
void write_attributes(ByteWriter& w, const std::vector<Attribute>& attrs);
const Attribute* find_attribute(const std::vector<Attribute>& attrs, uint16_t type);

// ---- SA / Proposal / Transform (RFC 2408 §3.4–3.6), the IKE and IPsec DOI form.
struct Transform {
    uint8_t number = 1;
    uint8_t id = 0;
    std::vector<Attribute> attributes;
};

struct Proposal {
    uint8_t number = 1;
    uint8_t protocol = 0;
    Bytes spi;
    std::vector<Transform> transforms;
};

struct SaPayload {
    uint32_t doi = 0;
    uint32_t situation = 1;  // SIT_IDENTITY_ONLY
    std::vector<Proposal> proposals;
};
Result<SaPayload> parse_sa(ByteView body);
Bytes encode_sa(const SaPayload& sa);
Result<std::vector<Proposal>> parse_proposals(ByteView data);
void write_proposals(ByteWriter& w, const std::vector<Proposal>& proposals);
Result<Transform> parse_transform(ByteView body);

// ---- Identification (RFC 2407 §4.6.2)
enum class IdType : uint8_t {
    Ipv4Addr = 1,
    Fqdn = 2,
    UserFqdn = 3,
    Ipv4Subnet = 4,
    Ipv6Addr = 5,
    Ipv6Subnet = 6,
    Ipv4Range = 7,
    Ipv6Range = 8,
    DerAsn1Dn = 9,
    KeyId = 11,
};
struct IdPayload {
    uint8_t type = 0;
    uint8_t protocol = 0;
    uint16_t port = 0;
    Bytes data;

    bool operator==(const IdPayload&) const = default;
};
// Refuses an ID_IPV4_ADDR / ID_IPV6_ADDR whose data is not an address (check_address_id).
Result<IdPayload> parse_id(ByteView body);
// ID_IPV4_ADDR data is 4 bytes, ID_IPV6_ADDR 16 (RFC 2407 §4.6.2.2, §4.6.2.6); other types pass.
common::Status check_address_id(const IdPayload& id);
Bytes encode_id(const IdPayload& id);
// ID_IPV4_ADDR (4 bytes) or ID_IPV6_ADDR (16 bytes) of an address (RFC 2407 §4.6.2.1).
IdPayload address_id(const common::IpAddress& address);

// ---- Notification (RFC 2408 §3.14)
struct NotificationPayload {
    uint32_t doi = 1;
    uint8_t protocol = 1;  // PROTO_ISAKMP
    uint16_t type = 0;
    Bytes spi;
    Bytes data;
};
Result<NotificationPayload> parse_notification(ByteView body);
Bytes encode_notification(const NotificationPayload& n);

// ---- Delete (RFC 2408 §3.15)
struct DeletePayload {
    uint32_t doi = 1;
    uint8_t protocol = 1;
    uint8_t spi_size = 16;
    std::vector<Bytes> spis;
};
Result<DeletePayload> parse_delete(ByteView body);
Bytes encode_delete(const DeletePayload& d);

// ---- Certificate and Certificate Request (RFC 2408 §3.9–3.10)
struct CertificatePayload {
    uint8_t encoding = 4;  // X.509 signature
    Bytes data;
};
Result<CertificatePayload> parse_certificate(ByteView body);
Bytes encode_certificate(const CertificatePayload& c);

// KE, HASH, SIG, Nonce and Vendor ID bodies are opaque bytes; their
// length limits are checked here (RFC 2408 §3.13: nonce 8..256 bytes).
Result<ByteView> parse_nonce(ByteView body);

// ---- Building messages: payload bodies in order; the builder fills in every
// next-payload field and length.
class MessageBuilder {
public:
    MessageBuilder& add(PayloadType type, ByteView body);
    bool empty() const { return parts_.empty(); }
    PayloadType first_type() const { return parts_.empty() ? PayloadType::None : parts_.front().type; }
    // The chain of generic payloads (what follows the header, before encryption).
    Bytes chain() const;
    // Header (next payload and length filled in) + chain, unencrypted.
    Bytes finish(Header header) const;

private:
    struct Part {
        PayloadType type;
        Bytes body;
    };
    std::vector<Part> parts_;
};

}  // namespace gdoi::isakmp
