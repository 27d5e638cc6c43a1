#include "gdoi/secret_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

namespace gdoi {

std::string describe_file_mode(mode_t mode) {
    char octal[8];
    std::snprintf(octal, sizeof octal, "%04o", static_cast<unsigned>(mode & 07777));
    std::vector<std::string> what;
    if (mode & S_IRGRP) what.push_back("group-readable");
    if (mode & S_IWGRP) what.push_back("group-writable");
    if (mode & S_IROTH) what.push_back("world-readable");
    if (mode & S_IWOTH) what.push_back("world-writable");
    std::string s = std::string("mode ") + octal;
    if (!what.empty()) {
        s += ", ";
        for (std::size_t i = 0; i < what.size(); ++i) s += (i ? " and " : "") + what[i];
    }
    return s;
}

common::Result<SecureBytes> read_secret_file(const std::string& path, bool owner_only) {
    // O_NONBLOCK: a FIFO given by mistake must not hang the daemon (it is refused below).
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return common::make_error("cannot open " + path + ": " + std::strerror(errno) +
                                      "; give the file holding the group's pre-shared key",
                                  errno);
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};
    struct stat st {};
    if (::fstat(fd, &st) != 0) return common::make_error("cannot stat " + path + ": " + std::strerror(errno), errno);
    if (!S_ISREG(st.st_mode)) return common::make_error(path + " is not a regular file; give the key file");
    if (owner_only && (st.st_mode & (S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH)))
        return common::make_error(path + " has " + describe_file_mode(st.st_mode) +
                                  "; the key file must be readable by its owner only: run chmod 600 " + path);
    if (st.st_size <= 0) return common::make_error(path + " is empty; write the pre-shared key into it");
    if (static_cast<std::size_t>(st.st_size) > kMaxSecretFileSize)
        return common::make_error(path + " is " + std::to_string(st.st_size) + " bytes; a pre-shared key file " +
                                  "holds at most " + std::to_string(kMaxSecretFileSize) + " bytes");
    SecureBytes buf(static_cast<std::size_t>(st.st_size));
    std::size_t got = 0;
    while (got < buf.size()) {
        const ssize_t r = ::read(fd, buf.data() + got, buf.size() - got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return common::make_error("cannot read " + path + ": " + std::strerror(errno), errno);
        if (r == 0) break;
        got += static_cast<std::size_t>(r);
    }
    std::size_t n = got;
    if (n > 0 && buf.data()[n - 1] == '\n') --n;
    if (n > 0 && buf.data()[n - 1] == '\r') --n;
    if (n == 0) return common::make_error(path + " holds no key (only a newline); write the pre-shared key into it");
    return buf.prefix(n);
}

}  // namespace gdoi
