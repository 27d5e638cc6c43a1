// Writes the seed corpus of the fuzz targets (tests/fuzz/corpus/<target>/): a few
// valid messages of each kind, built with the codec and a phase-1 exchange in
// memory. Run once when the codec changes: make_corpus <tests/fuzz/corpus>.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "gdoi/gdoi_payloads.h"
#include "gdoi/ike_keys.h"
#include "gdoi/ike_proposal.h"
#include "gdoi/isakmp.h"
#include "gdoi/phase1.h"

using namespace gdoi;
using namespace gdoi::isakmp;
using gdoi::wire::GdoiSa;

namespace {

std::filesystem::path root;

void write(const std::string& target, const std::string& name, ByteView data) {
    auto dir = root / target;
    std::filesystem::create_directories(dir);
    std::ofstream out(dir / name, std::ios::binary);
    out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
}

IkeProposal proposal(const char* name) { return *parse_ike_proposal(name); }

Header header(ExchangeType x) {
    Header h;
    h.initiator_cookie = {1, 2, 3, 4, 5, 6, 7, 8};
    h.responder_cookie = {9, 10, 11, 12, 13, 14, 15, 16};
    h.exchange = x;
    return h;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: make_corpus DIR\n");
        return 2;
    }
    root = argv[1];
    const auto now = Clock::time_point{};

    // Main mode and aggressive mode message 1 from the initiator itself.
    Phase1Config c;
    c.proposals = {proposal("aes256-sha256-modp2048"), proposal("aes128-sha1-ecp256"),
                   proposal("3des-sha384-ecp384")};
    c.psk = SecureBytes(Bytes{'p', 's', 'k'});
    c.local_id = IdPayload{1, 0, 0, {192, 0, 2, 1}};
    Phase1Initiator mm(c);
    Bytes mm1 = *mm.start(now).send;
    write("isakmp_message", "mm1", mm1);
    c.mode = Phase1Mode::Aggressive;
    c.proposals = {proposal("aes128-sha256-ecp256")};
    Phase1Initiator am(c);
    write("isakmp_message", "am1", *am.start(now).send);

    // Message 2: the responder's chosen transform; message 3/4 shape: KE + nonce.
    auto m1 = *parse_message(mm1);
    auto sa = *parse_sa(m1.payloads[0].body);
    sa.proposals[0].transforms.resize(1);
    Bytes sa_body = encode_sa(sa);
    write("isakmp_message", "mm2",
          MessageBuilder().add(PayloadType::Sa, sa_body).finish(header(ExchangeType::IdentityProtection)));
    write("isakmp_message", "mm4",
          MessageBuilder()
              .add(PayloadType::KeyExchange, Bytes(64, 0x42))
              .add(PayloadType::Nonce, Bytes(32, 0x17))
              .add(PayloadType::VendorId, Bytes{0xaf, 0xca, 0xd7, 0x13, 0x68, 0xa1, 0xf1, 0xc9})
              .finish(header(ExchangeType::IdentityProtection)));

    // Informational NO-PROPOSAL-CHOSEN and a DELETE.
    NotificationPayload n;
    n.type = 14;
    n.spi = Bytes(16, 0x01);
    DeletePayload d;
    d.spis = {Bytes(16, 0x02)};
    Header info = header(ExchangeType::Informational);
    info.message_id = 0x11223344;
    write("isakmp_message", "informational",
          MessageBuilder()
              .add(PayloadType::Hash, Bytes(20, 0x33))
              .add(PayloadType::Notification, encode_notification(n))
              .add(PayloadType::Delete, encode_delete(d))
              .finish(info));

    // Identity payloads, certificate and request.
    write("isakmp_message", "id_cert",
          MessageBuilder()
              .add(PayloadType::Identification, encode_id(IdPayload{2, 17, 848, {'k', 's', '.', 'e', 'x'}}))
              .add(PayloadType::Certificate,
                   encode_certificate(CertificatePayload{4, {0x30, 0x03, 0x02, 0x01, 0x01}}))
              .add(PayloadType::CertificateRequest, encode_certificate(CertificatePayload{4, {}}))
              .add(PayloadType::Hash, Bytes(32, 0x44))
              .finish(header(ExchangeType::IdentityProtection)));

