// Rule edits of an in-place replacement: played on a model of the kernel's chains (handles in
// order), they must give exactly the new table's rules, and a keyed flip must write only the
// rules that differ, never the whole table.
#include "table_diff.h"

#include <catch2/catch.hpp>

#include "policy/compile.h"
#include "table_rebind.h"
#include "test_rules.h"

using namespace policy;
using policy::detail::diff_rules;
using policy::detail::RuleEdit;
using policy::detail::RuleHandles;
using policy::detail::TableEdits;

namespace {

// The kernel's view: per chain, (handle, rule text) in order.
using Held = std::map<std::string, std::vector<std::pair<std::uint64_t, std::string>>>;

struct Kernel {
    Held chains;
    std::uint64_t next_handle = 1;
    std::vector<std::uint64_t> written;  // the handles of the last play's new rules, in order

    explicit Kernel(const TableSpec& t) {
        for (const auto& c : t.chains) {
            auto& rules = chains[c.name];
            for (const auto& r : c.rules) rules.emplace_back(next_handle++, r.to_string());
        }
    }
    RuleHandles handles() const {
        RuleHandles h;
        for (const auto& [chain, rules] : chains) {
            auto& in_chain = h[chain];
            for (const auto& r : rules) in_chain.push_back(r.first);
        }
        return h;
    }
    // NEWRULE / DELRULE as nf_tables does them (nf_tables_newrule, nf_tables_delrule).
    void play(const TableEdits& e) {
        written.clear();
        const auto fresh = [&] {
            written.push_back(next_handle);
            return next_handle++;
        };
        for (const auto* c : e.new_chains) chains[c->name];
        for (const auto& edit : e.rules) {
            auto& rules = chains.at(edit.chain);
            const auto at = std::find_if(rules.begin(), rules.end(),
                                         [&](const auto& r) { return r.first == edit.handle; });
            switch (edit.kind) {
                case RuleEdit::Kind::remove:
                    REQUIRE(at != rules.end());
                    rules.erase(at);
                    break;
                case RuleEdit::Kind::replace:
                    REQUIRE(at != rules.end());
                    at->second = edit.rule->to_string();
                    break;
                case RuleEdit::Kind::insert_before:
                    REQUIRE(at != rules.end());
                    rules.insert(at, {fresh(), edit.rule->to_string()});
                    break;
                case RuleEdit::Kind::append:
                    rules.emplace_back(fresh(), edit.rule->to_string());
                    break;
            }
        }
        for (const auto* c : e.new_chains)
            for (const auto& r : c->rules) chains[c->name].emplace_back(fresh(), r.to_string());
        for (const auto& name : e.removed_chains) chains.erase(name);
    }
    bool holds(const TableSpec& t) const {
        Held want;
        for (const auto& c : t.chains) {
            auto& rules = want[c.name];
            for (const auto& r : c.rules) rules.emplace_back(0, r.to_string());
        }
        if (want.size() != chains.size()) return false;
        for (const auto& [chain, rules] : want) {
            const auto it = chains.find(chain);
            if (it == chains.end() || it->second.size() != rules.size()) return false;
            for (std::size_t i = 0; i < rules.size(); ++i)
                if (it->second[i].second != rules[i].second) return false;
        }
        return true;
    }
};

// A group before its registration: no TEK, its LAN scope as the policy (member/dataplane).
MemberRules unkeyed() {
    auto r = test::member(false);
    r.groups[0].policies = {{test::sel("10.1.0.0/16", nullptr)}};
    return r;
}

// Rebinds `next` onto what `kernel` holds (as apply() does), diffs, plays the edits.
TableEdits replace(Kernel& kernel, TableSpec& held, const MemberRules& next) {
    auto r = detail::rebind(held, *compile(next));
    REQUIRE(r);
    const auto before = kernel.handles();
    auto edits = diff_rules(held, before, r->table);
    REQUIRE(edits);
    kernel.play(*edits);
    held = std::move(r->table);  // moved, not copied: the edits point into its rules
    CHECK(kernel.holds(held));
    // What apply() keeps for the next replacement: the kernel's handles, from the echoed ones.
    CHECK(detail::play(before, *edits, kernel.written) == kernel.handles());
    return *edits;
}

}  // namespace

