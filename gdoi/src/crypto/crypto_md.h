// gdoi/src private: the OpenSSL digest of a HashAlg, shared by the hash/PRF and signature code.
#pragma once

#include <openssl/evp.h>

#include "gdoi/crypto.h"

namespace gdoi::crypto {

inline const EVP_MD* evp_md(HashAlg alg) {
    switch (alg) {
        case HashAlg::Sha1: return EVP_sha1();
        case HashAlg::Sha256: return EVP_sha256();
        case HashAlg::Sha384: return EVP_sha384();
        case HashAlg::Sha512: return EVP_sha512();
    }
    return nullptr;
}

}  // namespace gdoi::crypto
