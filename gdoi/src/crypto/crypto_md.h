// gdoi/src private: the OpenSSL digest of a HashAlg, shared by the hash/PRF and signature code.
#pragma once

#include <openssl/evp.h>

#include "gdoi/crypto.h"

namespace gdoi::crypto {

// Fetched once and kept (OpenSSL 3 explicit fetching): EVP_sha256() and the like fetch at
// every use, and the first fetch of digests builds OpenSSL's table of them.
inline const EVP_MD* evp_md(HashAlg alg) {
    static EVP_MD* const fetched[] = {
        EVP_MD_fetch(nullptr, "SHA1", nullptr), EVP_MD_fetch(nullptr, "SHA256", nullptr),
        EVP_MD_fetch(nullptr, "SHA384", nullptr), EVP_MD_fetch(nullptr, "SHA512", nullptr)};
    switch (alg) {
        case HashAlg::Sha1:
            return fetched[0];
        case HashAlg::Sha256:
            return fetched[1];
        case HashAlg::Sha384:
            return fetched[2];
        case HashAlg::Sha512:
            return fetched[3];
    }
    return nullptr;
}

}  // namespace gdoi::crypto
