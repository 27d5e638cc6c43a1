// Applying Key Download payloads (RFC 6407 §5.5) to the policies they key.
#include "gdoi/gdoi_payloads.h"
#include "gdoi/groupkey_pull.h"
#include "gdoi/kek_algorithms.h"

namespace gdoi {

common::Status apply_key_download(ByteView kd_body, GroupState& state,
                                  const std::array<uint8_t, 16>* protecting_kek_spi, KdKekSpi* matched) {
    if (matched != nullptr) *matched = KdKekSpi::None;
    auto packets = wire::parse_key_download(kd_body);
    if (!packets) return packets.error();
    for (const auto& kp : *packets) {
        if (kp.type == wire::kd::kTypeTek) {
            if (kp.spi.size() != 4)
                return common::make_error("KD: TEK key packet with a " + std::to_string(kp.spi.size()) +
                                          "-octet SPI");
            const uint32_t spi = ByteReader(kp.spi).u32();
            Tek* tek = nullptr;
            for (auto& t : state.teks)
                if (t.spi == spi) tek = &t;
            if (tek == nullptr)
                return common::make_error("KD: keys for TEK SPI " + to_hex(kp.spi) +
                                          " that no SA TEK announced");
            const auto* enc = kp.find(wire::kd::kTekAlgorithmKey);
            const auto* integ = kp.find(wire::kd::kTekIntegrityKey);
            if (enc == nullptr)
                return common::make_error("KD: TEK " + to_hex(kp.spi) + " without TEK_ALGORITHM_KEY");
            tek->encryption_key = SecureBytes(enc->value);
            tek->integrity_key = integ ? SecureBytes(integ->value) : SecureBytes();
        } else if (kp.type == wire::kd::kTypeKek) {
            if (!state.kek) return common::make_error("KD: KEK keys without an SA KEK");
            Kek& kek = *state.kek;
            // RFC 6407 §5.6 only asks that the KD's SPI match one sent in an SA; on a KEK rekey
            // some key servers name the KEK that protected the push instead of the new one.
            const bool names_sa_kek =
                kp.spi.size() == 16 && std::equal(kp.spi.begin(), kp.spi.end(), kek.spi.begin());
            const bool names_protecting =
                !names_sa_kek && protecting_kek_spi != nullptr && kp.spi.size() == 16 &&
                std::equal(kp.spi.begin(), kp.spi.end(), protecting_kek_spi->begin());
            if (!names_sa_kek && !names_protecting)
                return common::make_error(
                    "KD: KEK key packet SPI " + to_hex(kp.spi) + " names neither the SA KEK (" +
                    to_hex(kek.spi) + ")" +
                    (protecting_kek_spi ? " nor the KEK this push came under" : std::string()));
            if (matched != nullptr) *matched = names_sa_kek ? KdKekSpi::SaKek : KdKekSpi::Protecting;
            auto cipher = kek_cipher(kek);
            if (!cipher)
                return common::make_error("KD: unsupported KEK algorithm " + std::to_string(kek.algorithm) +
                                          "/" + std::to_string(kek.key_bits));
            if (const auto* key = kp.find(wire::kd::kKekAlgorithmKey)) {
                // RFC 6407 §5.5.2.1: an explicit IV precedes the key.
                const size_t iv_size = cipher->block_size(), key_size = cipher->key_size;
                if (key->value.size() != iv_size + key_size)
                    return common::make_error("KD: KEK_ALGORITHM_KEY has " +
                                              std::to_string(key->value.size()) + " octets, expected IV " +
                                              std::to_string(iv_size) + " + key " + std::to_string(key_size));
                kek.iv.assign(key->value.begin(), key->value.begin() + static_cast<std::ptrdiff_t>(iv_size));
                kek.key = SecureBytes(key->value.subspan(iv_size));
            }
            if (const auto* sig = kp.find(wire::kd::kSigAlgorithmKey))
                kek.signature_public_key.assign(sig->value.begin(), sig->value.end());
        }
        // LKH and SID packets: not used by this member (no LKH; SIDs only for counter modes).
    }
    for (const auto& tek : state.teks)
        if (tek.encryption_key.empty())
            return common::make_error("KD: no keys for TEK SPI " + std::to_string(tek.spi));
    if (state.kek && (state.kek->key.empty() || state.kek->signature_public_key.empty()))
        return common::make_error("KD: the KEK's keys (encryption key and signature key) are missing");
    return {};
}

}  // namespace gdoi
