// ISAKMP codec (RFC 2408 §3): exact bytes of built payloads and messages, round
// trips of every typed payload, and one test per malformation with its ParseError.
#include <catch2/catch.hpp>

#include "gdoi/isakmp.h"
#include "test_util.h"

using namespace gdoi;
using namespace gdoi::isakmp;
using gdoi::test::hex;
using gdoi::test::parse_error;

namespace {

const Cookie kCkyI{1, 2, 3, 4, 5, 6, 7, 8};
const Cookie kCkyR{0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8};

Header main_mode_header() {
    Header h;
    h.initiator_cookie = kCkyI;
    h.responder_cookie = kCkyR;
    h.exchange = ExchangeType::IdentityProtection;
    return h;
}

// SA, DOI 1, one proposal (ISAKMP, no SPI) with one KEY_IKE transform carrying a
// basic attribute (encryption = AES, 7) and a variable one (life duration 86400).
// Laid out by hand from RFC 2408 §3.4-3.6 and §3.3.
const char* kSaBodyHex =
    "00000001 00000001"    // DOI IPsec, SIT_IDENTITY_ONLY
    "00 00 001c"           // proposal: last, reserved, length 28
    "01 01 00 01"          //   #1, PROTO_ISAKMP, SPI size 0, 1 transform
    "00 00 0014"           //   transform: last, reserved, length 20
    "01 01 0000"           //     #1, KEY_IKE, reserved
    "8001 0007"            //     AF=1 type 1 (encryption) value 7
    "000c 0004 00015180";  //     AF=0 type 12 (life duration) length 4, 86400

SaPayload sample_sa() {
    Transform t;
    t.number = 1;
    t.id = 1;
    t.attributes = {Attribute::basic_attr(1, 7), Attribute::integer(12, 86400)};
    Proposal p;
    p.number = 1;
    p.protocol = 1;
    p.transforms = {t};
    return SaPayload{1, 1, {p}};
}

// A cleartext main-mode message with payloads laid out by the caller.
Bytes message_with_chain(PayloadType first, const Bytes& chain, size_t extra_length = 0) {
    Header h = main_mode_header();
    h.next_payload = first;
    h.length = static_cast<uint32_t>(kHeaderSize + chain.size() + extra_length);
    Bytes out = encode_header(h);
    out.insert(out.end(), chain.begin(), chain.end());
    return out;
}

Bytes vid_chain(size_t count) {
    MessageBuilder b;
    for (size_t i = 0; i < count; ++i) b.add(PayloadType::VendorId, hex("cafe"));
    return b.chain();
}

}  // namespace

// ---------------------------------------------------------------- exact bytes

TEST_CASE("encode_header lays out RFC 2408 3.1 fields big-endian", "[isakmp][codec]") {
    Header h = main_mode_header();
    h.next_payload = PayloadType::Sa;
    h.exchange = ExchangeType::Informational;
    h.flags = kFlagEncryption | kFlagCommit;
    h.message_id = 0x11223344;
    h.length = 0x0102;
    CHECK(encode_header(h) == hex("0102030405060708 a1a2a3a4a5a6a7a8 01 10 05 03 11223344 00000102"));
}

TEST_CASE("MessageBuilder chains next-payload fields and computes lengths", "[isakmp][codec]") {
    MessageBuilder b;
    CHECK(b.empty());
    CHECK(b.first_type() == PayloadType::None);
    b.add(PayloadType::VendorId, hex("abcd"));
    b.add(PayloadType::Nonce, hex("1112131415161718"));
    CHECK_FALSE(b.empty());
    CHECK(b.first_type() == PayloadType::VendorId);

    // Generic payload header: next payload, reserved, length (header included).
    CHECK(b.chain() == hex("0a 00 0006 abcd"
                           "00 00 000c 1112131415161718"));

    Header h = main_mode_header();
    h.responder_cookie = {};
    h.next_payload = PayloadType::Hash;  // overwritten by finish()
    h.length = 999;                      // overwritten by finish()
    Bytes msg = b.finish(h);
    CHECK(msg == hex("0102030405060708 0000000000000000"
                     "0d 10 02 00 00000000 0000002e"  // next VID, v1.0, main mode, length 46
                     "0a 00 0006 abcd"
                     "00 00 000c 1112131415161718"));

    auto parsed = parse_message(msg);
    REQUIRE(parsed.ok());
    CHECK(parsed->header.length == 46);
    REQUIRE(parsed->payloads.size() == 2);
    CHECK(parsed->payloads[0].type == PayloadType::VendorId);
    CHECK(test::to_bytes(parsed->payloads[0].body) == hex("abcd"));
    CHECK(parsed->payloads[1].type == PayloadType::Nonce);
    CHECK(test::to_bytes(parsed->payloads[1].body) == hex("1112131415161718"));
    CHECK(find_payload(parsed->payloads, PayloadType::Nonce) == &parsed->payloads[1]);
    CHECK(find_payload(parsed->payloads, PayloadType::Sa) == nullptr);
}

