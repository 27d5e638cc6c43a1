// Public kernel operations on the member's table: each is one netlink batch, all ACKs checked.
#include "policy/nft_table.h"

#include <vector>

#include "compile_sets.h"
#include "nft_encode.h"
#include "nl_socket.h"
#include "policy/compile.h"

namespace policy {
namespace {

// Every operation goes through the process's one netfilter socket (detail::send_shared).
common::Status run(detail::Batch& batch) {
    batch.finish();
    return detail::send_shared(batch);
}

std::string bridge_name(const std::string& table) { return table + "_bridge"; }

common::Status replace(const TableSpec& table, std::size_t& messages) {
    detail::Batch batch;
    detail::encode_replace_table(table, batch);
    messages += batch.messages();
    if (auto st = run(batch); !st)
        return common::make_error("applying nftables table inet " + table.name + ": " + st.error().message,
                                  st.error().code);
    return {};
}

}  // namespace

// Replacing a table takes three batches, not one: each batch is atomic for rules, but the kernel
// makes the elements of a *new* concatenated-range set (pipapo) visible only after the new rules
// (nf_tables_commit flips the generation, then commits set updates), so right after a replace
// the new fail-closed lookups briefly see an empty scope set — the netns test caught one
// cleartext packet in ~130 replacements. So the new table is first installed as a bridge copy
// next to the old one, then the member's table is replaced while the bridge (complete) keeps
// enforcing, then the bridge goes. Both tables enforce the same rules meanwhile.
// A first install has no old table to bridge from (a bridge would be just as new), so it is one
// batch: half the kernel's work, which for large sets is mostly inserting their elements.
common::Result<ApplyReport> apply(const TableSpec& table) {
    ApplyReport report;
    report.rules = table.rule_count();
    report.sets = table.sets.size();
    const auto exists = table_exists(table.name);
    if (!exists) return exists.error();
    if (*exists) {
        TableSpec bridge = table;
        bridge.name = bridge_name(table.name);
        if (auto st = replace(bridge, report.messages); !st) return st.error();
    }
    if (auto st = replace(table, report.messages); !st) return st.error();
    if (auto st = remove_table(bridge_name(table.name)); !st) return st.error();
    return report;
}

common::Result<ApplyReport> apply(const MemberRules& rules) {
    auto table = compile(rules);
    if (!table) return common::make_error("invalid member rules: " + table.error().message);
    return apply(*table);
}

common::Status set_fail_open(const MemberRules& rules, std::uint32_t group_id, bool active) {
    const auto* group = rules.find_group(group_id);
    if (!group) return common::make_error("fail-open: no group with id " + std::to_string(group_id));
    if (auto st = validate(rules); !st)
        return common::make_error("invalid member rules: " + st.error().message);
    detail::Batch batch;
    for (const auto& s : detail::group_sets(*group, false))
        detail::encode_set_contents(rules.table_name, s, active ? s.available : std::vector<SetElement>{},
                                    batch);
    if (batch.messages() == 0) return {};  // the group has no fail-open rules: nothing to toggle
    if (auto st = run(batch); !st)
        return common::make_error(std::string(active ? "enabling" : "disabling") + " fail-open of group " +
                                      std::to_string(group_id) + ": " + st.error().message,
                                  st.error().code);
    return {};
}

common::Status remove_table(const std::string& table_name) {
    detail::Batch batch;
    detail::encode_delete_table(table_name, batch);
    // A bridge left by an apply() that died half-way goes too (never for a bridge itself).
    if (table_name.size() < 7 || table_name.compare(table_name.size() - 7, 7, "_bridge") != 0)
        detail::encode_delete_table(bridge_name(table_name), batch);
    if (auto st = run(batch); !st)
        return common::make_error("removing nftables table inet " + table_name + ": " + st.error().message,
                                  st.error().code);
    return {};
}

common::Result<bool> table_exists(const std::string& table_name) {
    std::vector<char> buf(8192);
    detail::encode_get_table(table_name, buf.data(), 0);
    auto err = detail::request_shared(buf.data());
    if (!err) return err.error();
    if (*err == 0) return true;
    if (*err == ENOENT) return false;
    return common::make_error(detail::explain_errno(*err, "looking up nftables table inet " + table_name),
                              *err);
}

}  // namespace policy
