// gdoictl show policy lines (see policy_view.h).
#include "daemon/policy_view.h"

namespace member {

std::vector<PolicyStatus> policy_status(const GroupRules& group) {
    const policy::RuleSet& r = group.rules;
    std::vector<PolicyStatus> out;
    for (const auto& s : group.own_traffic)
        out.push_back(
            {"own", s.to_string() + " (and replies)", "clear: the member's IKE/GDOI, in every state"});
    for (const auto& e : r.exclude) out.push_back({"exclude", e.selector.to_string(), "clear"});
    if (group.registered)
        for (const auto& p : r.policies)
            out.push_back({"group", p.selector.to_string(),
                           r.has_valid_tek ? "encrypt" : "encrypt (no valid TEK: dropped)"});
    for (const auto& f : r.fail_open)
        out.push_back({"fail-open", f.selector.to_string(), "clear while no TEK"});
    for (const auto& p : r.fail_closed_scope()) out.push_back({"fail-closed", p.to_string(), "drop"});
    return out;
}

}  // namespace member