TEST_CASE("MessageBuilder with no payload gives a bare header", "[isakmp][codec]") {
    MessageBuilder b;
    CHECK(b.chain().empty());
    Bytes msg = b.finish(main_mode_header());
    REQUIRE(msg.size() == kHeaderSize);
    auto parsed = parse_message(msg);
    REQUIRE(parsed.ok());
    CHECK(parsed->header.next_payload == PayloadType::None);
    CHECK(parsed->payloads.empty());
}

TEST_CASE("MessageBuilder never emits a payload whose length field wrapped", "[isakmp][codec][bug]") {
    // The generic payload length is 16 bits (RFC 2408 §3.2): a body of 65532 bytes
    // or more cannot be represented. The builder must refuse (throw) rather than
    // silently write length (body + 4) mod 65536 and produce a message that its own
    // parser rejects.
    MessageBuilder b;
    b.add(PayloadType::Certificate, Bytes(65536, 0x30));
    bool consistent = false;
    try {
        Bytes msg = b.finish(main_mode_header());
        consistent = parse_message(msg).ok();
    } catch (const std::exception&) {
        consistent = true;
    }
    CHECK(consistent);
}

TEST_CASE("encode_sa matches the hand-built RFC 2408 layout", "[isakmp][codec]") {
    CHECK(encode_sa(sample_sa()) == hex(kSaBodyHex));
}

// ---------------------------------------------------------------- round trips

TEST_CASE("SA / proposal / transform / attributes round trip", "[isakmp][codec]") {
    SECTION("hand-built sample") {
        auto sa = parse_sa(hex(kSaBodyHex));
        REQUIRE(sa.ok());
        CHECK(sa->doi == 1);
        CHECK(sa->situation == 1);
        REQUIRE(sa->proposals.size() == 1);
        const Proposal& p = sa->proposals[0];
        CHECK(p.number == 1);
        CHECK(p.protocol == 1);
        CHECK(p.spi.empty());
        REQUIRE(p.transforms.size() == 1);
        const Transform& t = p.transforms[0];
        CHECK(t.number == 1);
        CHECK(t.id == 1);
        REQUIRE(t.attributes.size() == 2);
        CHECK(t.attributes[0].type == 1);
        CHECK(t.attributes[0].basic);
        CHECK(t.attributes[0].value == hex("0007"));
        CHECK(t.attributes[1].type == 12);
        CHECK_FALSE(t.attributes[1].basic);
        CHECK(t.attributes[1].value == hex("00015180"));
        CHECK(t.attributes[1].as_integer() == 86400u);
    }
    SECTION("several proposals, SPIs, transforms and attribute kinds") {
        SaPayload sa;
        sa.doi = 2;
        sa.situation = 0;
        for (uint8_t pn = 1; pn <= 3; ++pn) {
            Proposal p;
            p.number = pn;
            p.protocol = static_cast<uint8_t>(pn + 1);
            p.spi = Bytes(pn == 2 ? 0 : 4 * pn, static_cast<uint8_t>(0x50 + pn));
            for (uint8_t tn = 1; tn <= pn; ++tn) {
                Transform t;
                t.number = tn;
                t.id = static_cast<uint8_t>(10 + tn);
                t.attributes = {Attribute::basic_attr(1, 0xbeef),
                                Attribute::variable(2, hex("00112233445566")), Attribute::variable(3, {}),
                                Attribute::basic_attr(0x7fff, 0), Attribute::integer(4, 0x0102030405ull)};
                if (tn == 2) t.attributes.clear();  // transform without attributes
                p.transforms.push_back(t);
            }
            sa.proposals.push_back(p);
        }
        Bytes wire = encode_sa(sa);
        auto back = parse_sa(wire);
        REQUIRE(back.ok());
        CHECK(back->doi == sa.doi);
        CHECK(back->situation == sa.situation);
        REQUIRE(back->proposals.size() == sa.proposals.size());
        for (size_t i = 0; i < sa.proposals.size(); ++i) {
            const auto& a = sa.proposals[i];
            const auto& b = back->proposals[i];
            CHECK(a.number == b.number);
            CHECK(a.protocol == b.protocol);
            CHECK(a.spi == b.spi);
            REQUIRE(a.transforms.size() == b.transforms.size());
            for (size_t j = 0; j < a.transforms.size(); ++j) {
                CHECK(a.transforms[j].number == b.transforms[j].number);
                CHECK(a.transforms[j].id == b.transforms[j].id);
                REQUIRE(a.transforms[j].attributes.size() == b.transforms[j].attributes.size());
                for (size_t k = 0; k < a.transforms[j].attributes.size(); ++k) {
                    const auto& x = a.transforms[j].attributes[k];
                    const auto& y = b.transforms[j].attributes[k];
                    CHECK(x.type == y.type);
                    CHECK(x.basic == y.basic);
                    CHECK(x.value == y.value);
                }
            }
        }
        CHECK(encode_sa(*back) == wire);
    }
}

