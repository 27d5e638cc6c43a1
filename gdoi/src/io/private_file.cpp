#include "gdoi/private_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <optional>

#include "common/unique_fd.h"
#include "gdoi/secret_file.h"

namespace gdoi {
namespace {

std::atomic<long> g_trusted_owner{-1};

bool trusted_owner(uid_t uid) {
    return uid == 0 || uid == ::geteuid() || static_cast<long>(uid) == g_trusted_owner.load();
}

}  // namespace

void set_trusted_file_owner(uid_t uid) { g_trusted_owner.store(static_cast<long>(uid)); }

common::Result<PrivateFile> read_private_file(const std::string& path, const PrivateFileRules& rules) {
    const std::string what(rules.what);
    const common::UniqueFd owned(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW));
    const int fd = owned.get();
    if (fd < 0) {
        const int err = errno;
        const std::string why =
            err == ELOOP ? "it is a symbolic link (give the file itself)" : std::strerror(err);
        return common::make_error("cannot open " + path + ": " + why + "; give " + what, err);
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0)
        return common::make_error("cannot stat " + path + ": " + std::strerror(errno), errno);
    if (!S_ISREG(st.st_mode))
        return common::make_error(
            path + " is not a regular file (a FIFO, device, socket or directory); give " + what, EINVAL);
    if (!trusted_owner(st.st_uid))
        return common::make_error(path + " belongs to uid " + std::to_string(st.st_uid) + "; " + what +
                                      " must belong to root or to the daemon's user: run chown root " + path,
                                  EPERM);
    if ((st.st_mode & rules.refused_bits) != 0) {
        const bool reads = (rules.refused_bits & (S_IRGRP | S_IROTH)) != 0;
        return common::make_error(path + " has " + describe_file_mode(st.st_mode) + "; " + what +
                                      " must be " +
                                      (reads ? "readable by its owner only: run chmod 600 "
                                             : "writable by its owner only: run chmod go-w ") +
                                      path,
                                  EPERM);
    }
    if (static_cast<std::size_t>(st.st_size) > rules.max_size)
        return common::make_error(path + " is " + std::to_string(st.st_size) + " bytes; " + what +
                                      " holds at most " + std::to_string(rules.max_size) +
                                      " bytes (is it the right file?)",
                                  EFBIG);
    SecureBytes buf(static_cast<std::size_t>(st.st_size));
    std::size_t got = 0;
    while (got < buf.size()) {
        const ssize_t r = ::read(fd, buf.data() + got, buf.size() - got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return common::make_error("cannot read " + path + ": " + std::strerror(errno), errno);
        if (r == 0) break;
        got += static_cast<std::size_t>(r);
    }
    return PrivateFile{got == buf.size() ? std::move(buf) : buf.prefix(got), st.st_mode};
}

}  // namespace gdoi
