// ISAKMP Notify message types (RFC 2408 §3.14.1, RFC 2407 §4.6.3): the range a type
// falls in, and one table of the types we name with what an operator should check
// when a key server sends them.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace gdoi {

// The ranges of RFC 2408 §3.14.1 (Notify Message Types):
//       1 -  8191  errors (31 - 8191 reserved for future use)
//    8192 - 16383  errors, private use
//   16384 - 24575  status (16385 - 24575 reserved for future use)
//   24576 - 32767  status, DOI-specific codes (RFC 2407 §4.6.3 for the IPsec DOI)
//   32768 - 40959  status, private use
//   40960 - 65535  reserved for future use
// Type 0 is not assigned; it counts as an error, as it always has here.
enum class NotifyRange { Error, PrivateError, Status, DoiStatus, PrivateStatus, Reserved };

NotifyRange classify_notification(uint16_t type);

// Errors (private-use ones included) mean the peer refused something; the other ranges
// are informational.
bool is_error_notification(uint16_t type);

struct NotifyType {
    uint16_t type;
    const char* name;  // as RFC 2408 / RFC 2407 spell it
    const char* hint;  // what an operator should check
};

// The named types, in ascending order of type.
std::span<const NotifyType> notify_types();

// The table row of a type, or nullptr for a type without a name here.
const NotifyType* find_notify_type(uint16_t type);

// "NAME (hint)" for a named type, else "error notification N" or "status notification N"
// by range ("private-use error notification N" for 8192 - 16383).
std::string describe_notification(uint16_t type);
// The same with another hint for a named type (a member with certificates has no pre-shared
// key to check).
std::string describe_notification(uint16_t type, const char* hint);

}  // namespace gdoi