TEST_CASE("attributes: TV and TLV encoding, integer helper", "[isakmp][codec]") {
    ByteWriter w;
    write_attributes(w, {Attribute::basic_attr(4, 14), Attribute::variable(5, hex("aabbcc")),
                         Attribute::integer(12, 86400), Attribute::integer(12, 0),
                         Attribute::integer(12, 0x0102030405ull)});
    CHECK(w.data() == hex("8004 000e"
                          "0005 0003 aabbcc"
                          "000c 0004 00015180"
                          "000c 0004 00000000"
                          "000c 0005 0102030405"));
    auto attrs = parse_attributes(w.data());
    REQUIRE(attrs.ok());
    REQUIRE(attrs->size() == 5);
    CHECK((*attrs)[0].as_integer() == 14u);
    CHECK((*attrs)[1].value == hex("aabbcc"));
    CHECK((*attrs)[2].as_integer() == 86400u);
    CHECK((*attrs)[3].as_integer() == 0u);
    CHECK((*attrs)[4].as_integer() == 0x0102030405ull);
    CHECK(find_attribute(*attrs, 5) == &(*attrs)[1]);
    CHECK(find_attribute(*attrs, 12) == &(*attrs)[2]);  // the first one
    CHECK(find_attribute(*attrs, 99) == nullptr);

    CHECK(Attribute::variable(1, Bytes(8, 0xff)).as_integer() == UINT64_MAX);
    CHECK_FALSE(Attribute::variable(1, Bytes(9, 0)).as_integer().has_value());

    auto empty = parse_attributes({});
    REQUIRE(empty.ok());
    CHECK(empty->empty());
}

TEST_CASE("ID payload round trip", "[isakmp][codec]") {
    IdPayload id{static_cast<uint8_t>(IdType::Ipv4Addr), 17, 500, hex("c0000201")};
    Bytes wire = encode_id(id);
    CHECK(wire == hex("01 11 01f4 c0000201"));
    auto back = parse_id(wire);
    REQUIRE(back.ok());
    CHECK(back->type == id.type);
    CHECK(back->protocol == 17);
    CHECK(back->port == 500);
    CHECK(back->data == id.data);

    IdPayload fqdn{static_cast<uint8_t>(IdType::Fqdn), 0, 0, test::str("ks.example.net")};
    auto back2 = parse_id(encode_id(fqdn));
    REQUIRE(back2.ok());
    CHECK(back2->data == fqdn.data);

    CHECK(parse_error(parse_id(hex("010000"))) == ParseError::Truncated);
}

TEST_CASE("address_id: ID_IPV4_ADDR of 4 bytes, ID_IPV6_ADDR of 16 (RFC 2407 section 4.6.2.1)",
          "[isakmp][codec]") {
    const auto v4 = address_id(*common::IpAddress::parse("192.0.2.1"));
    CHECK(v4.type == static_cast<uint8_t>(IdType::Ipv4Addr));
    CHECK(v4.data == hex("c0000201"));
    CHECK(encode_id(v4) == hex("01 00 0000 c0000201"));
    const auto v6 = address_id(*common::IpAddress::parse("2001:db8::1"));
    CHECK(v6.type == static_cast<uint8_t>(IdType::Ipv6Addr));
    CHECK(v6.data == hex("20010db8000000000000000000000001"));
}

TEST_CASE("notification payload round trip", "[isakmp][codec]") {
    NotificationPayload n;
    n.doi = 1;
    n.protocol = 1;
    n.type = 24578;  // INITIAL-CONTACT
    n.spi = hex("0102030405060708a1a2a3a4a5a6a7a8");
    n.data = hex("deadbeef");
    Bytes wire = encode_notification(n);
    CHECK(wire == hex("00000001 01 10 6002 0102030405060708a1a2a3a4a5a6a7a8 deadbeef"));
    auto back = parse_notification(wire);
    REQUIRE(back.ok());
    CHECK(back->doi == 1);
    CHECK(back->protocol == 1);
    CHECK(back->type == 24578);
    CHECK(back->spi == n.spi);
    CHECK(back->data == n.data);

    NotificationPayload bare;
    bare.type = 14;
    auto back2 = parse_notification(encode_notification(bare));
    REQUIRE(back2.ok());
    CHECK(back2->spi.empty());
    CHECK(back2->data.empty());

    CHECK(parse_error(parse_notification(hex("00000001 01 10 000e 0102"))) ==
          ParseError::Truncated);  // SPI short
    CHECK(parse_error(parse_notification(hex("00000001 01 00 00"))) == ParseError::Truncated);
}

