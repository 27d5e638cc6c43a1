// Phase-1 signature authentication, the payloads (RFC 2409 §5.1, RFC 2408 §3.9, §3.10, §3.12).
#include "gdoi/phase1_sig.h"

#include <algorithm>

namespace gdoi {

using isakmp::PayloadType;

namespace {

constexpr uint8_t kCertX509Signature = 4;  // RFC 2408 §3.9 Certificate Encoding
// Bounds on what a key server sends: a chain is a few certificates; RSA-8192 signs 1024 bytes.
constexpr size_t kMaxSignatureSize = 1024;

}  // namespace

const char* const kSigAuthHint =
    "the key server did not accept our certificate or signature: check that it trusts our CA, that our "
    "certificate names the identity we send and that our private key belongs to our certificate";

void add_cert_requests(isakmp::MessageBuilder& b, const crypto::SigCredentials& creds) {
    for (const auto& subject : creds.trust->ca_subjects())
        b.add(PayloadType::CertificateRequest, isakmp::encode_certificate({kCertX509Signature, subject}));
}

common::Status add_certificate_and_signature(isakmp::MessageBuilder& b, const crypto::SigCredentials& creds,
                                             ByteView hash_i) {
    auto sig = creds.private_key->sign_hash(creds.method, hash_i);
    if (!sig) return sig.error();
    b.add(PayloadType::Certificate,
          isakmp::encode_certificate({kCertX509Signature, creds.certificate->der()}));
    // Then the intermediate CAs of our chain, one CERT payload each (RFC 2408 §3.9: a CERT
    // payload holds one certificate), so that a key server that trusts only the root can build
    // the path. strongSwan does the same: isakmp_cert_post.c build_certs() sends the end entity
    // certificate, then each AUTH_RULE_IM_CERT ("sending issuer cert"); isakmp_cert_pre.c
    // process_certs() takes the first CERT as the end entity certificate and every later one
    // as an intermediate (AUTH_HELPER_IM_CERT, "received issuer cert").
    for (const auto& ca : creds.intermediates)
        b.add(PayloadType::Certificate, isakmp::encode_certificate({kCertX509Signature, ca->der()}));
    b.add(PayloadType::Signature, *sig);
    return {};
}

common::Result<crypto::PeerCertificate> verify_peer_signature(const crypto::SigCredentials& creds,
                                                              const std::vector<isakmp::RawPayload>& payloads,
                                                              const isakmp::IdPayload& peer_id,
                                                              ByteView hash_r, const ExpectedPeer& expected) {
    std::vector<crypto::Certificate> certs;
    for (const auto& p : payloads) {
        if (p.type != PayloadType::Certificate) continue;
        if (certs.size() >= crypto::kMaxChainCertificates)
            return common::make_error("the key server sent more than " +
                                      std::to_string(crypto::kMaxChainCertificates) + " certificates");
        auto payload = isakmp::parse_certificate(p.body);
        if (!payload) return common::make_error("the key server's CERT payload: " + payload.error().message);
        if (payload->encoding != kCertX509Signature)
            return common::make_error("the key server sent a certificate in encoding " +
                                      std::to_string(payload->encoding) +
                                      "; only X.509 signature (4) is supported");
        auto cert = crypto::Certificate::parse_der(payload->data);
        if (!cert) return common::make_error("the key server's CERT payload: " + cert.error().message);
        certs.push_back(std::move(*cert));
    }
    if (certs.empty())
        return common::make_error(
            "the key server sent no certificate (CERT payload): configure it to send its certificate, or "
            "check that it has one for its identity " +
            crypto::describe_id(peer_id));
    const crypto::Certificate& cert = certs.front();
    const std::vector<crypto::Certificate> intermediates(certs.begin() + 1, certs.end());
    if (auto trusted = creds.trust->verify(cert, intermediates); !trusted) return trusted.error();
    if (auto named = crypto::identity_matches(peer_id, cert); !named)
        return common::make_error("the key server's " + named.error().message +
                                  ": its identity must be its certificate's subject or a subjectAltName");
    // The pin names the certificate (its subject, or a subjectAltName), whatever identity type
    // the key server chose for its ID payload: that identity was checked against the same
    // certificate above.
    if (expected.id && !crypto::pin_matches(*expected.id, cert))
        return common::make_error("the key server identifies as " + crypto::describe_id(peer_id) +
                                  " (certificate " + cert.describe_names() + "), but we expect " +
                                  crypto::describe_id(*expected.id) + ": check ike.peer-id");
    if (!expected.id && !expected.address.empty()) {
        const auto ips = cert.ip_addresses();
        if (std::find(ips.begin(), ips.end(), expected.address) == ips.end())
            return common::make_error(
                "the key server's certificate " + cert.describe_names() +
                " does not name the address we reached it at as a subjectAltName: any certificate of "
                "our CA (another member's) could stand in for it; pin the key server's identity "
                "(ike.peer-id) or have its certificate name its address");
    }
    if (cert.key_method() != creds.method)
        return common::make_error(
            "the key server's certificate " + cert.describe_names() +
            " holds no key for the negotiated method " + crypto::sig_auth_method_name(creds.method) +
            ": both sides need keys of the same type (RSA, or ECDSA on the same curve)");
    const auto* sig = isakmp::find_payload(payloads, PayloadType::Signature);
    if (sig == nullptr) return common::make_error("the key server's answer has no SIG payload");
    if (sig->body.empty() || sig->body.size() > kMaxSignatureSize)
        return common::make_error("the key server's SIG payload has " + std::to_string(sig->body.size()) +
                                  " bytes");
    if (!crypto::verify_hash_signature(creds.method, cert, hash_r, sig->body))
        return common::make_error(std::string("the key server's signature (SIG_R, ") +
                                  crypto::sig_auth_method_name(creds.method) +
                                  ") does not verify with its certificate " + cert.describe_names() +
                                  ": it signed with another key or other exchange values");
    return crypto::PeerCertificate{std::move(certs.front()), intermediates};
}

}  // namespace gdoi
