// Notify message types (RFC 2408 §3.14.1, RFC 2407 §4.6.3): the one table of names and
// operator hints, and the range classifier.
#include "gdoi/notify.h"

#include <algorithm>
#include <array>

namespace gdoi {
namespace {

constexpr const char* kPskHint =
    "the key server could not parse our message; if it came after our identity message, the pre-shared "
    "key probably differs";

constexpr std::array<NotifyType, 17> kNotifyTypes{{
    {1, "INVALID-PAYLOAD-TYPE", kPskHint},
    {4, "INVALID-COOKIE", "the key server lost our exchange (restarted?); it is retried"},
    {7, "INVALID-EXCHANGE-TYPE", "the key server does not support this exchange (mode or GDOI)"},
    {9, "INVALID-MESSAGE-ID", "the key server rejected our message id"},
    {11, "INVALID-SPI", "the key server does not know the SA we referred to"},
    {13, "ATTRIBUTES-NOT-SUPPORTED", "the key server rejected an attribute of our proposals"},
    {14, "NO-PROPOSAL-CHOSEN",
     "no offered IKE proposal is acceptable to the key server: compare ike.proposals with the key "
     "server's IKE policy"},
    {16, "PAYLOAD-MALFORMED", kPskHint},
    {17, "INVALID-KEY-INFORMATION",
     "the key server has no pre-shared key for this member: configure one for the member's address "
     "(main mode) or identity (aggressive mode)"},
    {18, "INVALID-ID-INFORMATION",
     "the key server does not accept our identity or the group id: check the member's address/ID and the "
     "group id configured on the key server"},
    {23, "INVALID-HASH-INFORMATION",
     "a HASH did not verify on the key server: the pre-shared key probably differs"},
    {24, "AUTHENTICATION-FAILED", "the key server could not authenticate us: check the pre-shared key"},
    {25, "INVALID-SIGNATURE", "a signature did not verify on the key server"},
    {29, "UNSUPPORTED-EXCHANGE-TYPE", "the key server does not support this exchange"},
    {24576, "RESPONDER-LIFETIME", "the key server shortened the SA lifetime"},
    {24577, "REPLAY-STATUS", "informational"},
    {24578, "INITIAL-CONTACT", "informational"},
}};

static_assert(std::is_sorted(kNotifyTypes.begin(), kNotifyTypes.end(),
                             [](const NotifyType& a, const NotifyType& b) { return a.type < b.type; }));

}  // namespace

// RFC 2408 §3.14.1; see the range list in gdoi/notify.h.
NotifyRange classify_notification(uint16_t type) {
    if (type < 8192) return NotifyRange::Error;
    if (type < 16384) return NotifyRange::PrivateError;
    if (type < 24576) return NotifyRange::Status;
    if (type < 32768) return NotifyRange::DoiStatus;
    if (type < 40960) return NotifyRange::PrivateStatus;
    return NotifyRange::Reserved;
}

bool is_error_notification(uint16_t type) {
    const NotifyRange range = classify_notification(type);
    return range == NotifyRange::Error || range == NotifyRange::PrivateError;
}

std::span<const NotifyType> notify_types() { return kNotifyTypes; }

const NotifyType* find_notify_type(uint16_t type) {
    for (const auto& row : kNotifyTypes)
        if (row.type == type) return &row;
    return nullptr;
}

std::string describe_notification(uint16_t type) {
    const NotifyType* row = find_notify_type(type);
    return describe_notification(type, row ? row->hint : nullptr);
}

std::string describe_notification(uint16_t type, const char* hint) {
    if (const NotifyType* row = find_notify_type(type))
        return std::string(row->name) + " (" + (hint ? hint : row->hint) + ")";
    switch (classify_notification(type)) {
        case NotifyRange::Error:
            return "error notification " + std::to_string(type);
        case NotifyRange::PrivateError:
            return "private-use error notification " + std::to_string(type);
        default:
            return "status notification " + std::to_string(type);
    }
}

}  // namespace gdoi