TEST_CASE("delete payload round trip", "[isakmp][codec]") {
    DeletePayload d;
    d.doi = 1;
    d.protocol = 3;  // ESP
    d.spi_size = 4;
    d.spis = {hex("11223344"), hex("55667788")};
    Bytes wire = encode_delete(d);
    CHECK(wire == hex("00000001 03 04 0002 11223344 55667788"));
    auto back = parse_delete(wire);
    REQUIRE(back.ok());
    CHECK(back->doi == 1);
    CHECK(back->protocol == 3);
    CHECK(back->spi_size == 4);
    CHECK(back->spis == d.spis);

    DeletePayload isakmp_sa;  // defaults: PROTO_ISAKMP, 16-byte cookie pair
    isakmp_sa.spis = {Bytes(16, 0x42)};
    auto back2 = parse_delete(encode_delete(isakmp_sa));
    REQUIRE(back2.ok());
    CHECK(back2->spis == isakmp_sa.spis);

    CHECK(parse_error(parse_delete(hex("00000001 03 04 0002 11223344 556677"))) == ParseError::BadLength);
    CHECK(parse_error(parse_delete(hex("00000001 03 04 0001 11223344 55"))) == ParseError::BadLength);
    CHECK(parse_error(parse_delete(hex("00000001 03 00 0001"))) == ParseError::BadValue);
    // A count the payload's bytes cannot hold (257 SPIs, none present; 65,535 SPIs, one present).
    CHECK(parse_error(parse_delete(hex("00000001 03 04 0101"))) == ParseError::BadLength);
    CHECK(parse_error(parse_delete(hex("00000001 03 04 ffff 11223344"))) == ParseError::BadLength);

    // A rekey replacing 1,000 TEKs deletes 1,000 SPIs in one payload.
    DeletePayload many{1, 3, 4, {}};
    for (uint32_t i = 0; i < 1000; ++i)
        many.spis.push_back({0, 0, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)});
    auto back_many = parse_delete(encode_delete(many));
    REQUIRE(back_many.ok());
    CHECK(back_many->spis == many.spis);
    CHECK(parse_error(parse_delete(hex("00000001 03 04"))) == ParseError::Truncated);
}

TEST_CASE("certificate payload round trip", "[isakmp][codec]") {
    CertificatePayload c;
    c.encoding = 4;
    c.data = hex("3082000130");
    Bytes wire = encode_certificate(c);
    CHECK(wire == hex("04 3082000130"));
    auto back = parse_certificate(wire);
    REQUIRE(back.ok());
    CHECK(back->encoding == 4);
    CHECK(back->data == c.data);
    CHECK(parse_error(parse_certificate({})) == ParseError::Truncated);
}

TEST_CASE("nonce payload: 8..256 bytes (RFC 2408 3.13)", "[isakmp][codec]") {
    Bytes n8(8, 1), n256(256, 2);
    auto a = parse_nonce(n8);
    REQUIRE(a.ok());
    CHECK(test::to_bytes(*a) == n8);
    CHECK(parse_nonce(n256).ok());
    CHECK(parse_error(parse_nonce(Bytes(7, 1))) == ParseError::BadLength);
    CHECK(parse_error(parse_nonce(Bytes(257, 1))) == ParseError::BadLength);
    CHECK(parse_error(parse_nonce({})) == ParseError::BadLength);

    // Through a message: the nonce body the parser hands back is the builder's input.
    MessageBuilder b;
    b.add(PayloadType::Nonce, n256);
    Bytes msg = b.finish(main_mode_header());
    auto m = parse_message(msg);
    REQUIRE(m.ok());
    auto nonce = parse_nonce(m->payloads.at(0).body);
    REQUIRE(nonce.ok());
    CHECK(test::to_bytes(*nonce) == n256);
}

