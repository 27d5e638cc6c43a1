// openssl-heap [noconf]: the heap OpenSSL 3 keeps for what the member asks of it, step by step in
// the member's order (glibc's mallinfo2 in-use bytes after each call): initialisation with (or,
// with `noconf`, without) the configuration file, the first digest, cipher and MAC fetches (each
// builds that operation's whole method store), the DRBG, a MODP-2048 key, then a push's key
// decoding and signature context. What stands between the daemon and 1 MB of private memory
// (README, issue 13). Not a test.
#include <malloc.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include <cstdio>
#include <cstring>
#include <vector>

namespace {

std::size_t last = 0;

void step(const char* what) {
    const std::size_t used = mallinfo2().uordblks;
    std::printf("| %s | %zu | %zu |\n", what, used - last, used);
    last = used;
}

}  // namespace

int main(int argc, char** argv) {
    const bool noconf = argc > 1 && std::strcmp(argv[1], "noconf") == 0;
    std::printf("| step | + bytes in use | bytes in use |\n| --- | ---: | ---: |\n");
    last = mallinfo2().uordblks;
    step("before OpenSSL (libstdc++'s exception pool and the C library's own)");
    OPENSSL_init_crypto(noconf ? OPENSSL_INIT_NO_LOAD_CONFIG : OPENSSL_INIT_LOAD_CONFIG, nullptr);
    step(noconf ? "OPENSSL_init_crypto, no configuration file"
                : "OPENSSL_init_crypto with the configuration file");
    EVP_MD* sha = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    step("EVP_MD_fetch SHA256 (the digest store)");
    EVP_CIPHER* aes = EVP_CIPHER_fetch(nullptr, "AES-256-CBC", nullptr);
    step("EVP_CIPHER_fetch AES-256-CBC (the cipher store)");
    EVP_MAC* hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    step("EVP_MAC_fetch HMAC");
    unsigned char random[32];
    if (RAND_bytes(random, sizeof random) != 1) return 1;
    step("RAND_bytes (the DRBGs)");
    EVP_PKEY* dh = nullptr;
    EVP_PKEY_CTX* dh_ctx = EVP_PKEY_CTX_new_from_name(nullptr, "DH", nullptr);
    if (!dh_ctx || EVP_PKEY_keygen_init(dh_ctx) != 1 ||
        EVP_PKEY_CTX_set_group_name(dh_ctx, "modp_2048") != 1 || EVP_PKEY_generate(dh_ctx, &dh) != 1)
        return 1;
    EVP_PKEY_CTX_free(dh_ctx);
    step("a MODP-2048 key (phase 1)");
    // The key server's key as a push carries it: DER SubjectPublicKeyInfo.
    EVP_PKEY* server = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{2048});
    const int len = i2d_PUBKEY(server, nullptr);
    if (!dh || !server || len <= 0) return 1;
    std::vector<unsigned char> der(static_cast<std::size_t>(len));
    unsigned char* out = der.data();
    i2d_PUBKEY(server, &out);
    EVP_PKEY_free(server);
    last = mallinfo2().uordblks;  // the key server's side is not the member's
    const unsigned char* in = der.data();
    EVP_PKEY* key = d2i_PUBKEY(nullptr, &in, len);
    step("d2i_PUBKEY of the key server's key (the decoder store), first push");
    EVP_PKEY_CTX* verify = EVP_PKEY_CTX_new(key, nullptr);
    if (!key || !verify || EVP_PKEY_verify_init(verify) != 1) return 1;
    step("EVP_PKEY_verify_init (the signature store), first push");
    EVP_PKEY_CTX_free(verify);
    EVP_PKEY_free(key);
    EVP_PKEY_free(dh);
    EVP_MAC_free(hmac);
    EVP_CIPHER_free(aes);
    EVP_MD_free(sha);
    return 0;
}
