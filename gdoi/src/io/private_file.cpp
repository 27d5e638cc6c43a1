#include "gdoi/private_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>

#include "common/unique_fd.h"
#include "gdoi/secret_file.h"

namespace gdoi {
namespace {

std::atomic<long> g_trusted_owner{-1};

bool trusted_owner(uid_t uid) {
    return uid == 0 || uid == ::geteuid() || static_cast<long>(uid) == g_trusted_owner.load();
}

// Owned by root or the daemon's user, without the refused permission bits.
common::Status check_owner_and_mode(const std::string& path, const struct stat& st,
                                    const PrivateFileRules& rules) {
    const std::string what(rules.what);
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
    return {};
}

}  // namespace

void set_trusted_file_owner(uid_t uid) { g_trusted_owner.store(static_cast<long>(uid)); }

namespace {

// `name` relative to `dir_fd` (AT_FDCWD: the path itself); `path` names it in messages.
common::Result<PrivateFile> read_private_file_at(int dir_fd, const std::string& name, const std::string& path,
                                                 const PrivateFileRules& rules) {
    const std::string what(rules.what);
    const common::UniqueFd owned(
        ::openat(dir_fd, name.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW));
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
    if (auto allowed = check_owner_and_mode(path, st, rules); !allowed) return allowed.error();
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

}  // namespace

common::Result<PrivateFile> read_private_file(const std::string& path, const PrivateFileRules& rules) {
    return read_private_file_at(AT_FDCWD, path, path, rules);
}

common::Result<PrivateFile> read_private_file_in(const PrivateDirectory& dir, const std::string& name,
                                                 const PrivateFileRules& rules) {
    return read_private_file_at(dir.fd.get(), name, dir.path + "/" + name, rules);
}

common::Result<PrivateDirectory> list_private_directory(const std::string& path,
                                                        const PrivateFileRules& rules) {
    const std::string what(rules.what);
    PrivateDirectory out{
        common::UniqueFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_DIRECTORY | O_NOFOLLOW)), path, {}};
    const int fd = out.fd.get();
    if (fd < 0) {
        const int err = errno;
        return common::make_error(
            "cannot open directory " + path + ": " + std::strerror(err) + "; give " + what, err);
    }
    // readdir on a duplicate (closedir closes it); the files are opened relative to `fd`.
    const int listed = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    std::unique_ptr<DIR, int (*)(DIR*)> dir(listed < 0 ? nullptr : ::fdopendir(listed), ::closedir);
    if (!dir) {
        const int err = errno;
        if (listed >= 0) ::close(listed);
        return common::make_error("cannot read directory " + path + ": " + std::strerror(err), err);
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0)
        return common::make_error("cannot stat " + path + ": " + std::strerror(errno), errno);
    if (auto allowed = check_owner_and_mode(path, st, rules); !allowed) return allowed.error();
    std::vector<std::string>& names = out.names;
    for (;;) {
        errno = 0;  // readdir's end and its error differ only by errno (an fstatat below may set it)
        const dirent* e = ::readdir(dir.get());
        if (e == nullptr) break;
        struct stat entry {};
        // Not followed: a symbolic link (c_rehash's hash links) is skipped, not read twice.
        if (::fstatat(fd, e->d_name, &entry, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(entry.st_mode)) continue;
        if (names.size() >= rules.max_entries)
            return common::make_error(path + " holds more than " + std::to_string(rules.max_entries) +
                                          " files; " + what +
                                          " holds at most that many (is it the right directory?)",
                                      EFBIG);
        names.emplace_back(e->d_name);
    }
    if (errno != 0)
        return common::make_error("cannot read directory " + path + ": " + std::strerror(errno), errno);
    std::sort(names.begin(), names.end());
    return out;
}

}  // namespace gdoi
