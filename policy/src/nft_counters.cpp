// Rule counters: one NFT_MSG_GETRULE dump of the table (rule_dump.h).
#include "policy/nft_counters.h"

#include "rule_dump.h"

namespace policy {

common::Result<std::vector<RuleCounter>> read_rule_counters(const std::string& table_name) {
    auto rules = detail::dump_rules(table_name, "reading the counters");
    if (!rules) return rules.error();
    std::vector<RuleCounter> out;
    for (auto& r : *rules)
        if (r.packets) out.push_back({std::move(r.chain), std::move(r.comment), *r.packets});
    return out;
}

std::uint64_t packets_of(const std::vector<RuleCounter>& counters, const std::string& chain,
                         const std::string& prefix, const std::string& suffix) {
    std::uint64_t sum = 0;
    for (const auto& c : counters)
        if (c.chain == chain && c.comment.rfind(prefix, 0) == 0 && c.comment.size() >= suffix.size() &&
            c.comment.compare(c.comment.size() - suffix.size(), suffix.size(), suffix) == 0)
            sum += c.packets;
    return sum;
}

std::uint64_t packets_exact(const std::vector<RuleCounter>& counters, const std::string& chain,
                            const std::string& comment) {
    std::uint64_t sum = 0;
    for (const auto& c : counters)
        if (c.chain == chain && c.comment == comment) sum += c.packets;
    return sum;
}

}  // namespace policy
