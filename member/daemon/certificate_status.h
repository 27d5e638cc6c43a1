// The certificates of phase 1 as gdoictl shows them and as the daemon warns about them: the
// subject, the expiry, and what to do when the expiry is near (kCertificateWarning) or past.
#pragma once

#include <chrono>

#include "control/status.h"
#include "gdoi/cert.h"

namespace member {

// Warn this long before a certificate expires (Junos and IOS warn 30 days ahead by default
// for their own certificates).
inline constexpr std::chrono::hours kCertificateWarning{24 * 30};

enum class CertificateOwner { ours, key_server };

CertificateStatus certificate_status(const gdoi::crypto::Certificate& cert, CertificateOwner owner,
                                     std::chrono::system_clock::time_point now);

}  // namespace member
