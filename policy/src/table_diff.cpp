// Rule edits by chain: the longest common subsequence of the old and new rules (compared by
// their nft text, set names included) stays; between two rules that stay, old rules are replaced
// by new ones in order, and what is left over is removed or inserted before the next rule that
// stays (appended at the end of the chain).
#include "table_diff.h"

#include <algorithm>

namespace policy::detail {
namespace {

struct ChainDiff {
    const std::string& chain;
    const std::vector<std::uint64_t>& handles;
    const std::vector<RuleSpec>& rules;
    std::vector<RuleEdit>& out;

    // The old rules `gone` and the new rules `come` lie between the same two rules that stay;
    // `anchor` is the handle of the one after them (nullopt: the chain's end).
    void segment(const std::vector<std::size_t>& gone, const std::vector<std::size_t>& come,
                 std::optional<std::uint64_t> anchor) const {
        const std::size_t replaced = std::min(gone.size(), come.size());
        for (std::size_t k = 0; k < replaced; ++k)
            out.push_back({RuleEdit::Kind::replace, chain, handles[gone[k]], &rules[come[k]], come[k]});
        for (std::size_t k = replaced; k < gone.size(); ++k)
            out.push_back({RuleEdit::Kind::remove, chain, handles[gone[k]], nullptr, 0});
        for (std::size_t k = replaced; k < come.size(); ++k)
            out.push_back({anchor ? RuleEdit::Kind::insert_before : RuleEdit::Kind::append, chain,
                           anchor.value_or(0), &rules[come[k]], come[k]});
    }
};

void diff_chain(const ChainSpec& old, const std::vector<std::uint64_t>& handles, const ChainSpec& next,
                std::vector<RuleEdit>& out) {
    std::vector<std::string> a, b;
    for (const auto& r : old.rules) a.push_back(r.to_string());
    for (const auto& r : next.rules) b.push_back(r.to_string());
    const std::size_t n = a.size(), m = b.size();
    // lcs[i][j]: the longest common subsequence of a[i..] and b[j..].
    std::vector<std::vector<std::size_t>> lcs(n + 1, std::vector<std::size_t>(m + 1, 0));
    for (std::size_t i = n; i-- > 0;)
        for (std::size_t j = m; j-- > 0;)
            lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
    const ChainDiff d{next.name, handles, next.rules, out};
    std::vector<std::size_t> gone, come;
    std::size_t i = 0, j = 0;
    while (i < n || j < m) {
        if (i < n && j < m && a[i] == b[j] && lcs[i][j] == lcs[i + 1][j + 1] + 1) {
            d.segment(gone, come, handles[i]);
            gone.clear();
            come.clear();
            ++i;
            ++j;
        } else if (j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j])) {
            come.push_back(j++);
        } else {
            gone.push_back(i++);
        }
    }
    d.segment(gone, come, std::nullopt);
}

}  // namespace

std::size_t TableEdits::rules_written() const {
    std::size_t n = 0;
    for (const auto& e : rules) n += e.kind != RuleEdit::Kind::remove;
    for (const auto* c : new_chains) n += c->rules.size();
    return n;
}

std::optional<RuleHandles> play(RuleHandles handles, const TableEdits& edits,
                                const std::vector<std::uint64_t>& written) {
    std::size_t next = 0;
    const auto take = [&]() -> std::optional<std::uint64_t> {
        if (next >= written.size()) return std::nullopt;
        return written[next++];
    };
    for (const auto& e : edits.rules) {
        auto& chain = handles[e.chain];
        const auto at = std::find(chain.begin(), chain.end(), e.handle);
        if (e.kind != RuleEdit::Kind::append && at == chain.end()) return std::nullopt;
        if (e.kind == RuleEdit::Kind::remove) chain.erase(at);
        if (e.kind != RuleEdit::Kind::insert_before && e.kind != RuleEdit::Kind::append) continue;
        const auto h = take();
        if (!h) return std::nullopt;
        if (e.kind == RuleEdit::Kind::append)
            chain.push_back(*h);
        else
            chain.insert(at, *h);
    }
    for (const auto* c : edits.new_chains) {
        auto& chain = handles[c->name];
        for (std::size_t i = 0; i < c->rules.size(); ++i) {
            const auto h = take();
            if (!h) return std::nullopt;
            chain.push_back(*h);
        }
    }
    for (const auto& name : edits.removed_chains) handles.erase(name);
    if (next != written.size()) return std::nullopt;
    return handles;
}

std::optional<TableEdits> diff_rules(const TableSpec& previous, const RuleHandles& handles,
                                     const TableSpec& next) {
    for (const auto& c : previous.chains) {
        const auto h = handles.find(c.name);
        if (h == handles.end() || h->second.size() != c.rules.size()) return std::nullopt;
    }
    TableEdits e;
    for (const auto& c : next.chains) {
        const auto* old = previous.find_chain(c.name);
        if (!old)
            e.new_chains.push_back(&c);
        else
            diff_chain(*old, handles.at(c.name), c, e.rules);
    }
    for (const auto& c : previous.chains)
        if (!next.find_chain(c.name)) e.removed_chains.push_back(c.name);
    return e;
}

}  // namespace policy::detail
