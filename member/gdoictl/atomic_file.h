// Replacing a file so that a reader (node-exporter's textfile collector) sees the old
// content or the new one, never a part of either.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "common/result.h"

namespace member {

// Writes `content` to PATH.tmp-XXXXXX in PATH's directory (mkstemp: same file system, a name
// the collector ignores, as it reads only *.prom), gives it `mode` (whatever the umask),
// flushes it to disk and rename()s it over PATH. On failure the temporary file is removed,
// PATH is left as it was, and the error names the file and the errno text.
common::Status write_file_atomically(const std::string& path, std::string_view content, mode_t mode = 0644);

}  // namespace member
