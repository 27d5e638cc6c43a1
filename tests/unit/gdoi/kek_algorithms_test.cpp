// The KEK policy value tables (RFC 6407 §5.3): the display names gdoictl shows and the
// crypto types the exchanges use.
#include "gdoi/kek_algorithms.h"

#include <catch2/catch.hpp>
#include <string>
#include <tuple>

namespace {

// The strings daemon_status put in gdoictl's KEK lines before the table moved to gdoi/.
struct NameCase {
    gdoi::Kek kek;
    const char* algorithm;
    const char* signature;
};

NameCase named(uint16_t algorithm, uint16_t key_bits, uint16_t sig_algorithm, uint16_t sig_key_bits,
               uint16_t sig_hash, const char* algorithm_name, const char* signature_name) {
    NameCase c{{}, algorithm_name, signature_name};
    std::tie(c.kek.algorithm, c.kek.key_bits, c.kek.sig_algorithm, c.kek.sig_key_bits,
             c.kek.sig_hash_algorithm) =
        std::tuple(algorithm, key_bits, sig_algorithm, sig_key_bits, sig_hash);
    return c;
}

gdoi::Kek kek(uint16_t algorithm, uint16_t key_bits) {
    gdoi::Kek k;
    k.algorithm = algorithm;
    k.key_bits = key_bits;
    return k;
}

}  // namespace

TEST_CASE("KEK algorithm and signature display names are the ones gdoictl shows", "[kek]") {
    const NameCase cases[] = {
        named(3, 256, 1, 2048, 3, "AES-256-CBC", "RSA-2048/SHA-256"),
        named(3, 128, 1, 0, 2, "AES-128-CBC", "RSA/SHA-1"),
        named(2, 0, 4, 0, 3, "3DES-CBC", "ECDSA/SHA-256"),
        named(1, 64, 5, 384, 4, "KEK algorithm 1", "ECDSA-384/SHA-384"),
        named(9, 0, 6, 0, 5, "KEK algorithm 9", "ECDSA/SHA-512"),
        named(3, 192, 1, 1024, 1, "AES-192-CBC", "RSA-1024/MD5"),
        named(3, 256, 2, 1024, 0, "AES-256-CBC", "sig 2-1024/?"),
        named(3, 256, 7, 0, 6, "AES-256-CBC", "sig 7/?"),
    };
    for (const auto& c : cases) {
        CHECK(gdoi::kek_algorithm_name(c.kek) == c.algorithm);
        CHECK(gdoi::kek_signature_name(c.kek) == c.signature);
    }
}

TEST_CASE("KEK ciphers and signature hashes come from the tables", "[kek]") {
    using gdoi::crypto::Cipher;
    using gdoi::crypto::CipherAlg;
    using gdoi::crypto::HashAlg;
    CHECK(gdoi::kek_cipher(kek(2, 0)) == Cipher{CipherAlg::Des3Cbc, 24});
    CHECK(gdoi::kek_cipher(kek(3, 192)) == Cipher{CipherAlg::AesCbc, 24});
    CHECK_FALSE(gdoi::kek_cipher(kek(3, 512)).has_value());
    CHECK_FALSE(gdoi::kek_cipher(kek(1, 64)).has_value());
    CHECK(gdoi::kek_sig_hash(2) == HashAlg::Sha1);
    CHECK(gdoi::kek_sig_hash(5) == HashAlg::Sha512);
    CHECK_FALSE(gdoi::kek_sig_hash(1).has_value());  // MD5: named, not usable
    CHECK_FALSE(gdoi::kek_sig_hash(6).has_value());
    for (const auto& row : gdoi::kek_sig_hashes()) CHECK(gdoi::find_kek_sig_hash(row.value) == &row);
    for (const auto& row : gdoi::kek_algorithms()) CHECK(gdoi::find_kek_algorithm(row.value) == &row);
    for (const auto& row : gdoi::kek_sig_algorithms()) CHECK(gdoi::find_kek_sig_algorithm(row.value) == &row);
}
