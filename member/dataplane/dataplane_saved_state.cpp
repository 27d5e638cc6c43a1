// Saved dataplane state for restart adoption (see dataplane_saved_state.h).
#include "dataplane/dataplane_saved_state.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <sstream>
#include <utility>

#include "common/hex_spi.h"
#include "gdoi/private_file.h"

namespace member {
namespace {

constexpr std::string_view kHeader = "gdoi-member dataplane state 2";
constexpr std::string_view kHeaderV1 = "gdoi-member dataplane state 1";  // IPv4 only
constexpr std::size_t kMaxFileSize = 1 << 20;

std::string port_text(const std::optional<policy::PortRange>& p) {
    return p ? std::to_string(p->first) + "-" + std::to_string(p->last) : "-";
}

template <typename T>
bool parse_number(std::string_view s, T& out, int base = 10) {
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out, base);
    return !s.empty() && ec == std::errc() && end == s.data() + s.size();
}

common::Result<std::optional<policy::Prefix>> parse_prefix_field(std::string_view s) {
    if (s == "-") return std::optional<policy::Prefix>{};
    auto p = policy::Prefix::parse(s);
    if (!p) return p.error();
    return std::optional<policy::Prefix>(*p);
}

common::Result<std::optional<policy::PortRange>> parse_port_field(std::string_view s) {
    if (s == "-") return std::optional<policy::PortRange>{};
    const auto dash = s.find('-');
    policy::PortRange r;
    if (dash == std::string_view::npos || !parse_number(s.substr(0, dash), r.first) ||
        !parse_number(s.substr(dash + 1), r.last) || r.first > r.last)
        return common::make_error("bad port range '" + std::string(s) + "'");
    return std::optional<policy::PortRange>(r);
}

common::Result<policy::Selector> parse_selector(std::istringstream& in) {
    std::string f[5];
    for (auto& x : f)
        if (!(in >> x)) return common::make_error("selector needs 5 fields");
    policy::Selector s;
    auto src = parse_prefix_field(f[0]);
    auto dst = parse_prefix_field(f[1]);
    if (!src) return src.error();
    if (!dst) return dst.error();
    s.source = *src;
    s.destination = *dst;
    if (f[2] != "-") {
        uint8_t proto = 0;
        if (!parse_number(f[2], proto)) return common::make_error("bad protocol '" + f[2] + "'");
        s.protocol = proto;
    }
    auto sport = parse_port_field(f[3]);
    auto dport = parse_port_field(f[4]);
    if (!sport) return sport.error();
    if (!dport) return dport.error();
    s.source_port = *sport;
    s.destination_port = *dport;
    return s;
}

}  // namespace

std::string format_saved_state(const std::vector<SavedGroup>& groups) {
    // Version 1 while no group has an IPv6 carrier: a downgraded daemon still adopts them.
    const bool ipv6 =
        std::any_of(groups.begin(), groups.end(), [](const SavedGroup& g) { return g.ipv6.has_value(); });
    std::string out = std::string(ipv6 ? kHeader : kHeaderV1) + "\n";
    for (const auto& g : groups) {
        out += "group " + std::to_string(g.id) + " " + std::to_string(g.slot) + " " + g.name + "\n";
        for (const auto family : {common::IpFamily::ipv4, common::IpFamily::ipv6}) {
            const auto& plane = g.plane(family);
            if (!plane) continue;
            out += std::string(family == common::IpFamily::ipv6 ? "spis6 " : "spis ") +
                   common::hex_spi(plane->active);
            for (uint32_t spi : plane->inbound) out += " " + common::hex_spi(spi);
            out += "\n";
        }
        for (const auto& s : g.selectors)
            out += "selector " + (s.source ? s.source->to_string() : "-") + " " +
                   (s.destination ? s.destination->to_string() : "-") + " " +
                   (s.protocol ? std::to_string(*s.protocol) : "-") + " " + port_text(s.source_port) + " " +
                   port_text(s.destination_port) + "\n";
        for (const auto& p : g.scope) out += "scope " + p.to_string() + "\n";
    }
    return out;
}