TEST_CASE("full message round trip with every typed payload", "[isakmp][codec]") {
    IdPayload id{1, 0, 0, hex("0a000001")};
    NotificationPayload n;
    n.type = 24578;
    n.spi = Bytes(16, 7);
    DeletePayload d;
    d.spis = {Bytes(16, 9)};
    CertificatePayload c{4, hex("3003020101")};
    Bytes nonce(32, 0x5a);

    MessageBuilder b;
    b.add(PayloadType::Sa, encode_sa(sample_sa()))
        .add(PayloadType::KeyExchange, Bytes(256, 0x33))
        .add(PayloadType::Nonce, nonce)
        .add(PayloadType::Identification, encode_id(id))
        .add(PayloadType::Certificate, encode_certificate(c))
        .add(PayloadType::Notification, encode_notification(n))
        .add(PayloadType::Delete, encode_delete(d))
        .add(PayloadType::VendorId, hex("afcad71368a1f1c96b8696fc77570100"));
    Header h = main_mode_header();
    h.message_id = 0xdeadbeef;
    Bytes msg = b.finish(h);

    auto m = parse_message(msg);
    REQUIRE(m.ok());
    CHECK(m->header.initiator_cookie == kCkyI);
    CHECK(m->header.responder_cookie == kCkyR);
    CHECK(m->header.message_id == 0xdeadbeef);
    CHECK(m->header.length == msg.size());
    CHECK(m->header.version == kVersion);
    CHECK_FALSE(m->header.encrypted());
    CHECK(m->body.size() == msg.size() - kHeaderSize);
    REQUIRE(m->payloads.size() == 8);
    const PayloadType order[] = {
        PayloadType::Sa,          PayloadType::KeyExchange,  PayloadType::Nonce,  PayloadType::Identification,
        PayloadType::Certificate, PayloadType::Notification, PayloadType::Delete, PayloadType::VendorId};
    for (size_t i = 0; i < 8; ++i) CHECK(m->payloads[i].type == order[i]);

    CHECK(encode_sa(*parse_sa(m->payloads[0].body)) == encode_sa(sample_sa()));
    CHECK(test::to_bytes(m->payloads[1].body) == Bytes(256, 0x33));
    CHECK(test::to_bytes(*parse_nonce(m->payloads[2].body)) == nonce);
    CHECK(parse_id(m->payloads[3].body)->data == id.data);
    CHECK(parse_certificate(m->payloads[4].body)->data == c.data);
    CHECK(parse_notification(m->payloads[5].body)->spi == n.spi);
    CHECK(parse_delete(m->payloads[6].body)->spis == d.spis);

    // Rebuilding from the parsed payloads gives the same bytes.
    MessageBuilder again;
    for (const auto& p : m->payloads) again.add(p.type, p.body);
    CHECK(again.finish(m->header) == msg);
}

TEST_CASE("encrypted message: body kept, chain not parsed", "[isakmp][codec]") {
    Header h = main_mode_header();
    h.flags = kFlagEncryption;
    h.next_payload = PayloadType::Identification;
    Bytes ct(32, 0xee);  // not a valid chain in clear
    h.length = static_cast<uint32_t>(kHeaderSize + ct.size());
    Bytes msg = encode_header(h);
    msg.insert(msg.end(), ct.begin(), ct.end());
    auto m = parse_message(msg);
    REQUIRE(m.ok());
    CHECK(m->header.encrypted());
    CHECK(m->payloads.empty());
    CHECK(test::to_bytes(m->body) == ct);
}

TEST_CASE("bytes after the header's length are ignored", "[isakmp][codec]") {
    MessageBuilder b;
    b.add(PayloadType::VendorId, hex("01020304"));
    Bytes msg = b.finish(main_mode_header());
    Bytes longer = msg;
    longer.push_back(0xff);
    auto m = parse_message(longer);
    REQUIRE(m.ok());
    CHECK(m->body.size() == msg.size() - kHeaderSize);
}

TEST_CASE("names for payloads and errors", "[isakmp][codec]") {
    CHECK(std::string(payload_name(PayloadType::Sa)) == "SA");
    CHECK(std::string(payload_name(PayloadType::SaKek)) == "SAK");
    CHECK(std::string(payload_name(static_cast<PayloadType>(200))) == "UNKNOWN");
    for (int t = 0; t < 256; ++t) {
        bool expect = (t >= 1 && t <= 13) || (t >= 15 && t <= 18) || (t >= 20 && t <= 22);
        CHECK(is_known_payload(static_cast<uint8_t>(t)) == expect);
    }
    auto e = parse_failure(ParseError::NestingOverrun, "proposal");
    CHECK(parse_error_of(e) == ParseError::NestingOverrun);
    CHECK(e.message.find("nesting overrun") != std::string::npos);
    CHECK(e.message.find("proposal") != std::string::npos);
}

// ---------------------------------------------------------------- malformations

TEST_CASE("malformed: truncated header", "[isakmp][malformed]") {
    MessageBuilder b;
    Bytes msg = b.finish(main_mode_header());
    for (size_t n : {size_t{0}, size_t{1}, size_t{16}, kHeaderSize - 1}) {
        INFO("datagram of " << n << " bytes");
        CHECK(parse_error(parse_message(ByteView(msg).first(n))) == ParseError::Truncated);
        CHECK(parse_error(parse_header(ByteView(msg).first(n))) == ParseError::Truncated);
    }
}

TEST_CASE("malformed: header length disagrees with the datagram", "[isakmp][malformed]") {
    MessageBuilder b;
    b.add(PayloadType::VendorId, hex("01020304"));
    Bytes msg = b.finish(main_mode_header());
    SECTION("header length > datagram") {
        msg[27] = static_cast<uint8_t>(msg.size() + 1);
        CHECK(parse_error(parse_message(msg)) == ParseError::BadLength);
    }
    SECTION("header length < header size") {
        msg[27] = 27;
        CHECK(parse_error(parse_message(msg)) == ParseError::BadLength);
    }
    SECTION("header length cuts the last payload") {
        msg[27] = static_cast<uint8_t>(msg.size() - 1);
        CHECK(parse_error(parse_message(msg)) == ParseError::BadLength);
    }
}

