// In-place replacement plan: which sets are created, which keep their kernel name, which go, and
// that the rules look up the kernel names while their comments keep the compiled ones.
#include "table_rebind.h"

#include <catch2/catch.hpp>

#include "policy/compile.h"
#include "test_rules.h"

using namespace policy;
using policy::detail::rebind;

namespace {

std::vector<std::string> set_names(const TableSpec& t) {
    std::vector<std::string> out;
    for (const auto& s : t.sets) out.push_back(s.name);
    return out;
}

bool rules_look_up(const TableSpec& t, const std::string& set) {
    for (const auto& c : t.chains)
        for (const auto& r : c.rules)
            for (const auto& m : r.matches)
                if (const auto* s = std::get_if<MatchScopeSet>(&m); s && s->set == set) return true;
    return false;
}

}  // namespace

TEST_CASE("in place: unchanged sets stay, a changed set alternates NAME / NAME_b, the old one goes") {
    auto rules = test::member(false);
    const auto first = *compile(rules);

    const auto same = rebind(first, first);
    REQUIRE(same);
    CHECK(same->new_sets.empty());
    CHECK(same->unused_sets.empty());
    CHECK(set_names(same->table) == set_names(first));

    rules.groups[0].policies.push_back({test::sel("10.1.0.0/16", "10.3.0.0/16")});
    const auto second = rebind(first, *compile(rules));
    REQUIRE(second);
    REQUIRE(second->new_sets.size() == 1);
    CHECK(second->table.sets[second->new_sets[0]].name == "scope4_1_b");
    CHECK(second->unused_sets == std::vector<std::string>{"scope4_1"});
    CHECK(rules_look_up(second->table, "scope4_1_b"));
    CHECK_FALSE(rules_look_up(second->table, "scope4_1"));
    // Comments keep the compiled name: counters and operators find the rules as before.
    const auto* outbound = second->table.find_chain(kChainOutbound);
    REQUIRE(outbound != nullptr);
    CHECK(std::any_of(outbound->rules.begin(), outbound->rules.end(), [](const RuleSpec& r) {
        return r.comment == "fail-closed GROUP_ID-0001 policies @scope4_1";
    }));

    rules.groups[0].policies.pop_back();
    const auto third = rebind(second->table, *compile(rules));
    REQUIRE(third);
    REQUIRE(third->new_sets.size() == 1);
    CHECK(third->table.sets[third->new_sets[0]].name == "scope4_1");
    CHECK(third->unused_sets == std::vector<std::string>{"scope4_1_b"});
}

TEST_CASE(
    "in place: a set the new table no longer has goes; a chain that changes its hook needs the bridge") {
    auto rules = test::member(false);
    const auto with_fail_open = *compile(rules);
    rules.groups[0].fail_open.clear();
    const auto r = rebind(with_fail_open, *compile(rules));
    REQUIRE(r);
    for (const auto& s : with_fail_open.sets)
        if (s.kind == SetSpec::Kind::fail_open)
            CHECK(std::find(r->unused_sets.begin(), r->unused_sets.end(), s.name) != r->unused_sets.end());

    auto moved = with_fail_open;
    for (auto& c : moved.chains)
        if (c.base) c.base->priority += 1;
    CHECK_FALSE(rebind(with_fail_open, moved));
    auto renamed = with_fail_open;
    renamed.name = "other";
    CHECK_FALSE(rebind(with_fail_open, renamed));
}

TEST_CASE("in place: a fail-open set whose elements alone change is refilled under its name") {
    const auto unkeyed = *compile(test::member(false));
    const auto keyed = rebind(unkeyed, *compile(test::member(true)));
    REQUIRE(keyed);
    REQUIRE(keyed->refilled_sets.size() == 1);
    const auto& refilled = keyed->table.sets[keyed->refilled_sets[0]];
    CHECK(refilled.name == "failopen4_1");
    CHECK(refilled.elements.empty());
    for (const auto i : keyed->new_sets) CHECK(keyed->table.sets[i].kind != SetSpec::Kind::fail_open);

    const auto back = rebind(keyed->table, *compile(test::member(false)));
    REQUIRE(back);
    REQUIRE(back->refilled_sets.size() == 1);
    CHECK(back->table.sets[back->refilled_sets[0]].elements.size() == 1);

    // A scope set is never refilled (a gap in it would let traffic past fail-closed): renamed.
    auto rules = test::member(true);
    rules.groups[0].policies.push_back({test::sel("10.1.0.0/16", "10.3.0.0/16")});
    const auto scope = rebind(keyed->table, *compile(rules));
    REQUIRE(scope);
    CHECK(scope->refilled_sets.empty());
    REQUIRE(scope->new_sets.size() == 1);
    CHECK(scope->table.sets[scope->new_sets[0]].kind == SetSpec::Kind::scope);
    // A fail-open set whose rules change (not only what it holds now) is a new set too.
    rules.groups[0].fail_open.push_back({test::sel("10.1.0.0/16", "10.2.6.0/24")});
    const auto more = rebind(keyed->table, *compile(rules));
    REQUIRE(more);
    CHECK(more->refilled_sets.empty());
}

TEST_CASE("in place: an anti-replay window that moved replaces the check rules only, no set") {
    auto rules = test::member(true);
    rules.groups[0].replay = ReplayCheck{{0x1000}, {{1000, 1999}}};
    const auto first = *compile(rules);
    rules.groups[0].replay->accepted = {{0, 99}, {4000000000u, 0xffffffffu}};
    const auto moved = rebind(first, *compile(rules));
    REQUIRE(moved);
    CHECK(moved->new_sets.empty());
    CHECK(moved->refilled_sets.empty());
    CHECK(moved->unused_sets.empty());
}
