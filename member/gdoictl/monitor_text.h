// `gdoictl monitor` without --json: one readable line per event, e.g.
//   2026-12-05T16:40:00.123Z GROUP_ID-4242: rekey accepted from 10.0.0.2:848, SEQ 2, TEKs +0x22222222
//   -0x11111111
#pragma once

#include <string>

#include "control/monitor_event.h"

namespace member {

// The line without its newline; `time` as the daemon wrote it (RFC 3339).
std::string monitor_event_text(const std::string& time, const MonitorEvent& event);

}  // namespace member
