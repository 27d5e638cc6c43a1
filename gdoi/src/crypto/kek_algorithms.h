// gdoi/src/crypto private: the KEK policy values (RFC 6407 §5.3) as crypto types, one table for
// the Key Download, the GROUPKEY-PUSH receiver and the RFC 8263 ACK.
#pragma once

#include <optional>

#include "gdoi/crypto.h"
#include "gdoi/group_state.h"

namespace gdoi {

// KEK_ALGORITHM (§5.3.3): 2 = 3DES-CBC, 3 = AES-CBC with KEK_KEY_LENGTH 128/192/256;
// DES (1) and anything else: nullopt. The IV delivered with the key is one block.
inline std::optional<crypto::Cipher> kek_cipher(const Kek& kek) {
    if (kek.algorithm == 2) return crypto::Cipher{crypto::CipherAlg::Des3Cbc, 24};
    if (kek.algorithm == 3 && (kek.key_bits == 128 || kek.key_bits == 192 || kek.key_bits == 256))
        return crypto::Cipher{crypto::CipherAlg::AesCbc, kek.key_bits / 8u};
    return std::nullopt;
}

// SIG_HASH_ALGORITHM (§5.3.6): 2 SHA-1, 3 SHA-256, 4 SHA-384, 5 SHA-512.
inline std::optional<crypto::HashAlg> kek_sig_hash(uint16_t value) {
    switch (value) {
        case 2: return crypto::HashAlg::Sha1;
        case 3: return crypto::HashAlg::Sha256;
        case 4: return crypto::HashAlg::Sha384;
        case 5: return crypto::HashAlg::Sha512;
        default: return std::nullopt;
    }
}

}  // namespace gdoi
