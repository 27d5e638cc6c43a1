// The signature side of phase 1 (RFC 2409 §5.1): the CERTREQ, CERT and SIG payloads we send,
// and the initiator's check of the key server's certificate, identity and SIG_R. The test key
// server's responder (tests/keyserver) sends its CERTREQ/CERT/SIG with the same functions.
#pragma once

#include <optional>
#include <vector>

#include "common/result.h"
#include "gdoi/cert.h"
#include "gdoi/isakmp.h"

namespace gdoi {

// What to tell the operator when the key server did not accept our signature.
extern const char* const kSigAuthHint;

// One CERTREQ per CA we trust (RFC 2408 §3.10: encoding 4, X.509 signature; the CA field is
// the CA's DER subject, as strongSwan's isakmp_cert_pre.c reads it).
void add_cert_requests(isakmp::MessageBuilder& b, const crypto::SigCredentials& creds);
// CERT (RFC 2408 §3.9: encoding 4, our DER certificate), a CERT for each intermediate CA of
// our chain, and SIG_I over HASH_I (§3.12).
common::Status add_certificate_and_signature(isakmp::MessageBuilder& b, const crypto::SigCredentials& creds,
                                             ByteView hash_i);

// Whom the member expects (Phase1Config): the pinned identity, else the address it reached.
struct ExpectedPeer {
    std::optional<isakmp::IdPayload> id;  // must name the certificate (crypto::pin_matches)
    Bytes address;                        // without `id`: a subjectAltName iPAddress (4 or 16 bytes)
};

// The key server's CERT payloads (first: its own, others: intermediates) against our trust
// store, its ID payload against that certificate, the certificate against whom we expect
// (the pin, else the configured address: a certificate of the same CA that names neither is
// another member's, not the key server's), then SIG_R over HASH_R. Returns the key server's
// verified certificate and intermediates (for `gdoictl show servers` and a CRL reload); the
// error is the operator message.
common::Result<crypto::PeerCertificate> verify_peer_signature(const crypto::SigCredentials& creds,
                                                              const std::vector<isakmp::RawPayload>& payloads,
                                                              const isakmp::IdPayload& peer_id,
                                                              ByteView hash_r, const ExpectedPeer& expected);

}  // namespace gdoi
