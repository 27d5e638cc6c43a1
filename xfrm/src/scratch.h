// One netlink request under construction, on the stack, wiped when it goes out
// of scope (SA requests carry keys). Internal.
#pragma once

#include <libmnl/libmnl.h>

#include <array>
#include <cstdint>
#include <string>

#include "xfrm/netlink.h"

namespace xfrm::detail {

// Largest request: xfrm_usersa_info + three algorithm attributes with 64-byte keys.
constexpr std::size_t kRequestBytes = 2048;

struct Scratch {
    alignas(nlmsghdr) std::array<uint8_t, kRequestBytes> bytes{};
    ~Scratch() { wipe(bytes); }

    nlmsghdr* header(uint16_t type, uint16_t flags) {
        nlmsghdr* nlh = mnl_nlmsg_put_header(bytes.data());
        nlh->nlmsg_type = type;
        nlh->nlmsg_flags = NLM_F_REQUEST | flags;
        return nlh;
    }
};

inline void append(MessageBuffer& out, const nlmsghdr* nlh, ObjectKind kind, Family family, std::string what) {
    out.append({reinterpret_cast<const uint8_t*>(nlh), nlh->nlmsg_len}, kind, family, std::move(what));
}

}  // namespace xfrm::detail