TEST_CASE("malformed: payload length < 4", "[isakmp][malformed]") {
    for (uint8_t len : {0, 1, 3}) {
        Bytes chain = hex("00 00 0000");
        chain[3] = len;
        CHECK(parse_error(parse_message(message_with_chain(PayloadType::VendorId, chain))) ==
              ParseError::BadLength);
    }
    // Exactly 4 (empty body) is fine.
    CHECK(parse_message(message_with_chain(PayloadType::VendorId, hex("00 00 0004"))).ok());
}

TEST_CASE("malformed: payload length past the end", "[isakmp][malformed]") {
    CHECK(parse_error(parse_message(message_with_chain(PayloadType::VendorId, hex("00 00 0009 01020304")))) ==
          ParseError::BadLength);
    // Second payload overruns.
    CHECK(parse_error(parse_message(message_with_chain(
              PayloadType::VendorId, hex("0d 00 0005 01  00 00 ffff 0102")))) == ParseError::BadLength);
    CHECK(parse_error(parse_payload_chain(PayloadType::VendorId, hex("00 00 0009 01020304"),
                                          Trailing::AllowPadding)) == ParseError::BadLength);
}

TEST_CASE("malformed: generic payload header cut short", "[isakmp][malformed]") {
    // The first payload announces another one but the message ends.
    CHECK(parse_error(parse_message(message_with_chain(PayloadType::VendorId, hex("0d 00 0005 01")))) ==
          ParseError::Truncated);
    CHECK(parse_error(parse_message(message_with_chain(PayloadType::VendorId, hex("0d 00 0005 01 00 00")))) ==
          ParseError::Truncated);
    // Header announces a payload, body empty.
    CHECK(parse_error(parse_message(message_with_chain(PayloadType::Sa, {}))) == ParseError::Truncated);
}

TEST_CASE("malformed: bad version", "[isakmp][malformed]") {
    MessageBuilder b;
    Bytes msg = b.finish(main_mode_header());
    for (uint8_t v : {0x00, 0x20, 0x01, 0xf0}) {
        msg[17] = v;
        INFO("version byte " << int(v));
        CHECK(parse_error(parse_message(msg)) == ParseError::BadVersion);
    }
}

TEST_CASE("malformed: unknown payload type in the header", "[isakmp][malformed]") {
    for (uint8_t t : {14, 19, 23, 46, 128, 255}) {
        INFO("type " << int(t));
        Bytes msg = message_with_chain(PayloadType::VendorId, hex("00 00 0004"));
        msg[16] = t;
        CHECK(parse_error(parse_message(msg)) == ParseError::UnknownPayload);
    }
}

TEST_CASE("malformed: unknown payload type mid-chain", "[isakmp][malformed]") {
    Bytes chain = hex("0d 00 0006 0102  2e 00 0006 0304  00 00 0004");  // VID -> VID -> next 46
    CHECK(parse_error(parse_message(message_with_chain(PayloadType::VendorId, chain))) ==
          ParseError::UnknownPayload);
    CHECK(parse_error(parse_payload_chain(PayloadType::VendorId, chain, Trailing::AllowPadding)) ==
          ParseError::UnknownPayload);
}

TEST_CASE("malformed: reserved not zero", "[isakmp][malformed]") {
    SECTION("generic payload header") {
        CHECK(parse_error(parse_message(message_with_chain(PayloadType::VendorId, hex("00 01 0006 0102")))) ==
              ParseError::ReservedNotZero);
        CHECK(parse_error(parse_message(message_with_chain(
                  PayloadType::VendorId, hex("0d 00 0004  00 80 0004")))) == ParseError::ReservedNotZero);
    }
    SECTION("proposal header in an SA") {
        Bytes sa = hex(kSaBodyHex);
        sa[9] = 1;
        CHECK(parse_error(parse_sa(sa)) == ParseError::ReservedNotZero);
    }
    SECTION("transform header in a proposal") {
        Bytes sa = hex(kSaBodyHex);
        sa[17] = 1;
        CHECK(parse_error(parse_sa(sa)) == ParseError::ReservedNotZero);
    }
    SECTION("transform body RESERVED2") {
        Bytes sa = hex(kSaBodyHex);
        sa[23] = 1;
        CHECK(parse_error(parse_sa(sa)) == ParseError::ReservedNotZero);
        CHECK(parse_error(parse_transform(hex("01 01 0100"))) == ParseError::ReservedNotZero);
    }
}

