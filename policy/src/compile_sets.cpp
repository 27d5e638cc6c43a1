// Scope and fail-open sets of a group, partitioned into overlap-free sets.
#include "compile_sets.h"

#include "overlap_partition.h"
#include "policy/compile.h"

namespace policy::detail {
namespace {

SetElement element(const Selector& s, Family family, std::string comment) {
    SetElement e;
    e.selector = s;
    // Wildcards become full ranges: an interval set element needs every field.
    if (!e.selector.source) e.selector.source = Prefix::any(family);
    if (!e.selector.destination) e.selector.destination = Prefix::any(family);
    e.comment = std::move(comment);
    return e;
}

bool in_family(const Selector& s, Family family) { return s.family() == Family::any || s.family() == family; }

void add_partitions(std::vector<SetSpec>& out, SetSpec::Kind kind, const std::string& base, Family family,
                    const RuleSet& g, const std::vector<SetElement>& elements) {
    const auto parts = partition_overlap_free(elements);
    for (std::size_t i = 0; i < parts.size(); ++i) {
        SetSpec s;
        s.kind = kind;
        s.name = i == 0 ? base : base + "_" + std::to_string(i + 1);
        s.family = family;
        s.group_id = g.group_id;
        if (kind == SetSpec::Kind::fail_open) {
            s.available = parts[i];
            // Filled only while the group has no valid TEK (rule 3 of the priority order).
            if (!g.has_valid_tek) s.elements = parts[i];
        } else {
            s.elements = parts[i];
        }
        out.push_back(std::move(s));
    }
}

}  // namespace

std::string group_label(const RuleSet& g) {
    return g.group_name.empty() ? "group " + std::to_string(g.group_id) : g.group_name;
}

bool has_ports(const Selector& s) { return s.source_port || s.destination_port; }

std::vector<Selector> both_directions(const Selector& s) {
    std::vector<Selector> out{s};
    if (const auto m = s.mirrored(); !(m == s)) out.push_back(m);
    return out;
}

std::vector<SetSpec> group_sets(const RuleSet& g, bool with_scope) {
    std::vector<SetSpec> out;
    for (const auto family : {Family::ipv4, Family::ipv6}) {
        std::vector<SetElement> scope;
        const auto policies = with_scope ? g.fail_closed_scope() : std::vector<Selector>{};
        for (std::size_t i = 0; i < policies.size(); ++i) {
            if (has_ports(policies[i]) || !in_family(policies[i], family)) continue;
            for (const auto& dir : both_directions(policies[i]))
                scope.push_back(
                    element(dir, family,
                            group_label(g) + " policy " + std::to_string(i + 1) + ": " + dir.to_string()));
        }
        if (with_scope)
            add_partitions(out, SetSpec::Kind::scope, scope_set_name(g.group_id, family), family, g, scope);

        std::vector<SetElement> open;
        for (std::size_t i = 0; i < g.fail_open.size(); ++i) {
            const auto& s = g.fail_open[i].selector;
            if (!in_family(s, family)) continue;
            open.push_back(element(
                s, family,
                "fail-open " + std::to_string(i + 1) + " of " + group_label(g) + ": " + s.to_string()));
        }
        add_partitions(out, SetSpec::Kind::fail_open, fail_open_set_name(g.group_id, family), family, g,
                       open);
    }
    return out;
}

}  // namespace policy::detail
