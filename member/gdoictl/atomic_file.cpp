#include "gdoictl/atomic_file.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace member {
namespace {

common::Error errno_error(const std::string& what, const std::string& file) {
    const int e = errno;
    return common::make_error("cannot " + what + " " + file + ": " + std::strerror(e), e);
}

common::Status write_all(int fd, std::string_view content, const std::string& file) {
    while (!content.empty()) {
        const ssize_t n = ::write(fd, content.data(), content.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return errno_error("write", file);
        content.remove_prefix(static_cast<size_t>(n));
    }
    return {};
}

}  // namespace

common::Status write_file_atomically(const std::string& path, std::string_view content, mode_t mode) {
    if (path.empty()) return common::make_error("the output path is empty");
    const std::string pattern = path + ".tmp-XXXXXX";
    std::vector<char> name(pattern.begin(), pattern.end());
    name.push_back('\0');
    const int fd = ::mkostemp(name.data(), O_CLOEXEC);
    if (fd < 0) return errno_error("create a temporary file for", path);
    const std::string tmp(name.data());
    auto written = write_all(fd, content, tmp);
    if (written && ::fchmod(fd, mode) != 0) written = errno_error("set the mode of", tmp);
    if (written && ::fsync(fd) != 0) written = errno_error("flush", tmp);
    if (::close(fd) != 0 && written) written = errno_error("close", tmp);
    if (written && ::rename(tmp.c_str(), path.c_str()) != 0)
        written = errno_error("rename " + tmp + " to", path);
    if (!written) ::unlink(tmp.c_str());
    return written;
}

}  // namespace member
