// Validation of the rule model: limits and consistency, with messages an operator can act on.
#include "policy/rules.h"

#include <set>

namespace policy {
namespace {

std::string group_label(const RuleSet& g) {
    return "group " + (g.group_name.empty() ? std::to_string(g.group_id)
                                            : g.group_name + " (id " + std::to_string(g.group_id) + ")");
}

bool valid_ifname(const std::string& name) {
    // IFNAMSIZ is 16 including the terminating NUL (linux/if.h).
    return !name.empty() && name.size() < 16 && name.find('/') == std::string::npos &&
           name.find(' ') == std::string::npos;
}

}  // namespace

std::vector<Selector> RuleSet::fail_closed_scope() const {
    std::vector<Selector> scope;
    for (const auto& p : policies) scope.push_back(p.selector);
    return scope;
}

const RuleSet* MemberRules::find_group(std::uint32_t group_id) const {
    for (const auto& g : groups)
        if (g.group_id == group_id) return &g;
    return nullptr;
}

common::Status validate(const RuleSet& g) {
    const auto label = group_label(g);
    if (g.group_id == 0) return common::make_error("group id must be 1..4294967295 (got 0)");
    if (g.exclude.size() > kMaxExcludeRules)
        return common::make_error(label + ": " + std::to_string(g.exclude.size()) +
                                  " exclude rules, at most " + std::to_string(kMaxExcludeRules) +
                                  " are allowed");
    if (g.fail_open.size() > kMaxFailOpenRules)
        return common::make_error(label + ": " + std::to_string(g.fail_open.size()) +
                                  " fail-open rules, at most " + std::to_string(kMaxFailOpenRules) +
                                  " are allowed");
    const auto check = [&](const char* what, std::size_t i, const Selector& s) -> common::Status {
        if (auto st = s.validate(); !st)
            return common::make_error(label + ": " + what + " " + std::to_string(i + 1) + ": " +
                                      st.error().message);
        return {};
    };
    for (std::size_t i = 0; i < g.exclude.size(); ++i)
        if (auto st = check("exclude rule", i, g.exclude[i].selector); !st) return st;
    for (std::size_t i = 0; i < g.policies.size(); ++i)
        if (auto st = check("group policy", i, g.policies[i].selector); !st) return st;
    for (std::size_t i = 0; i < g.fail_open.size(); ++i)
        if (auto st = check("fail-open rule", i, g.fail_open[i].selector); !st) return st;
    if (g.replay) {
        // An empty window would drop every packet of the SPIs; overlapping ranges are refused by
        // the kernel's interval set.
        if (g.replay->accepted.empty() || g.replay->accepted.size() > 2)
            return common::make_error(label + ": the anti-replay window needs 1 or 2 sequence ranges");
        for (const auto& r : g.replay->accepted)
            if (r.first > r.last)
                return common::make_error(label + ": anti-replay sequence range starts after its end");
        if (g.replay->accepted.size() == 2) {
            const auto& a = g.replay->accepted[0];
            const auto& b = g.replay->accepted[1];
            if (!(a.last < b.first || b.last < a.first))
                return common::make_error(label + ": anti-replay sequence ranges overlap");
        }
    }
    return {};
}

common::Status validate(const MemberRules& r) {
    if (r.table_name.empty() || r.table_name.size() > 255)
        return common::make_error("nftables table name must be 1..255 characters");
    if (!valid_ifname(r.wan_ifname))
        return common::make_error("WAN interface name '" + r.wan_ifname +
                                  "' is not a valid interface name (1-15 characters)");
    if (!valid_ifname(r.carrier.ifname))
        return common::make_error("carrier interface name '" + r.carrier.ifname +
                                  "' is not a valid interface name");
    if (r.lan_ifnames.empty())
        return common::make_error(
            "no LAN interface: give at least one protected-side interface (lan-interfaces)");
    for (const auto& lan : r.lan_ifnames) {
        if (!valid_ifname(lan))
            return common::make_error("LAN interface name '" + lan +
                                      "' is not a valid interface name (1-15 characters)");
        if (lan == r.wan_ifname)
            return common::make_error("interface '" + lan + "' is both the WAN and a LAN interface");
    }
    if (r.clear_mark == 0)
        return common::make_error("the clear-traffic fwmark must be non-zero (0 is every unmarked packet)");
    if (r.carrier.g_in == r.carrier.g_out)
        return common::make_error("carrier pseudo addresses G_IN and G_OUT must differ (both " +
                                  r.carrier.g_in.to_string() + ")");
    if (const auto& v6 = r.carrier.ipv6) {
        if (v6->g_in.family != common::IpFamily::ipv6 || v6->g_out.family != common::IpFamily::ipv6)
            return common::make_error("IPv6 carrier pseudo addresses must be IPv6 (G_IN6 " +
                                      v6->g_in.to_string() + ", G_OUT6 " + v6->g_out.to_string() + ")");
        if (v6->g_in == v6->g_out)
            return common::make_error("IPv6 carrier pseudo addresses G_IN6 and G_OUT6 must differ (both " +
                                      v6->g_in.to_string() + ")");
        if (v6->peers && v6->peers->family != Family::ipv6)
            return common::make_error("IPv6 carrier peers " + v6->peers->to_string() +
                                      " is not an IPv6 prefix");
    }
    for (const auto& p : r.local_scope)
        if (p.family == Family::any)
            return common::make_error("local protected scope " + p.to_string() + ": no address family");
    std::set<std::uint32_t> ids;
    for (const auto& g : r.groups) {
        if (!ids.insert(g.group_id).second)
            return common::make_error("group id " + std::to_string(g.group_id) + " appears twice");
        if (auto st = validate(g); !st) return st;
        if (g.carrier6_peer && (!r.carrier.ipv6 || g.carrier6_peer->family != common::IpFamily::ipv6))
            return common::make_error(group_label(g) + ": IPv6 carrier peer " + g.carrier6_peer->to_string() +
                                      " without an IPv6 carrier (carrier.ipv6) or not an IPv6 address");
    }
    return {};
}

}  // namespace policy
