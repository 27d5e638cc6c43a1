// push-verify [N]: the time of a GROUPKEY-PUSH signature check (gdoi::crypto::verify_signature:
// RSA-2048, PKCS#1 v1.5 with DigestInfo, SHA-256, over 600 octets), N checks (default 2,000):
//   - with the key server's key as a member holds it, the same DER octets every push;
//   - with two keys in turn, so that every check decodes its key (d2i_PUBKEY) anew;
//   - IKEv1-style signatures (no DigestInfo) with the same key: the second form tried.
// Prints the mean microseconds of each. Not a test.
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "gdoi/crypto.h"

namespace {

using gdoi::Bytes;
using gdoi::crypto::HashAlg;
using gdoi::crypto::SigAlgorithm;
using gdoi::crypto::SigningKey;
using Clock = std::chrono::steady_clock;

struct Signer {
    Bytes der, with_info, raw;
};

Signer signer(const Bytes& data) {
    auto key = SigningKey::generate(SigAlgorithm::Rsa);
    if (!key) std::exit(1);
    auto with_info = key->sign(HashAlg::Sha256, data);
    auto raw = key->sign(HashAlg::Sha256, data, false);
    if (!with_info || !raw) std::exit(1);
    return {key->public_key_der(), *with_info, *raw};
}

// mean microseconds of n checks; check(i) must verify
template <typename F>
double mean_us(int n, F check) {
    const auto t0 = Clock::now();
    for (int i = 0; i < n; ++i)
        if (!check(i)) {
            std::fprintf(stderr, "push-verify: check %d did not verify\n", i);
            std::exit(1);
        }
    return std::chrono::duration<double, std::micro>(Clock::now() - t0).count() / n;
}

}  // namespace

int main(int argc, char** argv) {
    const int n = argc > 1 ? std::atoi(argv[1]) : 2000;
    if (n <= 0) return 2;
    const Bytes data(600, 0x5a);
    const Signer a = signer(data), b = signer(data);
    auto verify = [&](const Signer& s, const Bytes& sig) {
        return gdoi::crypto::verify_signature(SigAlgorithm::Rsa, s.der, HashAlg::Sha256, data, sig);
    };
    const double same = mean_us(n, [&](int) { return verify(a, a.with_info); });
    const double alternating =
        mean_us(n, [&](int i) { return i % 2 ? verify(a, a.with_info) : verify(b, b.with_info); });
    const double raw = mean_us(n, [&](int) { return verify(a, a.raw); });
    std::printf("push-verify: RSA-2048, SHA-256, %d checks each, mean µs per check\n", n);
    std::printf("| the same key every push | %.1f |\n", same);
    std::printf("| two keys in turn (each check decodes its key) | %.1f |\n", alternating);
    std::printf("| the same key, IKEv1-style signature (no DigestInfo) | %.1f |\n", raw);
    return 0;
}
