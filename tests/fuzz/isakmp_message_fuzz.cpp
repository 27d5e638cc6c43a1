// libFuzzer target: a datagram as the member receives it. parse_message, then the
// typed parser of every payload found (SA with its proposals/transforms/attributes
// and the IKE proposal reading, ID, notification, delete, certificate, nonce; the
// GDOI SA, KD and SEQ parsers on SA/KD/SEQ payloads).
// Beyond "no crash, no sanitizer report", every successful parse must re-encode to
// the exact bytes it came from (the codec accepts only canonical layouts).
#include <cstddef>
#include <cstdint>

#include "fuzz_check.h"
#include "gdoi/gdoi_payloads.h"
#include "gdoi/ike_proposal.h"
#include "gdoi/isakmp.h"

using namespace gdoi;
using namespace gdoi::isakmp;

namespace {

bool same(ByteView a, ByteView b) { return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin()); }

bool inside(ByteView part, ByteView whole) {
    return part.empty() || (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

void check_sa(ByteView body) {
    auto sa = parse_sa(body);
    if (!sa) {
        FUZZ_CHECK(parse_error_of(sa.error()) >= ParseError::Truncated &&
                   parse_error_of(sa.error()) <= ParseError::TrailingData);
        return;
    }
    FUZZ_CHECK(!sa->proposals.empty() && sa->proposals.size() <= kMaxProposals);
    FUZZ_CHECK(same(encode_sa(*sa), body));
    for (const auto& p : sa->proposals) {
        FUZZ_CHECK(p.transforms.size() <= kMaxTransforms);
        for (const auto& t : p.transforms) {
            FUZZ_CHECK(t.attributes.size() <= kMaxAttributes);
            for (const auto& a : t.attributes) {
                if (a.basic) FUZZ_CHECK(a.value.size() == 2);
                (void)a.as_integer();
            }
            auto ike = ike_proposal_from_transform(t);
            if (ike) {
                FUZZ_CHECK(!ike->name().empty());
                auto again = ike_proposal_from_transform(ike->to_transform(t.number, 3600));
                FUZZ_CHECK(again.ok() && *again == *ike);
            }
            (void)ike_lifetime_seconds(t);
        }
    }
}

void check_payload(const RawPayload& p) {
    switch (p.type) {
        case PayloadType::Sa:
            check_sa(p.body);
            (void)wire::parse_gdoi_sa(p.body);  // GDOI DOI SA (GROUPKEY-PULL/PUSH)
            break;
        case PayloadType::KeyDownload: (void)wire::parse_key_download(p.body); break;
        case PayloadType::SequenceNumber: (void)wire::parse_seq(p.body); break;
        case PayloadType::Identification:
            if (auto id = parse_id(p.body)) FUZZ_CHECK(same(encode_id(*id), p.body));
            break;
        case PayloadType::Notification:
            if (auto n = parse_notification(p.body)) FUZZ_CHECK(same(encode_notification(*n), p.body));
            break;
        case PayloadType::Delete:
            if (auto d = parse_delete(p.body)) {
                FUZZ_CHECK(same(encode_delete(*d), p.body));
                for (const auto& spi : d->spis) FUZZ_CHECK(spi.size() == d->spi_size);
            }
            break;
        case PayloadType::Certificate:
        case PayloadType::CertificateRequest:
            if (auto c = parse_certificate(p.body)) FUZZ_CHECK(same(encode_certificate(*c), p.body));
            break;
        case PayloadType::Nonce:
            if (auto n = parse_nonce(p.body)) FUZZ_CHECK(n->size() >= 8 && n->size() <= 256);
            break;
        default: break;
    }
    // Attribute lists and transforms also appear outside SA payloads (GDOI SA KEK/TEK):
    // their parsers must survive any body.
    (void)parse_attributes(p.body);
    (void)parse_transform(p.body);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    ByteView datagram(data, size);
    auto m = parse_message(datagram);
    if (!m) return 0;
    FUZZ_CHECK(m->header.length >= kHeaderSize && m->header.length <= size);
    FUZZ_CHECK(m->body.size() == m->header.length - kHeaderSize);
    FUZZ_CHECK(m->payloads.size() <= kMaxPayloads);
    for (const auto& p : m->payloads) {
        FUZZ_CHECK(inside(p.body, m->body));
        check_payload(p);
    }
    if (!m->header.encrypted()) {
        // Cleartext messages are canonical: rebuilding them gives the same bytes.
        MessageBuilder b;
        for (const auto& p : m->payloads) b.add(p.type, p.body);
        FUZZ_CHECK(same(b.finish(m->header), datagram.first(m->header.length)));
    }
    return 0;
}
