// What a restarted daemon needs to adopt the previous run's kernel state without a gap
// (restart adoption): per keyed group its carrier slot and the traffic it protects.
// The keys are NOT saved: they stay in the kernel's SAs, and the group's next registration
// brings them back into the daemon. Nothing here is secret.
//
// The file lives next to the control socket (same name, extension ".state", e.g.
// /run/gdoi-member/control.state): a runtime file, gone after a reboot, as the kernel state.
// Format (version 2), one item per line, written atomically (temporary file + rename):
//   gdoi-member dataplane state 2
//   group ID SLOT NAME
//   spis ACTIVE INBOUND...                  (hex; the IPv4 carrier's SAs the kernel must hold)
//   spis6 ACTIVE INBOUND...                 (the same for the IPv6 carrier)
//   selector SRC DST PROTO SPORT DPORT      ("-" for none; ports FIRST-LAST)
//   scope PREFIX
// A group has a spis line, a spis6 line or both (a dual-stack group). Without any spis6 line the
// file is written as version 1 (IPv4 only, what earlier releases read and write), so a
// downgraded daemon still adopts IPv4 groups.
// Neither the file nor its directory may be writable by group or others (it decides which
// kernel SAs a group keeps sending with); it is written with O_EXCL|O_NOFOLLOW and renamed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "dataplane/dataplane_selectors.h"
#include "policy/selector.h"

namespace member {

// The SAs of one family's carrier.
struct SavedPlane {
    uint32_t active = 0;            // SPI of the outbound SA
    std::vector<uint32_t> inbound;  // SPIs of the inbound SAs, ascending

    bool operator==(const SavedPlane&) const = default;
};

struct SavedGroup {
    uint32_t id = 0;
    std::string name;
    unsigned slot = 0;
    std::optional<SavedPlane> ipv4;  // the IPv4 carrier sends (line "spis")
    std::optional<SavedPlane> ipv6;  // the IPv6 carrier sends (line "spis6")
    std::vector<policy::Selector> selectors;
    std::vector<NetPrefix> scope;

    const std::optional<SavedPlane>& plane(common::IpFamily f) const {
        return f == common::IpFamily::ipv6 ? ipv6 : ipv4;
    }
    std::optional<SavedPlane>& plane(common::IpFamily f) { return f == common::IpFamily::ipv6 ? ipv6 : ipv4; }
    bool operator==(const SavedGroup&) const = default;
};

std::string format_saved_state(const std::vector<SavedGroup>& groups);
// Errors name the line and what is wrong.
common::Result<std::vector<SavedGroup>> parse_saved_state(std::string_view text);

// The state file beside a control socket: "/run/x/control.sock" -> "/run/x/control.state".
std::string saved_state_path(const std::string& control_socket);
// nullopt: no file (first start, or flushed).
common::Result<std::optional<std::vector<SavedGroup>>> read_saved_state(const std::string& path);
common::Status write_saved_state(const std::string& path, const std::vector<SavedGroup>& groups);
common::Status remove_saved_state(const std::string& path);

}  // namespace member