common::Result<std::vector<SavedGroup>> parse_saved_state(std::string_view text) {
    std::vector<SavedGroup> groups;
    std::istringstream lines{std::string(text)};
    std::string line;
    std::size_t number = 0;
    bool version1 = false;
    auto fail = [&](const std::string& what) {
        return common::make_error("line " + std::to_string(number) + ": " + what);
    };
    while (std::getline(lines, line)) {
        ++number;
        if (number == 1) {
            if (line != kHeader && line != kHeaderV1)
                return fail("not a gdoi-member dataplane state (version 1 or 2)");
            version1 = line == kHeaderV1;
            continue;
        }
        std::istringstream in(line);
        std::string kind;
        in >> kind;
        if (kind == "group") {
            SavedGroup g;
            std::string id, slot;
            if (!(in >> id >> slot) || !parse_number(id, g.id) || !parse_number(slot, g.slot))
                return fail("group needs ID SLOT NAME");
            std::getline(in >> std::ws, g.name);
            if (g.name.empty()) return fail("group without a name");
            groups.push_back(std::move(g));
        } else if (kind == "selector" || kind == "scope" || kind == "spis" || kind == "spis6") {
            if (groups.empty()) return fail(kind + " before any group");
            if (kind == "spis" || kind == "spis6") {
                const auto family = kind == "spis6" ? common::IpFamily::ipv6 : common::IpFamily::ipv4;
                if (family == common::IpFamily::ipv6 && version1) return fail("spis6 in a version 1 state");
                if (groups.back().plane(family)) return fail("a second " + kind + " line for the group");
                std::string spi;
                SavedPlane plane;
                bool first = true;
                for (; in >> spi; first = false) {
                    uint32_t v = 0;
                    if (spi.rfind("0x", 0) != 0 || !parse_number(std::string_view(spi).substr(2), v, 16))
                        return fail("bad SPI '" + spi + "'");
                    (first ? plane.active : plane.inbound.emplace_back()) = v;
                }
                if (first) return fail(kind + " without an SPI");
                std::sort(plane.inbound.begin(), plane.inbound.end());
                groups.back().plane(family) = std::move(plane);
            } else if (kind == "selector") {
                auto s = parse_selector(in);
                if (!s) return fail(s.error().message);
                groups.back().selectors.push_back(*s);
            } else {
                std::string p;
                in >> p;
                auto v = NetPrefix::parse(p);
                if (!v) return fail(v.error().message);
                groups.back().scope.push_back(*v);
            }
        } else {
            return fail("unknown item '" + kind + "'");
        }
    }
    if (number == 0) return common::make_error("empty state file");
    return groups;
}

std::string saved_state_path(const std::string& control_socket) {
    const auto slash = control_socket.rfind('/');
    const auto dot = control_socket.rfind('.');
    const bool has_ext = dot != std::string::npos && (slash == std::string::npos || dot > slash + 1);
    return (has_ext ? control_socket.substr(0, dot) : control_socket) + ".state";
}

common::Result<std::optional<std::vector<SavedGroup>>> read_saved_state(const std::string& path) {
    // Who could have written it: the file (root's or the daemon's user's, gdoi/private_file.h)
    // and its directory must not be writable by group or others.
    struct stat probe {};
    if (::lstat(path.c_str(), &probe) != 0 && errno == ENOENT)
        return std::optional<std::vector<SavedGroup>>{};
    auto file =
        gdoi::read_private_file(path, {"the restart-adoption state", kMaxFileSize, S_IWGRP | S_IWOTH});
    if (!file) return common::make_error(file.error().message + ": ignored", file.error().code);
    struct stat dir {};
    const auto slash = path.rfind('/');
    const std::string parent = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
    if (::stat(parent.c_str(), &dir) != 0 || (dir.st_mode & 022) != 0)
        return common::make_error("the directory of " + path + " is writable by group or others: " + path +
                                  " ignored; run chmod go-w " + parent);
    const auto& text = file->content;
    auto parsed =
        parse_saved_state(std::string_view(reinterpret_cast<const char*>(text.data()), text.size()));
    if (!parsed) return common::make_error(path + ": " + parsed.error().message);
    return std::optional<std::vector<SavedGroup>>(std::move(*parsed));
}

common::Status write_saved_state(const std::string& path, const std::vector<SavedGroup>& groups) {
    const std::string tmp = path + ".tmp";
    const std::string text = format_saved_state(groups);
    ::unlink(tmp.c_str());  // a leftover (or someone's symlink) is never followed or reused
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
    if (fd < 0) return common::make_error("cannot write " + tmp + ": " + std::strerror(errno), errno);
    const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    const int saved_errno = errno;
    const bool closed = ::close(fd) == 0;
    if (!written || !closed || ::rename(tmp.c_str(), path.c_str()) != 0) {
        const int e = !written ? saved_errno : errno;
        ::unlink(tmp.c_str());
        return common::make_error("cannot write " + path + ": " + std::strerror(e), e);
    }
    return {};
}

common::Status remove_saved_state(const std::string& path) {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
        return common::make_error("cannot remove " + path + ": " + std::strerror(errno), errno);
    return {};
}

}  // namespace member
