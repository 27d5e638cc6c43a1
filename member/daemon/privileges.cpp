#include "daemon/privileges.h"

#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace member {
namespace {

constexpr uint32_t kKeep = (1u << CAP_NET_ADMIN) | (1u << CAP_NET_BIND_SERVICE);

common::Status errno_error(const std::string& what) {
    return common::make_error(what + ": " + std::strerror(errno), errno);
}

bool capget_all(__user_cap_data_struct (&data)[2]) {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    return ::syscall(SYS_capget, &header, data) == 0;
}

common::Status set_caps(uint32_t caps) {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2]{};
    data[0].effective = data[0].permitted = caps;
    if (::syscall(SYS_capset, &header, data) != 0) return errno_error("capset");
    return {};
}

}  // namespace

common::Status drop_privileges(const std::string& user, const std::vector<std::string>& hand_over) {
    __user_cap_data_struct current[2]{};
    if (!capget_all(current)) return errno_error("capget");
    if ((current[0].permitted & kKeep) != kKeep) {
        if (!user.empty())
            return common::make_error(
                "--user needs to be started as root (or with CAP_SETUID, CAP_NET_ADMIN)");
        return {};  // unprivileged run (tests, --check): nothing to drop
    }
    // Everything but the two capabilities leaves the bounding set for good.
    for (int cap = 0; cap <= CAP_LAST_CAP; ++cap) {
        const bool keep = cap < 32 && (kKeep & (1u << cap)) != 0;
        if (!keep) ::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);
    }
    if (!user.empty()) {
        const passwd* pw = ::getpwnam(user.c_str());
        if (pw == nullptr) return common::make_error("--user " + user + ": no such user");
        for (const auto& path : hand_over)
            if (::chown(path.c_str(), pw->pw_uid, pw->pw_gid) != 0) return errno_error("chown " + path);
        if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) return errno_error("prctl(PR_SET_KEEPCAPS)");
        if (::setgroups(0, nullptr) != 0) return errno_error("setgroups");
        if (::setgid(pw->pw_gid) != 0) return errno_error("setgid");
        if (::setuid(pw->pw_uid) != 0) return errno_error("setuid");
    }
    return set_caps(kKeep);
}

}  // namespace member
