// An XFRM security policy (struct xfrm_userpolicy_info + XFRMA_TMPL): which
// traffic (selector) in which direction must be protected by which SAs (templates).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "xfrm/address.h"
#include "xfrm/sa.h"

namespace xfrm {

enum class Direction : uint8_t { in = 0, out = 1, fwd = 2 };  // XFRM_POLICY_IN/OUT/FWD
enum class Action : uint8_t { allow = 0, block = 1 };        // XFRM_POLICY_ALLOW/BLOCK
// required: a packet without a matching SA is dropped; use: the template is
// optional (xfrm_user_tmpl.optional = 1), which does not enforce.
enum class Level : uint8_t { required, use };

// Traffic selector (struct xfrm_selector). proto 0 = any; port 0 = any. A port mask other than
// 0 selects an aligned block of ports (port & mask); 0 with a port set means that port alone.
struct Selector {
    Prefix src;
    Prefix dst;
    uint8_t proto = 0;
    uint16_t src_port = 0;
    uint16_t dst_port = 0;
    uint16_t src_port_mask = 0;
    uint16_t dst_port_mask = 0;
    bool operator==(const Selector&) const = default;
};

// One SA the policy requires (struct xfrm_user_tmpl). Addresses may be left out
// (any): a fwd template without addresses accepts the group SA whatever its outer
// addresses; transport-mode templates take the flow's addresses anyway.
struct Template {
    std::optional<Address> src;
    std::optional<Address> dst;
    uint32_t spi = 0;  // 0 = any (both SPIs during a rekey)
    Mode mode = Mode::tunnel;
    uint32_t reqid = 0;  // 0 = any
    Level level = Level::required;
    bool operator==(const Template&) const = default;
};

struct PolicySpec {
    Selector selector;
    Direction dir = Direction::out;
    Action action = Action::allow;
    uint32_t priority = 0;  // lower value wins
    std::vector<Template> templates;
    std::optional<Mark> mark;
};

// The kernel identifies a policy by (selector, direction, mark).
struct PolicyId {
    Selector selector;
    Direction dir = Direction::out;
    std::optional<Mark> mark;
};

struct PolicyState {
    PolicySpec spec;
    uint32_t index = 0;  // kernel-assigned
    uint32_t owner = 0;  // xfrm_selector.user
    PolicyId id() const { return {spec.selector, spec.dir, spec.mark}; }
};

}  // namespace xfrm