TEST_CASE("malformed: attribute overrun", "[isakmp][malformed]") {
    SECTION("TLV length past the transform's end") {
        Bytes sa = hex(kSaBodyHex);
        sa[31] = 5;  // life duration claims 5 bytes, 4 present
        CHECK(parse_error(parse_sa(sa)) == ParseError::AttributeOverrun);
    }
    SECTION("attribute header cut short") {
        CHECK(parse_error(parse_attributes(hex("8001 0007 000c"))) == ParseError::AttributeOverrun);
        CHECK(parse_error(parse_attributes(hex("80"))) == ParseError::AttributeOverrun);
    }
    SECTION("TLV value cut short") {
        CHECK(parse_error(parse_attributes(hex("000c 0004 000151"))) == ParseError::AttributeOverrun);
        CHECK(parse_error(parse_transform(hex("01 01 0000  000c ffff 00"))) == ParseError::AttributeOverrun);
    }
}

TEST_CASE("malformed: nesting overrun", "[isakmp][malformed]") {
    SECTION("proposal past the SA's end") {
        Bytes sa = hex(kSaBodyHex);
        sa[11] = 0x1d;  // proposal length 29, SA has 28 bytes after DOI/situation
        CHECK(parse_error(parse_sa(sa)) == ParseError::NestingOverrun);
    }
    SECTION("transform past the proposal's end") {
        Bytes sa = hex(kSaBodyHex);
        sa[19] = 0x15;  // transform length 21, proposal has 20 bytes left
        CHECK(parse_error(parse_sa(sa)) == ParseError::NestingOverrun);
    }
    SECTION("proposal announces a transform it does not contain") {
        Bytes sa = hex(kSaBodyHex);
        sa[15] = 2;  // 2 transforms, the first says it is the last
        CHECK_FALSE(parse_sa(sa).ok());
        Bytes sa2 = hex(kSaBodyHex);
        sa2[15] = 2;
        sa2[16] = 3;  // first transform says another follows: header missing
        CHECK(parse_error(parse_sa(sa2)) == ParseError::NestingOverrun);
    }
    SECTION("another proposal announced but the SA ends") {
        Bytes sa = hex(kSaBodyHex);
        sa[8] = 2;
        CHECK(parse_error(parse_sa(sa)) == ParseError::NestingOverrun);
    }
}

TEST_CASE("payload chain: bounded by the datagram's bytes, not by a count", "[isakmp][malformed]") {
    // A chain of N empty payloads: 4 octets each (RFC 2408 3.2 generic header only).
    const auto empty_vids = [](size_t count) {
        MessageBuilder b;
        for (size_t i = 0; i < count; ++i) b.add(PayloadType::VendorId, {});
        return b.chain();
    };
    for (size_t count : {size_t{65}, size_t{200}, size_t{1000}}) {
        auto ok = parse_message(message_with_chain(PayloadType::VendorId, vid_chain(count)));
        REQUIRE(ok.ok());
        CHECK(ok->payloads.size() == count);
    }
    // The most a UDP datagram can hold: 65,527 octets, header included.
    CHECK(kMaxMessageSize == 65527);
    CHECK(kMaxPayloads == 16374);
    const Bytes largest = empty_vids(kMaxPayloads);
    REQUIRE(kHeaderSize + largest.size() <= kMaxMessageSize);
    auto all = parse_payload_chain(PayloadType::VendorId, largest, Trailing::Reject);
    REQUIRE(all.ok());
    CHECK(all->size() == kMaxPayloads);
    // One payload more is longer than any datagram: refused before it is read, padding or not.
    const Bytes longer = empty_vids(kMaxPayloads + 1);
    CHECK(parse_error(parse_payload_chain(PayloadType::VendorId, longer, Trailing::AllowPadding)) ==
          ParseError::BadLength);
    CHECK(parse_error(parse_message(message_with_chain(PayloadType::VendorId, longer))) ==
          ParseError::BadLength);
    // A short chain followed by more bytes than a datagram holds is refused too.
    Bytes padded = vid_chain(3);
    padded.resize(kMaxMessageSize - kHeaderSize + 1, 0);
    CHECK(parse_error(parse_payload_chain(PayloadType::VendorId, padded, Trailing::AllowPadding)) ==
          ParseError::BadLength);
    // Malformed long chains still fail where they break: a payload shorter than its header,
    // one running past the end, an unknown next payload after 1,000 good ones.
    Bytes chain = vid_chain(1000);
    Bytes short_length = chain;
    short_length[999 * 6 + 3] = 3;  // the last payload's length: 3 < 4
    CHECK(parse_error(parse_payload_chain(PayloadType::VendorId, short_length, Trailing::Reject)) ==
          ParseError::BadLength);
    Bytes overrun = chain;
    overrun[999 * 6 + 3] = 7;  // one octet past the end
    CHECK(parse_error(parse_payload_chain(PayloadType::VendorId, overrun, Trailing::Reject)) ==
          ParseError::BadLength);
    Bytes unknown = chain;
    unknown[999 * 6] = 99;  // the last payload names an unknown next payload
    CHECK(parse_error(parse_payload_chain(PayloadType::VendorId, unknown, Trailing::Reject)) ==
          ParseError::UnknownPayload);
    Bytes cut = chain;
    cut[999 * 6] = static_cast<uint8_t>(PayloadType::VendorId);  // announces a 1,001st that is not there
    CHECK(parse_error(parse_payload_chain(PayloadType::VendorId, cut, Trailing::Reject)) ==
          ParseError::Truncated);
}

