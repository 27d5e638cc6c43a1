// libFuzzer target: what a key server sends for signature authentication (RFC 2409 §5.1):
// the input as a CERT/CERTREQ payload body (encoding + X.509 DER) whose certificate is
// parsed and matched against identities and signatures made from the input, as an ID
// payload body described for messages, and as a SIG payload body checked with the
// certificate. Nothing may crash or leak; every refusal names its reason.
#include <cstddef>
#include <cstdint>
#include <utility>

#include "fuzz_check.h"
#include "gdoi/cert.h"
#include "gdoi/isakmp.h"

using namespace gdoi;

namespace {

void check_certificate(const crypto::Certificate& cert, ByteView in) {
    FUZZ_CHECK(!cert.describe_names().empty());
    FUZZ_CHECK(!cert.der().empty());
    (void)cert.key_method();
    (void)cert.subject_der();
    // Identities of each type with the input's bytes, and the certificate's own subject.
    for (auto type : {isakmp::IdType::DerAsn1Dn, isakmp::IdType::Fqdn, isakmp::IdType::Ipv4Addr,
                      isakmp::IdType::Ipv6Addr, isakmp::IdType::KeyId}) {
        isakmp::IdPayload id{static_cast<uint8_t>(type), 0, 0,
                             Bytes(in.begin(), in.begin() + std::min<size_t>(in.size(), 64))};
        auto matched = crypto::identity_matches(id, cert);
        FUZZ_CHECK(matched.ok() || !matched.error().message.empty());
    }
    auto own = crypto::id_from_certificate(cert, isakmp::IdType::DerAsn1Dn);
    FUZZ_CHECK(own.ok() && crypto::identity_matches(*own, cert).ok());
    // The input as a SIG payload over a fixed HASH: never verifies by chance, never crashes.
    const Bytes hash(64, 0x5a);
    for (auto [m, size] :
         {std::pair{crypto::SigAuthMethod::Rsa, 32}, std::pair{crypto::SigAuthMethod::EcdsaP256, 32},
          std::pair{crypto::SigAuthMethod::EcdsaP384, 48}, std::pair{crypto::SigAuthMethod::EcdsaP521, 64}})
        (void)crypto::verify_hash_signature(m, cert, ByteView(hash).first(static_cast<size_t>(size)), in);
    // A DN pin (the member's configuration) against the key server's certificate: its subject in
    // either order, never a crash, an error that says why.
    static const auto pin = crypto::dn_id_from_text("C=DE, O=gdoi-test, CN=gcks.test");
    FUZZ_CHECK(pin.ok());
    auto pinned = crypto::pin_matches(*pin, cert);
    FUZZ_CHECK(pinned.ok() || !pinned.error().message.empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    ByteView in(data, size);
    if (auto payload = isakmp::parse_certificate(in)) {
        if (auto cert = crypto::Certificate::parse(payload->data)) check_certificate(*cert, in);
    }
    if (auto id = isakmp::parse_id(in)) FUZZ_CHECK(!crypto::describe_id(*id).empty());
    return 0;
}
