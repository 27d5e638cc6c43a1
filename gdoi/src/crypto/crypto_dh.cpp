// Diffie-Hellman for IKE: MODP groups (RFC 2409 §6.2, RFC 3526) with OpenSSL's
// BIGNUM in constant time, ECP groups (RFC 5903) with EVP. The MODP private
// exponent lives in libsodium secure memory; OpenSSL copies are cleared on free.
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <memory>

#include "crypto_pkey.h"
#include "gdoi/crypto.h"

namespace gdoi::crypto {
namespace {

using Bn = OsslPtr<BIGNUM, BN_clear_free>;
using BnCtx = OsslPtr<BN_CTX, BN_CTX_free>;
using Mont = OsslPtr<BN_MONT_CTX, BN_MONT_CTX_free>;

bool is_ecp(DhGroup g) { return g == DhGroup::Ecp256 || g == DhGroup::Ecp384 || g == DhGroup::Ecp521; }

Bn modp_prime(DhGroup g) {
    switch (g) {
        case DhGroup::Modp1024:
            return Bn(BN_get_rfc2409_prime_1024(nullptr));
        case DhGroup::Modp1536:
            return Bn(BN_get_rfc3526_prime_1536(nullptr));
        case DhGroup::Modp2048:
            return Bn(BN_get_rfc3526_prime_2048(nullptr));
        case DhGroup::Modp3072:
            return Bn(BN_get_rfc3526_prime_3072(nullptr));
        case DhGroup::Modp4096:
            return Bn(BN_get_rfc3526_prime_4096(nullptr));
        default:
            return nullptr;
    }
}

const char* curve_name(DhGroup g) {
    switch (g) {
        case DhGroup::Ecp256:
            return "P-256";
        case DhGroup::Ecp384:
            return "P-384";
        case DhGroup::Ecp521:
            return "P-521";
        default:
            return nullptr;
    }
}

size_t ecp_coordinate_size(DhGroup g) {
    switch (g) {
        case DhGroup::Ecp256:
            return 32;
        case DhGroup::Ecp384:
            return 48;
        case DhGroup::Ecp521:
            return 66;
        default:
            return 0;
    }
}

// Private exponent length: 512 bits is more than twice the strength of every
// supported MODP group (4096-bit MODP ~ 150 bits of security, RFC 3526 §8).
constexpr size_t kModpPrivateBytes = 64;

}  // namespace

// What the shared secret needs besides the peer's value is made with the key pair, before
// the peer's value arrives.
struct DhExchange::Impl {
    DhGroup group;
    Bytes public_value;
    SecureBytes modp_private;  // MODP only
    Bn prime;                  // MODP only
    Mont mont;                 // MODP only: the prime's Montgomery context, for both exponentiations
    Pkey ec_key;               // ECP only
    PkeyCtx ec_derive;         // ECP only: ECDH with ec_key, initialised
    Pkey ec_peer;              // ECP only: the curve, to take the peer's point
    PkeyCtx ec_peer_check;     // ECP only: validates ec_peer
};

DhExchange::DhExchange(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DhExchange::DhExchange(DhExchange&&) noexcept = default;
DhExchange& DhExchange::operator=(DhExchange&&) noexcept = default;
DhExchange::~DhExchange() = default;

bool is_supported_group(uint16_t n) {
    switch (n) {
        case 2:
        case 5:
        case 14:
        case 15:
        case 16:
        case 19:
        case 20:
        case 21:
            return true;
        default:
            return false;
    }
}

size_t dh_public_size(DhGroup group) {
    if (is_ecp(group)) return 2 * ecp_coordinate_size(group);
    Bn p = modp_prime(group);
    return p ? static_cast<size_t>(BN_num_bytes(p.get())) : 0;
}

size_t dh_shared_secret_size(DhGroup group) {
    return is_ecp(group) ? ecp_coordinate_size(group) : dh_public_size(group);
}

DhGroup DhExchange::group() const { return impl_->group; }
const Bytes& DhExchange::public_value() const { return impl_->public_value; }

Result<DhExchange> DhExchange::generate(DhGroup group) {
    auto impl = std::make_unique<Impl>();
    impl->group = group;
    if (is_ecp(group)) {
        Pkey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve_name(group)));
        if (!key) return common::make_error("DH: EC key generation failed");
        Bytes point(1 + 2 * ecp_coordinate_size(group));
        size_t len = 0;
        if (EVP_PKEY_get_octet_string_param(key.get(), OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point.data(),
                                            point.size(), &len) != 1 ||
            len != point.size() || point[0] != 0x04)
            return common::make_error("DH: EC public key export failed");
        impl->public_value.assign(point.begin() + 1, point.end());  // RFC 5903 §7: x | y, no 0x04
        // A key of the curve alone (no point yet), not a new one per peer value: building the
        // curve is half the cost of importing a point.
        OSSL_PARAM curve[] = {OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
                                                               const_cast<char*>(curve_name(group)), 0),
                              OSSL_PARAM_construct_end()};
        PkeyCtx fctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
        EVP_PKEY* peer = nullptr;
        if (!fctx || EVP_PKEY_fromdata_init(fctx.get()) != 1 ||
            EVP_PKEY_fromdata(fctx.get(), &peer, EVP_PKEY_KEY_PARAMETERS, curve) != 1)
            return common::make_error("DH: EC parameters failed");
        impl->ec_peer.reset(peer);
        impl->ec_peer_check.reset(EVP_PKEY_CTX_new(peer, nullptr));
        impl->ec_derive.reset(EVP_PKEY_CTX_new(key.get(), nullptr));
        if (!impl->ec_peer_check || !impl->ec_derive || EVP_PKEY_derive_init(impl->ec_derive.get()) != 1)
            return common::make_error("DH: ECDH initialisation failed");
        impl->ec_key = std::move(key);
        return DhExchange(std::move(impl));
    }
    impl->prime = modp_prime(group);
    const BIGNUM* p = impl->prime.get();
    if (!p) return common::make_error("DH: unsupported group " + std::to_string(static_cast<int>(group)));
    impl->modp_private = random_secret(kModpPrivateBytes);
    BnCtx ctx(BN_CTX_new());
    impl->mont.reset(BN_MONT_CTX_new());
    Bn x(BN_bin2bn(impl->modp_private.data(), static_cast<int>(impl->modp_private.size()), nullptr));
    Bn g(BN_new()), y(BN_new());
    if (!ctx || !impl->mont || !x || !g || !y || BN_set_word(g.get(), 2) != 1)
        return common::make_error("DH: out of memory");
    BN_set_flags(x.get(), BN_FLG_CONSTTIME);
    if (BN_MONT_CTX_set(impl->mont.get(), p, ctx.get()) != 1 ||
        BN_mod_exp_mont_consttime(y.get(), g.get(), x.get(), p, ctx.get(), impl->mont.get()) != 1)
        return common::make_error("DH: modular exponentiation failed");
    impl->public_value.resize(static_cast<size_t>(BN_num_bytes(p)));
    BN_bn2binpad(y.get(), impl->public_value.data(), static_cast<int>(impl->public_value.size()));
    return DhExchange(std::move(impl));
}

