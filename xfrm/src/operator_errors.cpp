// Kernel errno -> a message an operator can act on. Which errno means what is a
// kernel fact per object kind, e.g. for XFRM_MSG_NEWSA (net/xfrm/xfrm_user.c):
// the algorithm lookup (attach_aead/attach_one_algo) fails with ENOSYS when the
// crypto template is missing; xfrm_init_state() fails with EPROTONOSUPPORT when no
// xfrm_type is registered for ESP ("Requested type not found": esp4/esp6 not loaded).
#include <cerrno>
#include <cstring>

#include "xfrm/netlink.h"

namespace xfrm {
namespace {

std::string esp_module(Family f) { return f == Family::ipv4 ? "esp4" : "esp6"; }

std::string sa_hint(int err, Family family) {
    switch (err) {
        case EPROTONOSUPPORT:
        case ENOENT:
            return "kernel has no ESP support: load " + esp_module(family) + " (modprobe " +
                   esp_module(family) + ")";
        case ENOSYS:
            return "kernel lacks this crypto algorithm: load its modules (e.g. modprobe gcm aes "
                   "for rfc4106(gcm(aes)); cbc, des3_ede, sha1, sha256, sha512 for the others)";
        case EAFNOSUPPORT:
            return "kernel has no XFRM support for this address family: load xfrm6_tunnel / ipv6";
        case EEXIST:
            return "an SA with this destination, SPI and protocol already exists (update it instead)";
        case ESRCH:
            return "no such SA";
        case EINVAL:
            return "kernel rejected the SA (check key lengths, ICV/truncation length, mode, mark)";
        default:
            return {};
    }
}

std::string policy_hint(int err) {
    switch (err) {
        case EEXIST:
            return "a policy with this selector and direction already exists (update it instead)";
        case ENOENT:
            return "no such policy";
        case EINVAL:
            return "kernel rejected the policy (check selector prefix lengths, template mode, "
                   "direction)";
        default:
            return {};
    }
}

// The carrier's family names its tunnel type: IPIP (ipv4) or ip6tnl (ipv6).
std::string link_hint(int err, Family family) {
    const bool v6 = family == Family::ipv6;
    switch (err) {
        case EOPNOTSUPP:
            return v6 ? "kernel has no ip6tnl tunnel support: load ip6_tunnel (modprobe ip6_tunnel)"
                      : "kernel has no IPIP tunnel support: load ipip (modprobe ipip)";
        case EEXIST:
            return "a device with this name already exists (another instance, or a stale one: "
                   "ip link del it)";
        case ENODEV:
            return "no such network device";
        case ENOBUFS:
        case EBUSY:
            return std::string(v6 ? "an ip6tnl" : "an IPIP") +
                   " tunnel with the same local/remote pair already exists";
        case EINVAL:
            return "kernel rejected the device parameters (check MTU range and addresses)";
        default:
            return {};
    }
}

std::string route_hint(int err, ObjectKind kind) {
    switch (err) {
        case EEXIST:
            return kind == ObjectKind::address ? "the address is already assigned" : "already exists";
        case ENODEV:
            return "no such network device (create the carrier first)";
        case ENETUNREACH:
            return "the gateway is not reachable on a connected route";
        case ESRCH:
        case ENOENT:
        case EADDRNOTAVAIL:
            return "no such entry";
        case EINVAL:
            return "kernel rejected the request (check prefix length, table, device)";
        default:
            return {};
    }
}

}  // namespace

std::string operator_hint(int err, ObjectKind kind, Family family) {
    if (err == EPERM || err == EACCES) return "needs CAP_NET_ADMIN (run as root or grant the capability)";
    if (err == ENOMEM) return "kernel out of memory";
    std::string hint;
    switch (kind) {
        case ObjectKind::sa:
            hint = sa_hint(err, family);
            break;
        case ObjectKind::policy:
            hint = policy_hint(err);
            break;
        case ObjectKind::link:
            hint = link_hint(err, family);
            break;
        case ObjectKind::address:
        case ObjectKind::route:
        case ObjectKind::rule:
            hint = route_hint(err, kind);
            break;
        case ObjectKind::other:
            break;
    }
    if (hint.empty()) hint = std::strerror(err);
    return hint;
}

common::Error request_error(const RequestInfo& request, int err, std::string_view kernel_message) {
    std::string text = request.what + ": " + operator_hint(err, request.kind, request.family);
    if (!kernel_message.empty()) {
        text += " (kernel: ";
        text += kernel_message;
        text += ")";
    }
    return common::make_error(std::move(text), err);
}

namespace {
bool gone_errno(int e) { return e == ENODEV || e == ENOENT || e == ESRCH || e == EADDRNOTAVAIL; }
}  // namespace

bool already_gone(const common::Status& status) { return status || gone_errno(status.error().code); }

bool tolerated(Tolerate tolerate, int err) {
    switch (tolerate) {
        case Tolerate::nothing:
            return false;
        case Tolerate::exists:
            return err == EEXIST;
        case Tolerate::gone:
            return gone_errno(err);
    }
    return false;
}

}  // namespace xfrm
