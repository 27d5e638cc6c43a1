// The scope sets of many nested, overlapping policies: no set holds two overlapping elements,
// every distinct element is in exactly one set, and no set is opened without need (first fit).
// Checked against a plain pairwise reference, on policies drawn from a small, nested address space.
#include <catch2/catch.hpp>
#include <random>
#include <set>
#include <string>

#include "policy/compile.h"
#include "test_rules.h"

using namespace policy;

namespace {

bool contains(const Prefix& outer, const Prefix& inner) {
    if (outer.length > inner.length) return false;
    const auto last = outer.last_address();
    return inner.address >= outer.address && inner.address <= last;
}

bool prefixes_overlap(const Prefix& a, const Prefix& b) { return contains(a, b) || contains(b, a); }

bool overlap(const Selector& a, const Selector& b) {
    return prefixes_overlap(*a.source, *b.source) && prefixes_overlap(*a.destination, *b.destination) &&
           (!a.protocol || !b.protocol || *a.protocol == *b.protocol);
}

std::string random_prefix(std::mt19937& rng) {
    const int length = std::uniform_int_distribution<int>(14, 26)(rng);
    const std::uint32_t host = 0x0a000000u | std::uniform_int_distribution<std::uint32_t>(0, 0x3ffff)(rng);
    const std::uint32_t net = host & (0xffffffffu << (32 - length));
    return std::to_string(net >> 24) + "." + std::to_string((net >> 16) & 0xff) + "." +
           std::to_string((net >> 8) & 0xff) + "." + std::to_string(net & 0xff) + "/" +
           std::to_string(length);
}

std::vector<const SetSpec*> scope_sets(const TableSpec& t) {
    std::vector<const SetSpec*> out;
    for (const auto& s : t.sets)
        if (s.kind == SetSpec::Kind::scope && s.family == Family::ipv4) out.push_back(&s);
    return out;
}

}  // namespace

TEST_CASE("nested, overlapping policies split into overlap-free scope sets by first fit") {
    const auto seed = GENERATE(1u, 2u, 3u, 4u);
    std::mt19937 rng(seed);
    auto r = test::member(true);
    r.groups[0].policies.clear();
    std::set<std::string> distinct;
    for (int i = 0; i < 400; ++i) {
        auto s = test::sel(random_prefix(rng).c_str(), random_prefix(rng).c_str());
        if (const int p = std::uniform_int_distribution<int>(0, 3)(rng); p > 0) s.protocol = p == 1 ? 6 : 17;
        r.groups[0].policies.push_back({s});
        distinct.insert(s.to_string());
        distinct.insert(s.mirrored().to_string());
    }
    const auto table = compile(r);
    REQUIRE(table);
    const auto sets = scope_sets(*table);
    REQUIRE(sets.size() > 1);  // the draw does overlap

    std::multiset<std::string> placed;
    for (std::size_t k = 0; k < sets.size(); ++k) {
        const auto& elements = sets[k]->elements;
        for (std::size_t i = 0; i < elements.size(); ++i) {
            placed.insert(elements[i].selector.to_string());
            for (std::size_t j = 0; j < i; ++j) {
                INFO(sets[k]->name << ": " << elements[j].selector.to_string() << " and "
                                   << elements[i].selector.to_string());
                CHECK_FALSE(overlap(elements[j].selector, elements[i].selector));
            }
            // First fit: an element is in set k only because it overlaps every earlier set.
            for (std::size_t earlier = 0; earlier < k; ++earlier) {
                const auto& before = sets[earlier]->elements;
                INFO(elements[i].selector.to_string() << " could have gone into " << sets[earlier]->name);
                CHECK(std::any_of(before.begin(), before.end(), [&](const SetElement& e) {
                    return overlap(e.selector, elements[i].selector);
                }));
            }
        }
    }
    CHECK(placed.size() == distinct.size());
    CHECK(std::set<std::string>(placed.begin(), placed.end()) == distinct);
}
