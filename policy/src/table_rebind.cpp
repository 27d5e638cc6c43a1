#include "table_rebind.h"

#include <map>
#include <type_traits>
#include <variant>

namespace policy::detail {
namespace {

constexpr const char* kAlternate = "_b";

bool is_alternate(const std::string& name) {
    return name.size() > 2 && name.compare(name.size() - 2, 2, kAlternate) == 0;
}

// Everything but the name.
bool same_contents(const SetSpec& a, const SetSpec& b) {
    SetSpec x = a;
    x.name = b.name;
    return x == b;
}

// A fail-open set whose elements alone change (the group got or lost its TEK): refilled in place.
bool refill_only(const SetSpec& held, const SetSpec& s) {
    if (s.kind != SetSpec::Kind::fail_open) return false;
    SetSpec x = held;
    x.name = s.name;
    x.elements = s.elements;
    return x == s;
}

}  // namespace

std::string compiled_set_name(const std::string& kernel_name) {
    return is_alternate(kernel_name) ? kernel_name.substr(0, kernel_name.size() - 2) : kernel_name;
}

std::optional<Rebinding> rebind(const TableSpec& previous, const TableSpec& compiled) {
    if (previous.name != compiled.name) return std::nullopt;
    for (const auto& c : compiled.chains)
        if (const auto* old = previous.find_chain(c.name); old && old->base != c.base) return std::nullopt;

    std::map<std::string, const SetSpec*> held;  // compiled name -> the previous table's set
    for (const auto& s : previous.sets) held[compiled_set_name(s.name)] = &s;

    Rebinding r;
    r.table = compiled;
    std::map<std::string, std::string> kernel_name;  // compiled -> kernel
    std::vector<bool> created(r.table.sets.size(), false);
    for (std::size_t i = 0; i < r.table.sets.size(); ++i) {
        auto& s = r.table.sets[i];
        const auto it = held.find(s.name);
        std::string name = s.name;
        if (it != held.end()) {
            if (same_contents(*it->second, s)) {
                name = it->second->name;
            } else if (refill_only(*it->second, s)) {
                name = it->second->name;
                r.refilled_sets.push_back(i);
            } else {
                name = is_alternate(it->second->name) ? s.name : s.name + kAlternate;
            }
        }
        created[i] = it == held.end() || name != it->second->name;
        kernel_name[s.name] = name;
        s.name = name;
    }
    for (std::size_t i = 0; i < r.table.sets.size(); ++i)
        if (created[i]) r.new_sets.push_back(i);
    for (const auto& s : previous.sets)
        if (!r.table.find_set(s.name)) r.unused_sets.push_back(s.name);

    const auto rename = [&](std::string& set) {
        if (const auto it = kernel_name.find(set); it != kernel_name.end()) set = it->second;
    };
    for (auto& c : r.table.chains)
        for (auto& rule : c.rules)
            for (auto& m : rule.matches)
                std::visit(
                    [&](auto& match) {
                        using T = std::decay_t<decltype(match)>;
                        if constexpr (std::is_same_v<T, MatchIfnameSet> ||
                                      std::is_same_v<T, MatchFailOpenSet> || std::is_same_v<T, MatchScopeSet>)
                            rename(match.set);
                    },
                    m);
    return r;
}

}  // namespace policy::detail
