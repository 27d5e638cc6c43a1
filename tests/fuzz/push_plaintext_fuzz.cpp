// libFuzzer target: the GROUPKEY-PUSH receiver (RFC 6407 §4) past decryption. The input
// is taken as the plaintext payload chain a key server would send; it is encrypted with
// a fixed KEK (so the receiver's parsing, signature location, SEQ, Delete, SA and KD
// handling all see attacker-chosen bytes), then processed against a registered state.
// Properties: no crash; a push without a valid signature is never accepted.
#include <cstddef>
#include <cstdint>

#include "fuzz_check.h"
#include "gdoi/crypto.h"
#include "gdoi/groupkey_push.h"
#include "gdoi/isakmp.h"

using namespace gdoi;

namespace {

const GroupState& registered_state() {
    static const GroupState state = [] {
        GroupState s;
        s.group_id = 1;
        Kek kek;
        for (size_t i = 0; i < 16; ++i) kek.spi[i] = static_cast<uint8_t>(i + 1);
        kek.algorithm = 3;
        kek.key_bits = 128;
        kek.key = SecureBytes(Bytes(16, 0x42));
        kek.iv = Bytes(16, 0x24);
        kek.sig_hash_algorithm = 3;
        kek.sig_algorithm = 1;
        auto signer = crypto::SigningKey::generate(crypto::SigAlgorithm::EcdsaP256);
        kek.sig_algorithm = 4;
        kek.signature_public_key = signer->public_key_der();
        s.kek = std::move(kek);
        s.sequence = 5;
        return s;
    }();
    return state;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1 || size > 4096) return 0;
    const GroupState& state = registered_state();
    const Kek& kek = *state.kek;
    Bytes plain(data + 1, data + size);
    plain.resize((plain.size() + 15) / 16 * 16, 0);
    if (plain.empty()) return 0;
    auto ct = crypto::cbc_encrypt(crypto::Cipher{crypto::CipherAlg::AesCbc, 16}, kek.key, kek.iv, plain);
    FUZZ_CHECK(ct.ok());
    isakmp::Header h;
    std::copy(kek.spi.begin(), kek.spi.begin() + 8, h.initiator_cookie.begin());
    std::copy(kek.spi.begin() + 8, kek.spi.end(), h.responder_cookie.begin());
    h.exchange = isakmp::ExchangeType::GroupkeyPush;
    h.flags = isakmp::kFlagEncryption;
    h.next_payload = static_cast<isakmp::PayloadType>(data[0] % 23);
    h.length = static_cast<uint32_t>(isakmp::kHeaderSize + ct->size());
    Bytes datagram = concat({isakmp::encode_header(h), *ct});
    auto outcome = process_push(datagram, state);
    // Nobody but the holder of the signing key (generated above, then dropped) can sign.
    FUZZ_CHECK(!outcome.accepted());
    return 0;
}
