// Loading phase-1 signature credentials from files: our certificate (PEM or DER), our
// private key (an owner-only file, read like the pre-shared key file into secure memory),
// the CA file and optional CRL files.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "gdoi/cert.h"

namespace gdoi {

struct SigCredentialFiles {
    std::string certificate;  // our certificate, PEM or DER; PEM: then its intermediate CAs
    std::string private_key;  // its key, PEM or DER (PKCS#8, PKCS#1, SEC1), unencrypted
    std::string ca_file;      // the CA(s) that issue the key servers' certificates: a file or directory
    std::vector<std::string> crl_files;  // PEM or DER CRLs; given: a peer needs its issuer's CRL
    // The Authentication Method to offer; nullopt: the one the key's type gives (RSA: 3,
    // P-256: 9, P-384: 10, P-521: 11). Given, it must fit the key.
    std::optional<crypto::SigAuthMethod> method;
    bool key_owner_only = true;  // refuse a key file that group or others may read or write
    // Refuse a key that is not the certificate's (off only for tests that prove the peer's
    // signature check).
    bool require_key_match = true;
};

common::Result<crypto::SigCredentials> load_sig_credentials(const SigCredentialFiles& files);

}  // namespace gdoi