TEST_CASE("table edits: the same table again is no edit") {
    const auto t = *compile(test::member(true));
    Kernel k(t);
    const auto e = diff_rules(t, k.handles(), t);
    REQUIRE(e);
    CHECK(e->rules.empty());
    CHECK(e->new_chains.empty());
    CHECK(e->removed_chains.empty());
    CHECK(e->rules_written() == 0);
}

TEST_CASE("table edits: the keyed flip and back write a handful of rules, not the table") {
    auto held = *compile(unkeyed());
    Kernel k(held);
    const auto total = held.rule_count();
    REQUIRE(total > 40);

    // Registration: new selectors (a new scope set), the group's verdicts, its carrier rules.
    const auto flip = replace(k, held, test::member(true));
    INFO("rules written at the flip: " << flip.rules_written() << " of " << held.rule_count());
    CHECK(flip.rules_written() <= 12);
    CHECK(flip.rules_written() * 4 < held.rule_count());
    // The rules bound to the scope set are rebound to its new name, the others stay.
    for (const auto& e : flip.rules)
        if (e.kind == RuleEdit::Kind::replace) CHECK(e.rule->group_id == 1);

    // The TEK lost: keyed -> unkeyed, the same few rules back.
    const auto back = replace(k, held, test::member(false));
    CHECK(back.rules_written() <= 12);
    CHECK(back.rules_written() * 4 < total);

    // A rekey with new selectors: only the rules of the changed policy's scope set.
    auto more = test::member(true);
    more.groups[0].policies.push_back({test::sel("10.1.0.0/16", "10.3.0.0/16")});
    replace(k, held, test::member(true));
    const auto rekey = replace(k, held, more);
    CHECK(rekey.rules_written() <= 8);
}

TEST_CASE("table edits: policies with ports add and remove rules in their places") {
    auto held = *compile(test::member(true));
    Kernel k(held);
    auto ported = test::member(true);
    auto p = test::sel("10.1.0.0/16", "10.4.0.0/16");
    p.protocol = 6;
    p.destination_port = PortRange::single(443);
    ported.groups[0].policies.push_back({p});
    const auto added = replace(k, held, ported);
    CHECK(std::any_of(added.rules.begin(), added.rules.end(),
                      [](const RuleEdit& e) { return e.kind == RuleEdit::Kind::insert_before; }));
    const auto removed = replace(k, held, test::member(true));
    CHECK(std::any_of(removed.rules.begin(), removed.rules.end(),
                      [](const RuleEdit& e) { return e.kind == RuleEdit::Kind::remove; }));

    // A second group, then none: rules appear and go in every chain the groups share.
    auto two = test::member(true);
    auto g2 = two.groups[0];
    g2.group_id = 2;
    g2.group_name = "G2";
    g2.policies = {{test::sel("10.1.0.0/16", "10.7.0.0/16")}};
    two.groups.push_back(g2);
    replace(k, held, two);
    replace(k, held, test::member(false));
}

TEST_CASE("table edits: chains that come and go; handles that do not describe the table") {
    const auto t = *compile(test::member(true));
    auto fewer = t;
    fewer.chains.pop_back();
    Kernel k(fewer);
    const auto grown = diff_rules(fewer, k.handles(), t);
    REQUIRE(grown);
    REQUIRE(grown->new_chains.size() == 1);
    CHECK(grown->new_chains[0]->name == t.chains.back().name);
    CHECK(grown->rules_written() == t.chains.back().rules.size());
    const auto before = k.handles();
    k.play(*grown);
    CHECK(k.holds(t));
    CHECK(detail::play(before, *grown, k.written) == k.handles());
    auto short_of_one = k.written;
    short_of_one.pop_back();
    CHECK_FALSE(detail::play(before, *grown, short_of_one));

    Kernel full(t);
    const auto shrunk = diff_rules(t, full.handles(), fewer);
    REQUIRE(shrunk);
    CHECK(shrunk->removed_chains == std::vector<std::string>{t.chains.back().name});
    full.play(*shrunk);
    CHECK(full.holds(fewer));

    auto handles = full.handles();
    handles.at(kChainClassify).pop_back();
    CHECK_FALSE(diff_rules(fewer, handles, t));
}