Result<SecureBytes> DhExchange::shared_secret(ByteView peer) const {
    SecureBytes out;
    auto done = shared_secret(peer, out);
    if (!done) return done.error();
    return out;
}

common::Status DhExchange::shared_secret(ByteView peer, SecureBytes& out) const {
    const size_t expected = impl_->public_value.size();  // the group's length, as ours
    if (peer.size() != expected)
        return common::make_error("DH: peer public value has length " + std::to_string(peer.size()) +
                                  ", group needs " + std::to_string(expected));
    if (is_ecp(impl_->group)) {
        Bytes point(1 + peer.size());
        point[0] = 0x04;
        std::copy(peer.begin(), peer.end(), point.begin() + 1);
        EVP_PKEY* peer_key = impl_->ec_peer.get();
        if (EVP_PKEY_set1_encoded_public_key(peer_key, point.data(), point.size()) != 1)
            return common::make_error("DH: peer EC point is invalid");
        // ECC partial public-key validation (NIST SP 800-56A Rev. 3 §5.6.2.3.4: coordinates in
        // range, on the curve, not the point at infinity) is complete for these curves: their
        // cofactor is 1, so every point on them has the group's prime order. set_peer's own
        // check would add a scalar multiplication by that order, as costly as the derivation.
        if (EVP_PKEY_public_check_quick(impl_->ec_peer_check.get()) != 1)
            return common::make_error("DH: peer EC point rejected (not on the curve)");
        EVP_PKEY_CTX* derive = impl_->ec_derive.get();
        if (EVP_PKEY_derive_set_peer_ex(derive, peer_key, 0) != 1)
            return common::make_error("DH: peer EC point rejected");
        size_t len = ecp_coordinate_size(impl_->group);
        out.resize(len);
        if (EVP_PKEY_derive(derive, out.data(), &len) != 1 || len != out.size())
            return common::make_error("DH: ECDH derivation failed");
        return {};
    }
    const BIGNUM* p = impl_->prime.get();
    BnCtx ctx(BN_CTX_new());
    Bn y(BN_bin2bn(peer.data(), static_cast<int>(peer.size()), nullptr));
    Bn x(BN_bin2bn(impl_->modp_private.data(), static_cast<int>(impl_->modp_private.size()), nullptr));
    Bn pm1(BN_dup(p)), z(BN_new());
    if (!ctx || !y || !x || !pm1 || !z) return common::make_error("DH: out of memory");
    BN_sub_word(pm1.get(), 1);
    // Reject 0, 1 and p-1 and anything >= p (small-subgroup confinement).
    if (BN_cmp(y.get(), BN_value_one()) <= 0 || BN_cmp(y.get(), pm1.get()) >= 0)
        return common::make_error("DH: peer public value out of range");
    BN_set_flags(x.get(), BN_FLG_CONSTTIME);
    if (BN_mod_exp_mont_consttime(z.get(), y.get(), x.get(), p, ctx.get(), impl_->mont.get()) != 1)
        return common::make_error("DH: modular exponentiation failed");
    out.resize(static_cast<size_t>(BN_num_bytes(p)));
    BN_bn2binpad(z.get(), out.data(), static_cast<int>(out.size()));
    return {};
}

}  // namespace gdoi::crypto
