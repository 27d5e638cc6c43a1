// libFuzzer target: ike_proposal_from_transform over transforms parsed from the
// input, read as an SA payload body (all its transforms) and as one transform body.
// An accepted transform must name a supported suite that survives to_transform ->
// ike_proposal_from_transform and the name -> parse_ike_proposal round trip.
#include <cstddef>
#include <cstdint>

#include "fuzz_check.h"
#include "gdoi/crypto.h"
#include "gdoi/ike_proposal.h"
#include "gdoi/isakmp.h"

using namespace gdoi;

namespace {

void check(const isakmp::Transform& t) {
    auto p = ike_proposal_from_transform(t);
    (void)ike_lifetime_seconds(t);
    if (!p) {
        FUZZ_CHECK(!p.error().message.empty());
        return;
    }
    FUZZ_CHECK(crypto::is_supported_group(static_cast<uint16_t>(p->group)));
    // The group is the one the peer named, not a truncation of a larger value.
    const auto* group = isakmp::find_attribute(t.attributes, ike_attr::kGroupDescription);
    FUZZ_CHECK(group != nullptr && group->as_integer() == static_cast<uint64_t>(p->group));
    FUZZ_CHECK(crypto::dh_public_size(p->group) != 0);
    FUZZ_CHECK(p->cipher.key_size == 16 || p->cipher.key_size == 24 || p->cipher.key_size == 32);
    // The name carries the suite; the authentication method comes from the configuration.
    FUZZ_CHECK(p->auth_method == ike_attr::kAuthPreSharedKey || p->auth_method == ike_attr::kAuthRsaSig ||
               p->auth_method == ike_attr::kAuthEcdsaP256 || p->auth_method == ike_attr::kAuthEcdsaP384 ||
               p->auth_method == ike_attr::kAuthEcdsaP521);
    auto named = parse_ike_proposal(p->name());
    if (named) named->auth_method = p->auth_method;
    FUZZ_CHECK(named.ok() && *named == *p);
    auto again = ike_proposal_from_transform(p->to_transform(t.number, 86400));
    FUZZ_CHECK(again.ok() && *again == *p);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    gdoi::ByteView in(data, size);
    if (auto sa = isakmp::parse_sa(in))
        for (const auto& prop : sa->proposals)
            for (const auto& t : prop.transforms) check(t);
    if (auto t = isakmp::parse_transform(in)) check(*t);
    return 0;
}