    // An encrypted message 5 and its plaintext chain (with the CBC zero padding).
    IkeSaKeys keys =
        derive_psk_keys(proposal("aes128-sha1-modp2048"), Bytes{'k'}, Bytes(16, 1), Bytes(16, 2),
                        Bytes(256, 3), {1, 2, 3, 4, 5, 6, 7, 8}, {9, 10, 11, 12, 13, 14, 15, 16});
    NotificationPayload ic;
    ic.type = 24578;
    ic.spi = Bytes(16, 0x05);
    MessageBuilder m5;
    m5.add(PayloadType::Identification, encode_id(c.local_id))
        .add(PayloadType::Hash, Bytes(20, 0x66))
        .add(PayloadType::Notification, encode_notification(ic));
    Bytes iv(16, 0);
    Bytes sealed =
        *seal_message(header(ExchangeType::IdentityProtection), m5.first_type(), m5.chain(), keys, iv);
    write("isakmp_message", "mm5_encrypted", sealed);
    const auto opened = open_message(ByteView(sealed).subspan(kHeaderSize), keys, Bytes(16, 0));
    Bytes plain(opened->plaintext.begin(), opened->plaintext.end());
    Bytes chain_seed{static_cast<uint8_t>(PayloadType::Identification)};
    chain_seed.insert(chain_seed.end(), plain.begin(), plain.end());
    write("payload_chain", "mm5_plaintext", chain_seed);
    Bytes chain2{static_cast<uint8_t>(PayloadType::Hash)};
    Bytes c2 = MessageBuilder()
                   .add(PayloadType::Hash, Bytes(20, 7))
                   .add(PayloadType::Notification, encode_notification(n))
                   .chain();
    chain2.insert(chain2.end(), c2.begin(), c2.end());
    chain2.resize(chain2.size() + 5, 0);
    write("payload_chain", "informational_plaintext", chain2);
    Bytes chain3{static_cast<uint8_t>(PayloadType::Sa)};
    chain3.insert(chain3.end(), m1.body.begin(), m1.body.end());
    write("payload_chain", "sa_chain", chain3);

    // Transforms and SA bodies for the IKE proposal reader.
    write("ike_transform", "sa_three_transforms", m1.payloads[0].body);
    int i = 0;
    for (const char* name :
         {"aes128-sha1-modp2048", "aes256-sha512-modp4096", "3des-sha384-ecp384", "aes192-sha256-ecp521"}) {
        auto t = proposal(name).to_transform(1, 28800);
        ByteWriter w;
        w.u8(t.number).u8(t.id).u16(0);
        write_attributes(w, t.attributes);
        write("ike_transform", "transform_" + std::to_string(i++), w.data());
    }

    // Answers for the phase-1 initiator (2-byte length before each datagram). It offers
    // aes128-sha256-ecp256 first; message 4 carries a valid P-256 point (RFC 5903 §8.1
    // g^r) so that keys are derived and message 6 gets decrypted.
    auto framed = [](std::initializer_list<ByteView> datagrams) {
        Bytes out;
        for (ByteView d : datagrams) {
            out.push_back(static_cast<uint8_t>(d.size() >> 8));
            out.push_back(static_cast<uint8_t>(d.size()));
            out.insert(out.end(), d.begin(), d.end());
        }
        return out;
    };
    Proposal chosen;
    chosen.protocol = 1;
    chosen.transforms = {proposal("aes128-sha256-ecp256").to_transform(1, 86400)};
    Bytes p_mm2 = MessageBuilder()
                      .add(PayloadType::Sa, encode_sa(SaPayload{2, 1, {chosen}}))
                      .finish(header(ExchangeType::IdentityProtection));
    const Bytes gr = {0xD1, 0x2D, 0xFB, 0x52, 0x89, 0xC8, 0xD4, 0xF8, 0x12, 0x08, 0xB7, 0x02, 0x70,
                      0x39, 0x8C, 0x34, 0x22, 0x96, 0x97, 0x0A, 0x0B, 0xCC, 0xB7, 0x4C, 0x73, 0x6F,
                      0xC7, 0x55, 0x44, 0x94, 0xBF, 0x63, 0x56, 0xFB, 0xF3, 0xCA, 0x36, 0x6C, 0xC2,
                      0x3E, 0x81, 0x57, 0x85, 0x4C, 0x13, 0xC5, 0x8D, 0x6A, 0xAC, 0x23, 0xF0, 0x46,
                      0xAD, 0xA3, 0x0F, 0x83, 0x53, 0xE7, 0x4F, 0x33, 0x03, 0x98, 0x72, 0xAB};
    Bytes p_mm4 = MessageBuilder()
                      .add(PayloadType::KeyExchange, gr)
                      .add(PayloadType::Nonce, Bytes(32, 0x4e))
                      .finish(header(ExchangeType::IdentityProtection));
    Header h6 = header(ExchangeType::IdentityProtection);
    h6.flags = kFlagEncryption;
    h6.next_payload = PayloadType::Identification;
    h6.length = static_cast<uint32_t>(kHeaderSize + 48);
    Bytes p_mm6 = encode_header(h6);
    p_mm6.resize(p_mm6.size() + 48, 0x5a);
    Header hi = header(ExchangeType::Informational);
    hi.responder_cookie = {};
    NotificationPayload npc;
    npc.type = 14;
    Bytes p_info = MessageBuilder().add(PayloadType::Notification, encode_notification(npc)).finish(hi);
    write("phase1_initiator", "mm2", framed({p_mm2}));
    write("phase1_initiator", "mm2_mm4_mm6", framed({p_mm2, p_mm4, p_mm6}));
    write("phase1_initiator", "no_proposal_chosen", framed({p_info}));

