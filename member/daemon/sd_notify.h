// systemd readiness and status (the sd_notify datagram protocol, sd_notify(3)) without
// libsystemd: one datagram to $NOTIFY_SOCKET. A no-op when not started by systemd.
#pragma once

#include <string>

namespace member {

void sd_notify_message(const std::string& message);  // e.g. "READY=1\nSTATUS=..."

}  // namespace member