TEST_CASE("malformed: too many attributes", "[isakmp][malformed]") {
    ByteWriter w64, w65;
    std::vector<Attribute> attrs(64, Attribute::basic_attr(1, 7));
    write_attributes(w64, attrs);
    attrs.push_back(Attribute::basic_attr(1, 7));
    write_attributes(w65, attrs);
    auto a64 = parse_attributes(w64.data());
    REQUIRE(a64.ok());
    CHECK(a64->size() == 64);
    CHECK(parse_error(parse_attributes(w65.data())) == ParseError::TooMany);

    // The same inside a transform inside an SA.
    SaPayload sa = sample_sa();
    sa.proposals[0].transforms[0].attributes = attrs;
    CHECK(parse_error(parse_sa(encode_sa(sa))) == ParseError::TooMany);
}

TEST_CASE("malformed: too many proposals and transforms", "[isakmp][malformed]") {
    SaPayload sa = sample_sa();
    sa.proposals.assign(kMaxProposals + 1, sa.proposals[0]);
    CHECK(parse_error(parse_sa(encode_sa(sa))) == ParseError::TooMany);
    sa.proposals.resize(kMaxProposals);
    CHECK(parse_sa(encode_sa(sa)).ok());

    SaPayload many = sample_sa();
    many.proposals[0].transforms.assign(kMaxTransforms + 1, many.proposals[0].transforms[0]);
    CHECK(parse_error(parse_sa(encode_sa(many))) == ParseError::TooMany);
    many.proposals[0].transforms.resize(kMaxTransforms);
    auto ok = parse_sa(encode_sa(many));
    REQUIRE(ok.ok());
    CHECK(ok->proposals[0].transforms.size() == kMaxTransforms);
}

TEST_CASE("malformed: trailing data after the last payload", "[isakmp][malformed]") {
    Bytes chain = hex("00 00 0006 abcd");
    Bytes padded = chain;
    padded.insert(padded.end(), {0, 0, 0, 0, 0, 0});  // like CBC zero padding
    SECTION("cleartext message rejects it") {
        CHECK(parse_error(parse_message(message_with_chain(PayloadType::VendorId, padded))) ==
              ParseError::TrailingData);
        CHECK(parse_error(parse_payload_chain(PayloadType::VendorId, padded, Trailing::Reject)) ==
              ParseError::TrailingData);
        // Bytes but no payload at all.
        CHECK(parse_error(parse_message(message_with_chain(PayloadType::None, hex("00")))) ==
              ParseError::TrailingData);
    }
    SECTION("AllowPadding accepts it") {
        auto c = parse_payload_chain(PayloadType::VendorId, padded, Trailing::AllowPadding);
        REQUIRE(c.ok());
        REQUIRE(c->size() == 1);
        CHECK(test::to_bytes((*c)[0].body) == hex("abcd"));
        auto none = parse_payload_chain(PayloadType::None, hex("0000"), Trailing::AllowPadding);
        REQUIRE(none.ok());
        CHECK(none->empty());
    }
    SECTION("bytes after the last proposal in an SA") {
        Bytes sa = hex(kSaBodyHex);
        sa.push_back(0);
        CHECK(parse_error(parse_sa(sa)) == ParseError::TrailingData);
    }
}

TEST_CASE("malformed: SA body shorter than DOI and situation", "[isakmp][malformed]") {
    CHECK(parse_error(parse_sa(hex("00000001 000000"))) == ParseError::Truncated);
    CHECK(parse_error(parse_transform(hex("01 01 00"))) == ParseError::Truncated);
}

TEST_CASE("malformed: proposal cut inside its fixed fields or SPI", "[isakmp][malformed]") {
    // proposal length 8: #1, ISAKMP, SPI size 4, 1 transform, but no SPI bytes.
    CHECK(parse_error(parse_sa(hex("00000001 00000001  00 00 0008 01 01 04 01"))) == ParseError::Truncated);
    // Generic proposal length < 4.
    CHECK(parse_error(parse_sa(hex("00000001 00000001  00 00 0003"))) == ParseError::BadLength);
}

TEST_CASE("malformed: nested payload of the wrong type", "[isakmp][malformed]") {
    Bytes sa = hex(kSaBodyHex);
    sa[8] = 3;  // proposal's next says TRANSFORM
    CHECK(parse_error(parse_sa(sa)) == ParseError::BadValue);
    Bytes sa2 = hex(kSaBodyHex);
    sa2[16] = 2;  // transform's next says PROPOSAL
    CHECK(parse_error(parse_sa(sa2)) == ParseError::BadValue);
}
