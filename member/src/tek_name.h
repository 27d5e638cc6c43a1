// The name gdoictl shows for a TEK's algorithms, e.g. "ESP_AES_CBC-256/HMAC-SHA2-256".
#pragma once

#include <string>

#include "gdoi/group_state.h"

namespace member {

// The ESP transform's IKE name, "-<bits>" when the SA TEK carried a Key Length attribute
// (RFC 2407 §4.5: none for fixed-length ciphers such as 3DES), "/<auth>" when not AEAD.
std::string tek_algorithm_name(const gdoi::Tek& t);

}  // namespace member
