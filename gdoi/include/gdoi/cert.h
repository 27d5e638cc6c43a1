// X.509 certificates and private keys for IKEv1 phase 1 with signatures (RFC 2409 §5.1):
// our certificate and key, the trust store (CA file + CRLs) that checks the key server's
// certificate, the identity check between an ID payload and a certificate, and the signature
// formats on the wire (RSA PKCS#1 v1.5 without DigestInfo, ECDSA r||s of RFC 4754).
// OpenSSL libcrypto stays behind this header.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "gdoi/bytes.h"
#include "gdoi/crypto.h"
#include "gdoi/isakmp.h"
#include "gdoi/secure_bytes.h"

namespace gdoi::crypto {

// The most certificates of one side of phase 1 (its own and the intermediates of its chain):
// what a member's certificate file may hold and what we take from a key server's CERT payloads.
inline constexpr size_t kMaxChainCertificates = 8;

// RFC 2409 Appendix A Authentication Method values for signatures, RFC 4754 §3 for ECDSA.
enum class SigAuthMethod : uint16_t { Rsa = 3, EcdsaP256 = 9, EcdsaP384 = 10, EcdsaP521 = 11 };
const char* sig_auth_method_name(SigAuthMethod method);

class Certificate {
public:
    // One DER certificate, or the first certificate of a PEM text (files).
    static common::Result<Certificate> parse(ByteView der_or_pem);
    // One DER certificate, nothing else: a CERT payload from the network (RFC 2408 §3.9,
    // encoding 4 is DER; PEM there would be parsed leniently and could ask for a passphrase).
    static common::Result<Certificate> parse_der(ByteView der);
    // Every certificate of a PEM text in order (a certificate file holding our certificate and
    // then the intermediate CAs of its chain, as `cat leaf.pem intermediate.pem` makes it), or
    // the one certificate of a DER text.
    static common::Result<std::vector<Certificate>> parse_chain(ByteView der_or_pem);
    Certificate(Certificate&&) noexcept;
    Certificate& operator=(Certificate&&) noexcept;
    Certificate(const Certificate&);
    ~Certificate();

    const Bytes& der() const;
    Bytes subject_der() const;    // DER of the subject Name (ID_DER_ASN1_DN data)
    std::string subject() const;  // "CN=gm1, O=Example" (RFC 2253 order reversed, one line)
    std::string issuer() const;
    std::vector<std::string> dns_names() const;  // subjectAltName dNSName entries
    std::vector<Bytes> ip_addresses() const;     // subjectAltName iPAddress entries (4 or 16 bytes)
    // "subject 'CN=..', DNS names a.example, IP 10.0.0.1": every name an identity may match.
    std::string describe_names() const;
    // The key type this certificate's key can sign with (nullopt: not RSA/P-256/P-384/P-521).
    std::optional<SigAuthMethod> key_method() const;
    // notAfter as seconds since the Unix epoch (UTC): what `gdoictl show servers` shows and the
    // expiry warning counts down to.
    int64_t not_after() const;
    // basicConstraints CA:TRUE: a CA's certificate, not one a peer may authenticate with.
    bool is_ca() const;

    struct Impl;
    const Impl& impl() const { return *impl_; }

private:
    explicit Certificate(std::unique_ptr<Impl> impl);
    static common::Result<Certificate> parse(ByteView data, bool pem_allowed);
    static common::Result<Certificate> with_der(std::unique_ptr<Impl> impl);  // impl->x509 set
    std::unique_ptr<Impl> impl_;
};

// Does the ID payload name this certificate? ID_DER_ASN1_DN: equal subject; ID_FQDN: a
// subjectAltName dNSName (case-insensitive); ID_IPV4_ADDR/ID_IPV6_ADDR: a subjectAltName
// iPAddress (RFC 4945 §3.1). Error says which identity and which certificate names were seen.
common::Status identity_matches(const isakmp::IdPayload& id, const Certificate& cert);
// The key server we expect (ike.peer-id) against its verified certificate: ID_DER_ASN1_DN: the
// certificate's subject, in the given order of RDNs or reversed (operators copy `openssl x509
// -subject`, most significant RDN first, as well as our log lines, RFC 2253 order);
// ID_FQDN, ID_IPV4_ADDR, ID_IPV6_ADDR: a subjectAltName, as identity_matches.
common::Status pin_matches(const isakmp::IdPayload& pin, const Certificate& cert);
// A subject DN given as text (RFC 4514 style: attr=value separated by ',', "\," and "\2C"
// escapes, spaces around '=' and ',' ignored; attribute names as OpenSSL knows them: CN, O,
// OU, C, L, ST, DC, emailAddress, ... or dotted OIDs) as ID_DER_ASN1_DN with its DER, the RDNs
// in the given order. At most 16 RDNs and 1024 bytes of text.
common::Result<isakmp::IdPayload> dn_id_from_text(std::string_view text);
// "ID_FQDN gcks.example", "ID_DER_ASN1_DN CN=...": for messages.
std::string describe_id(const isakmp::IdPayload& id);
// The ID payload that names this certificate: ID_DER_ASN1_DN (its subject) or ID_FQDN (its
// first dNSName); other types are the caller's (addresses come from the local address).
common::Result<isakmp::IdPayload> id_from_certificate(const Certificate& cert, isakmp::IdType type);

// A private key parsed from memory (PEM or DER; PKCS#8, PKCS#1 or SEC1). The bytes come from
// SecureBytes, but the parsed EVP_PKEY (its bignums and scalar) lives in OpenSSL's heap, not
// in libsodium's guarded memory: OpenSSL frees it with clearing (BN_clear_free) but it is
// neither locked nor guarded while the process runs.
class PrivateKey {
public:
    static common::Result<PrivateKey> parse(const SecureBytes& der_or_pem);
    PrivateKey(PrivateKey&&) noexcept;
    PrivateKey& operator=(PrivateKey&&) noexcept;
    ~PrivateKey();
    bool matches(const Certificate& cert) const;
    std::optional<SigAuthMethod> key_method() const;
    // The SIG payload body over HASH_I (RFC 2409 §5.1): RSA PKCS#1 v1.5 type-1 padding of the
    // bare hash, no DigestInfo (strongSwan SIGN_RSA_EMSA_PKCS1_NULL); ECDSA over the hash as
    // the digest, no second hashing, r||s each the curve's size (RFC 4754 §7, strongSwan
    // SIGN_ECDSA_WITH_NULL in pubkey_v1_authenticator.c).
    common::Result<Bytes> sign_hash(SigAuthMethod method, ByteView hash) const;