    // GDOI payloads (first byte: 0 SA, 1 SAK, 2 SAT, 3 GAP, 4 KD, 5 SEQ) and a
    // cleartext message carrying a GDOI SA, SEQ and KD.
    auto selector = [](uint8_t last_src, uint8_t last_dst) {
        TrafficSelector ts;
        ts.protocol = 17;
        ts.source = TrafficId{1, 848, {10, 0, 0, last_src}, {}};
        ts.destination = TrafficId{4, 848, {239, 1, 1, last_dst}, {255, 255, 255, 0}};
        return ts;
    };
    Kek kek;
    kek.spi.fill(0x4b);
    kek.selector = selector(1, 0);
    kek.algorithm = 3;
    kek.key_bits = 128;
    kek.lifetime_seconds = 86400;
    kek.sig_hash_algorithm = 2;
    kek.sig_algorithm = 1;
    kek.sig_key_bits = 2048;
    Tek tek;
    tek.spi = 0x11223344;
    tek.selector = selector(2, 0);
    tek.transform_id = 12;
    tek.auth_algorithm = 2;
    tek.key_bits = 128;
    tek.lifetime_seconds = 3600;
    Gap gap{30, 60};
    GdoiSa gsa;
    gsa.kek = kek;
    gsa.gap = gap;
    gsa.teks = {tek};
    auto tagged = [](uint8_t tag, ByteView body) {
        Bytes out{tag};
        out.insert(out.end(), body.begin(), body.end());
        return out;
    };
    Bytes gsa_body = wire::encode_gdoi_sa(gsa);
    const Bytes tek_key(16, 0x71), kek_key(32, 0x72), sig_key(40, 0x30);
    Bytes kd_body = wire::encode_key_download(
        {wire::KeyPacketOut{
             wire::kd::kTypeTek, {0x11, 0x22, 0x33, 0x44}, {{wire::kd::kTekAlgorithmKey, tek_key}}},
         wire::KeyPacketOut{wire::kd::kTypeKek,
                            Bytes(16, 0x4b),
                            {{wire::kd::kKekAlgorithmKey, kek_key}, {wire::kd::kSigAlgorithmKey, sig_key}}}});
    // The seeds must be valid, or the fuzzer starts from rejected inputs.
    if (!wire::parse_gdoi_sa(gsa_body) || !wire::parse_key_download(kd_body) ||
        !wire::parse_sak(wire::encode_sak(kek)) || !wire::parse_sat(wire::encode_sat(tek)) ||
        !wire::parse_gap(wire::encode_gap(gap))) {
        std::fprintf(stderr, "make_corpus: a GDOI seed does not parse\n");
        return 1;
    }
    write("gdoi_payloads", "sa", tagged(0, gsa_body));
    write("gdoi_payloads", "sak", tagged(1, wire::encode_sak(kek)));
    write("gdoi_payloads", "sat", tagged(2, wire::encode_sat(tek)));
    write("gdoi_payloads", "gap", tagged(3, wire::encode_gap(gap)));
    write("gdoi_payloads", "kd", tagged(4, kd_body));
    write("gdoi_payloads", "seq", tagged(5, wire::encode_seq(7)));
    Header pull = header(ExchangeType::GroupkeyPull);
    pull.message_id = 0x01020304;
    write("isakmp_message", "gdoi_sa_seq_kd",
          MessageBuilder()
              .add(PayloadType::Hash, Bytes(32, 0x48))
              .add(PayloadType::Sa, gsa_body)
              .add(PayloadType::SequenceNumber, wire::encode_seq(7))
              .add(PayloadType::KeyDownload, kd_body)
              .finish(pull));
    return 0;
}
