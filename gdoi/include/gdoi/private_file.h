// The one reader of the daemon's private files (pre-shared keys, the configuration, the
// restart-adoption state), into secure memory. Opened with O_NONBLOCK | O_NOFOLLOW and checked
// before anything is read, so that a FIFO, a device or a symbolic link given by mistake (or
// planted) is refused instead of blocking the daemon: regular files only, at most max_size
// bytes, owned by root or by the daemon's user (the effective user, or the --user the daemon
// switches to: set_trusted_file_owner), without the refused permission bits.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"
#include "gdoi/secure_bytes.h"

namespace gdoi {

struct PrivateFileRules {
    std::string_view what;        // "the pre-shared key file": names the file in messages
    std::size_t max_size = 0;     // bytes
    mode_t refused_bits = 0;      // e.g. S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH
    std::size_t max_entries = 0;  // list_private_directory: files
};

struct PrivateFile {
    SecureBytes content;
    mode_t mode = 0;  // st_mode at the time of reading
};

common::Result<PrivateFile> read_private_file(const std::string& path, const PrivateFileRules& rules);

// A directory checked like a private file (owned by root or the daemon's user, without the
// refused permission bits, not a symbolic link), kept open, and the names of its regular files
// (sorted; symbolic links, subdirectories and other entries skipped).
struct PrivateDirectory {
    common::UniqueFd fd;
    std::string path;
    std::vector<std::string> names;
};
common::Result<PrivateDirectory> list_private_directory(const std::string& path,
                                                        const PrivateFileRules& rules);
// One file of it, read like read_private_file but opened relative to the directory's fd: the
// directory cannot be swapped for another (or a link) between the listing and the read.
common::Result<PrivateFile> read_private_file_in(const PrivateDirectory& dir, const std::string& name,
                                                 const PrivateFileRules& rules);

// The user the daemon runs as after its start (--user): its files are trusted like root's.
void set_trusted_file_owner(uid_t uid);

}  // namespace gdoi
