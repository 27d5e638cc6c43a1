// Hashes, HMAC PRF and CBC ciphers over OpenSSL 3 EVP.
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <memory>
#include <stdexcept>

#include "crypto_md.h"
#include "gdoi/crypto.h"

namespace gdoi::crypto {
namespace {

const EVP_MD* md_of(HashAlg alg) {
    if (const EVP_MD* md = evp_md(alg)) return md;
    throw std::logic_error("unknown hash");
}

struct MdCtxFree {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct CipherCtxFree {
    void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};

// Fetched once and kept, as the digests (crypto_md.h).
const EVP_CIPHER* evp_cipher_of(const Cipher& c) {
    static EVP_CIPHER* const fetched[] = {
        EVP_CIPHER_fetch(nullptr, "DES-EDE3-CBC", nullptr), EVP_CIPHER_fetch(nullptr, "AES-128-CBC", nullptr),
        EVP_CIPHER_fetch(nullptr, "AES-192-CBC", nullptr), EVP_CIPHER_fetch(nullptr, "AES-256-CBC", nullptr)};
    if (c.alg == CipherAlg::Des3Cbc) return c.key_size == 24 ? fetched[0] : nullptr;
    switch (c.key_size) {
        case 16:
            return fetched[1];
        case 24:
            return fetched[2];
        case 32:
            return fetched[3];
    }
    return nullptr;
}

EVP_MAC* hmac() {
    static EVP_MAC* const fetched = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    if (fetched == nullptr) throw std::runtime_error("HMAC unavailable");
    return fetched;
}

// Raw CBC into `out` (at least in.size() + one block); returns the bytes written.
Result<size_t> cbc_run(const Cipher& c, ByteView key, ByteView iv, ByteView in, bool encrypt, uint8_t* out) {
    const EVP_CIPHER* cipher = evp_cipher_of(c);
    if (cipher == nullptr || key.size() != c.key_size || iv.size() < c.block_size())
        return common::make_error("cipher: bad key or IV length");
    if (in.size() % c.block_size() != 0)
        return common::make_error("cipher: input is not a multiple of the block size");
    std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree> ctx(EVP_CIPHER_CTX_new());
    if (!ctx || EVP_CipherInit_ex(ctx.get(), cipher, nullptr, key.data(), iv.data(), encrypt ? 1 : 0) != 1)
        return common::make_error("cipher: initialisation failed");
    EVP_CIPHER_CTX_set_padding(ctx.get(), 0);
    int n = 0, m = 0;
    if (EVP_CipherUpdate(ctx.get(), out, &n, in.data(), static_cast<int>(in.size())) != 1 ||
        EVP_CipherFinal_ex(ctx.get(), out + n, &m) != 1)
        return common::make_error("cipher: operation failed");
    return static_cast<size_t>(n + m);
}

}  // namespace

void load_algorithms(HashAlg hash, const Cipher& cipher) {
    md_of(hash);
    hmac();
    evp_cipher_of(cipher);
}

size_t hash_size(HashAlg alg) { return static_cast<size_t>(EVP_MD_get_size(md_of(alg))); }

const char* hash_name(HashAlg alg) {
    switch (alg) {
        case HashAlg::Sha1:
            return "sha1";
        case HashAlg::Sha256:
            return "sha256";
        case HashAlg::Sha384:
            return "sha384";
        case HashAlg::Sha512:
            return "sha512";
    }
    return "?";
}

Bytes hash(HashAlg alg, std::initializer_list<ByteView> parts) {
    std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
    if (!ctx || EVP_DigestInit_ex(ctx.get(), md_of(alg), nullptr) != 1)
        throw std::runtime_error("digest init");
    for (ByteView p : parts) EVP_DigestUpdate(ctx.get(), p.data(), p.size());
    Bytes out(EVP_MAX_MD_SIZE);
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx.get(), out.data(), &len);
    out.resize(len);
    return out;
}

SecureBytes prf(HashAlg alg, ByteView key, std::initializer_list<ByteView> parts) {
    return prf(alg, key, std::span<const ByteView>(parts.begin(), parts.size()));
}

SecureBytes prf(HashAlg alg, ByteView key, std::span<const ByteView> parts) {
    SecureBytes out(hash_size(alg));
    prf(alg, key, parts, out.span());
    return out;
}

void prf(HashAlg alg, ByteView key, std::initializer_list<ByteView> parts, SecureBytes& out) {
    out.resize(hash_size(alg));
    prf(alg, key, std::span<const ByteView>(parts.begin(), parts.size()), out.span());
}

void prf(HashAlg alg, ByteView key, std::span<const ByteView> parts, std::span<uint8_t> out) {
    // HMAC_CTX is deprecated in 3.0: EVP_MAC.
    EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(hmac());
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string("digest", const_cast<char*>(EVP_MD_get0_name(md_of(alg))), 0),
        OSSL_PARAM_construct_end()};
    size_t len = 0;
    // A NULL key asks EVP_MAC_init to reuse a previous key; an empty HMAC key is legal,
    // so pass a valid pointer with length 0.
    static const uint8_t kEmpty = 0;
    const uint8_t* key_ptr = key.empty() ? &kEmpty : key.data();
    bool ok = ctx != nullptr && EVP_MAC_init(ctx, key_ptr, key.size(), params) == 1;
    for (ByteView p : parts) ok = ok && EVP_MAC_update(ctx, p.data(), p.size()) == 1;
    ok = ok && EVP_MAC_final(ctx, out.data(), &len, out.size()) == 1;
    EVP_MAC_CTX_free(ctx);
    if (!ok || len != out.size()) throw std::runtime_error("HMAC failed");
}

Result<Bytes> cbc_encrypt(const Cipher& c, ByteView key, ByteView iv, ByteView plaintext) {
    Bytes out(plaintext.size() + c.block_size());
    auto n = cbc_run(c, key, iv, plaintext, true, out.data());
    if (!n) return n.error();
    out.resize(*n);
    return out;
}

Result<SecureBytes> cbc_decrypt(const Cipher& c, ByteView key, ByteView iv, ByteView ciphertext) {
    SecureBytes out(ciphertext.size() + c.block_size());
    auto n = cbc_run(c, key, iv, ciphertext, false, out.data());
    if (!n) return n.error();
    return out.prefix(*n);
}

Bytes random_bytes(size_t n) {
    Bytes out(n);
    if (n != 0 && RAND_bytes(out.data(), static_cast<int>(n)) != 1)
        throw std::runtime_error("RAND_bytes failed");
    return out;
}

SecureBytes random_secret(size_t n) {
    SecureBytes out(n);
    if (n != 0 && RAND_priv_bytes(out.data(), static_cast<int>(n)) != 1)
        throw std::runtime_error("RAND_priv_bytes failed");
    return out;
}

}  // namespace gdoi::crypto
