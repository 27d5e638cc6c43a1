// Where gdoi-memberd listens for gdoictl unless the configuration (control-socket) or
// gdoictl --socket says otherwise.
#pragma once

namespace member {

inline constexpr const char* kDefaultControlSocket = "/run/gdoi-member/control.sock";

}  // namespace member
