// MemberStatus <-> JSON: the document `gdoictl show ... --json` prints and the daemon
// sends on the control socket. Field names are the snake_case names of status.h
// (usable as jq identifiers without quoting); the schema, with an example, is in
// packaging/gdoictl.8.md. The reader is strict: every field must be present with its
// type, unknown fields and any other value type are errors naming the field path and
// the byte/line/column, so a daemon/CLI schema mismatch is reported, not guessed at.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"
#include "control/status.h"

namespace member {

// The "schema" member of the document; bumped on any incompatible change.
inline constexpr uint64_t kStatusSchemaVersion = 2;

// Pretty-printed (two-space indent), stable field order, ends with a newline.
std::string to_json(const MemberStatus& status);

common::Result<MemberStatus> status_from_json(std::string_view document);

}  // namespace member
