// The KEK policy value tables (RFC 6407 §5.3) and their lookups.
#include "gdoi/kek_algorithms.h"

#include <array>

namespace gdoi {
namespace {

constexpr std::array<KekAlgorithmInfo, 2> kKekAlgorithms{{
    {2, "3DES", crypto::CipherAlg::Des3Cbc, false},
    {3, "AES", crypto::CipherAlg::AesCbc, true},
}};

constexpr std::array<KekSigHashInfo, 5> kKekSigHashes{{
    {1, "MD5", std::nullopt},
    {2, "SHA-1", crypto::HashAlg::Sha1},
    {3, "SHA-256", crypto::HashAlg::Sha256},
    {4, "SHA-384", crypto::HashAlg::Sha384},
    {5, "SHA-512", crypto::HashAlg::Sha512},
}};

constexpr std::array<KekSigAlgorithmInfo, 4> kKekSigAlgorithms{{
    {1, "RSA"},
    {4, "ECDSA"},
    {5, "ECDSA"},
    {6, "ECDSA"},
}};

template <typename Row, size_t N>
const Row* find_row(const std::array<Row, N>& table, uint16_t value) {
    for (const auto& row : table)
        if (row.value == value) return &row;
    return nullptr;
}

}  // namespace

std::span<const KekAlgorithmInfo> kek_algorithms() { return kKekAlgorithms; }
const KekAlgorithmInfo* find_kek_algorithm(uint16_t value) { return find_row(kKekAlgorithms, value); }

std::span<const KekSigHashInfo> kek_sig_hashes() { return kKekSigHashes; }
const KekSigHashInfo* find_kek_sig_hash(uint16_t value) { return find_row(kKekSigHashes, value); }

std::span<const KekSigAlgorithmInfo> kek_sig_algorithms() { return kKekSigAlgorithms; }
const KekSigAlgorithmInfo* find_kek_sig_algorithm(uint16_t value) {
    return find_row(kKekSigAlgorithms, value);
}

std::optional<crypto::Cipher> kek_cipher(const Kek& kek) {
    const KekAlgorithmInfo* alg = find_kek_algorithm(kek.algorithm);
    if (alg == nullptr) return std::nullopt;
    if (alg->cipher == crypto::CipherAlg::Des3Cbc) return crypto::Cipher{alg->cipher, 24};
    if (kek.key_bits == 128 || kek.key_bits == 192 || kek.key_bits == 256)
        return crypto::Cipher{alg->cipher, kek.key_bits / 8u};
    return std::nullopt;
}

std::optional<crypto::HashAlg> kek_sig_hash(uint16_t value) {
    const KekSigHashInfo* row = find_kek_sig_hash(value);
    return row ? row->hash : std::nullopt;
}

std::string kek_algorithm_name(const Kek& kek) {
    const KekAlgorithmInfo* alg = find_kek_algorithm(kek.algorithm);
    if (alg == nullptr) return "KEK algorithm " + std::to_string(kek.algorithm);
    std::string name = alg->name;
    if (alg->key_length_in_name) name += "-" + std::to_string(kek.key_bits);
    return name + "-CBC";
}

std::string kek_signature_name(const Kek& kek) {
    const KekSigAlgorithmInfo* alg = find_kek_sig_algorithm(kek.sig_algorithm);
    std::string name = alg ? alg->name : "sig " + std::to_string(kek.sig_algorithm);
    if (kek.sig_key_bits) name += "-" + std::to_string(kek.sig_key_bits);
    const KekSigHashInfo* hash = find_kek_sig_hash(kek.sig_hash_algorithm);
    return name + "/" + (hash ? hash->name : "?");
}

}  // namespace gdoi