    struct Impl;

private:
    explicit PrivateKey(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// Checks a SIG payload body made as sign_hash() makes it with the certificate's key.
bool verify_hash_signature(SigAuthMethod method, const Certificate& cert, ByteView hash, ByteView signature);

// The CAs (a file of one or more certificates, PEM or DER, or a directory of such files) and
// CRLs (PEM or DER files) that decide whether a peer's certificate is trusted. Every CA
// certificate must be a CA's (basicConstraints CA:TRUE); chains are checked X509_STRICT.
class TrustStore {
public:
    // ca_path: a file, or a directory whose regular files (sorted by name; symbolic links such
    // as c_rehash's skipped) each hold one or more CA certificates; the directory, like each
    // file, writable by its owner (root or the daemon's user) only.
    static common::Result<TrustStore> load(const std::string& ca_path,
                                           const std::vector<std::string>& crl_files);
    // The same from PEM/DER texts already in memory (tests).
    static common::Result<TrustStore> from_memory(const std::vector<Bytes>& ca_certs,
                                                  const std::vector<Bytes>& crls);
    TrustStore(TrustStore&&) noexcept;
    TrustStore& operator=(TrustStore&&) noexcept;
    ~TrustStore();
    // The DER subjects of the CAs: the CA fields of our CERTREQ payloads (RFC 2408 §3.10).
    const std::vector<Bytes>& ca_subjects() const;
    // SHA-256 over the CA and CRL texts it was made of: a reload compares it to see whether
    // the files' contents changed (a new CRL at the same path).
    const Bytes& fingerprint() const;
    size_t crl_count() const;
    // Chain to one of the CAs (intermediates from the peer's other CERT payloads), dates,
    // revocation when CRLs were given, and the digitalSignature key usage when the
    // certificate has a keyUsage extension (RFC 4945 §5.1.3.2). The error names the
    // certificate and what to check; `peer` names whose it is ("the key server", "the member").
    // A CA certificate (basicConstraints CA:TRUE) is refused: peers need end-entity ones.
    common::Status verify(const Certificate& cert, const std::vector<Certificate>& intermediates,
                          const std::string& peer = "the key server") const;

    struct Impl;

private:
    explicit TrustStore(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// A peer's certificate as phase 1 verified it, with the intermediate CA certificates it sent:
// what a reload checks again against new CA or CRL files.
struct PeerCertificate {
    Certificate certificate;
    std::vector<Certificate> intermediates;
};

// What phase 1 with signatures needs: our certificate and key, and whom we trust. Shared,
// read-only: one set serves every exchange with every key server.
struct SigCredentials {
    SigAuthMethod method = SigAuthMethod::Rsa;  // the Authentication Method we offer
    std::shared_ptr<const Certificate> certificate;
    // The intermediate CAs that follow our certificate in its file, sent after it (in order).
    std::vector<std::shared_ptr<const Certificate>> intermediates;
    std::shared_ptr<const PrivateKey> private_key;
    std::shared_ptr<const TrustStore> trust;
};

// The same certificate and intermediates (DER), as the certificate file of a reload holds them.
bool same_certificate_chain(const SigCredentials& a, const SigCredentials& b);

}  // namespace gdoi::crypto
