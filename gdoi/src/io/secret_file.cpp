#include "gdoi/secret_file.h"

#include <sys/stat.h>

#include <cstdio>
#include <vector>

#include "gdoi/private_file.h"

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
    const mode_t refused = owner_only ? (S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH) : 0;
    auto file = read_private_file(path, {"the key file", kMaxSecretFileSize, refused});
    if (!file) return file.error();
    auto& buf = file->content;
    if (buf.empty()) return common::make_error(path + " is empty; write the pre-shared key into it");
    std::size_t n = buf.size();
    if (n > 0 && buf.data()[n - 1] == '\n') --n;
    if (n > 0 && buf.data()[n - 1] == '\r') --n;
    if (n == 0)
        return common::make_error(path + " holds no key (only a newline); write the pre-shared key into it");
    return buf.prefix(n);
}

}  // namespace gdoi
