// Notify message types (RFC 2408 §3.14.1, RFC 2407 §4.6.3) with operator hints.
#include <array>
#include <string>

#include "gdoi/phase1.h"

namespace gdoi {
namespace {

struct NotifyRow {
    uint16_t type;
    const char* name;
    const char* hint;
};

constexpr std::array<NotifyRow, 17> kNotifies{{
    {1, "INVALID-PAYLOAD-TYPE", "the key server could not parse our message; if it came after our identity "
                                "message, the pre-shared key probably differs"},
    {4, "INVALID-COOKIE", "the key server lost our exchange (restarted?); it is retried"},
    {7, "INVALID-EXCHANGE-TYPE", "the key server does not support this exchange (mode or GDOI)"},
    {9, "INVALID-MESSAGE-ID", "the key server rejected our message id"},
    {11, "INVALID-SPI", "the key server does not know the SA we referred to"},
    {13, "ATTRIBUTES-NOT-SUPPORTED", "the key server rejected an attribute of our proposals"},
    {14, "NO-PROPOSAL-CHOSEN", "no offered IKE proposal is acceptable to the key server: compare "
                               "ike.proposals with the key server's IKE policy"},
    {16, "PAYLOAD-MALFORMED", "the key server could not parse our message; if it came after our identity "
                              "message, the pre-shared key probably differs"},
    {17, "INVALID-KEY-INFORMATION", "the key server has no pre-shared key for this member: configure one for "
                                    "the member's address (main mode) or identity (aggressive mode)"},
    {18, "INVALID-ID-INFORMATION", "the key server does not accept our identity or the group id: check the "
                                   "member's address/ID and the group id configured on the key server"},
    {23, "INVALID-HASH-INFORMATION", "a HASH did not verify on the key server: the pre-shared key probably "
                                     "differs"},
    {24, "AUTHENTICATION-FAILED", "the key server could not authenticate us: check the pre-shared key"},
    {25, "INVALID-SIGNATURE", "a signature did not verify on the key server"},
    {29, "UNSUPPORTED-EXCHANGE-TYPE", "the key server does not support this exchange"},
    {24576, "RESPONDER-LIFETIME", "the key server shortened the SA lifetime"},
    {24577, "REPLAY-STATUS", "informational"},
    {24578, "INITIAL-CONTACT", "informational"},
}};

}  // namespace

std::string describe_notification(uint16_t type) {
    for (const auto& row : kNotifies)
        if (row.type == type) return std::string(row.name) + " (" + row.hint + ")";
    if (type < 8192) return "error notification " + std::to_string(type);
    return "status notification " + std::to_string(type);
}

}  // namespace gdoi
