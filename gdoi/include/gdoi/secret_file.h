// Pre-shared keys from files, into secure memory: the whole content without one
// trailing newline ("\n" or "\r\n"); regular files only, at most kMaxSecretFileSize
// bytes. With owner_only, a file that group or others may read or write is refused with
// the chmod that fixes it (keys must not be world-readable).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>

#include "common/result.h"
#include "gdoi/secure_bytes.h"

namespace gdoi {

inline constexpr std::size_t kMaxSecretFileSize = 4096;

common::Result<SecureBytes> read_secret_file(const std::string& path, bool owner_only = true);
// "mode 0644, group-readable and world-readable": for messages about file modes.
std::string describe_file_mode(mode_t mode);

}  // namespace gdoi
