// The KEK policy values (RFC 6407 §5.3) in one place: a table per attribute with the
// display names gdoictl shows and the crypto types the Key Download, the GROUPKEY-PUSH
// receiver and the RFC 8263 ACK use.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "gdoi/crypto.h"
#include "gdoi/group_state.h"

namespace gdoi {

// KEK_ALGORITHM (§5.3.3) values we decrypt with: 2 = 3DES-CBC, 3 = AES-CBC. DES (1) is
// not supported. The IV delivered with the key is one block.
struct KekAlgorithmInfo {
    uint16_t value;
    const char* name;  // "3DES" or "AES": display name is name[-KEK_KEY_LENGTH]-CBC
    crypto::CipherAlg cipher;
    bool key_length_in_name;  // AES: the display name carries KEK_KEY_LENGTH
};
std::span<const KekAlgorithmInfo> kek_algorithms();
const KekAlgorithmInfo* find_kek_algorithm(uint16_t value);

// SIG_HASH_ALGORITHM (§5.3.6): 1 MD5 (named only), 2 SHA-1, 3 SHA-256, 4 SHA-384,
// 5 SHA-512.
struct KekSigHashInfo {
    uint16_t value;
    const char* name;
    std::optional<crypto::HashAlg> hash;  // nullopt: not usable (MD5)
};
std::span<const KekSigHashInfo> kek_sig_hashes();
const KekSigHashInfo* find_kek_sig_hash(uint16_t value);

// SIG_ALGORITHM (§5.3.7) display names: 1 RSA, 4/5/6 ECDSA (P-256/P-384/P-521).
struct KekSigAlgorithmInfo {
    uint16_t value;
    const char* name;
};
std::span<const KekSigAlgorithmInfo> kek_sig_algorithms();
const KekSigAlgorithmInfo* find_kek_sig_algorithm(uint16_t value);

// The cipher of a KEK: 3DES-CBC, or AES-CBC with KEK_KEY_LENGTH 128/192/256; else nullopt.
std::optional<crypto::Cipher> kek_cipher(const Kek& kek);

// The hash of SIG_HASH_ALGORITHM, nullopt for MD5 and unknown values.
std::optional<crypto::HashAlg> kek_sig_hash(uint16_t value);

// Display names as gdoictl shows them: "AES-256-CBC", "3DES-CBC", "KEK algorithm N";
// "RSA-2048/SHA-256", "ECDSA/SHA-384", "sig N-BITS/?" for values without a name.
std::string kek_algorithm_name(const Kek& kek);
std::string kek_signature_name(const Kek& kek);

}  // namespace gdoi
