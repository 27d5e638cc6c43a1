// Public kernel operations on the member's table: each is one netlink batch, all ACKs checked.
#include "policy/nft_table.h"

#include <map>
#include <vector>

#include "compile_sets.h"
#include "nft_encode.h"
#include "nl_socket.h"
#include "policy/compile.h"
#include "table_rebind.h"

namespace policy {
namespace {

// Every operation goes through the process's one netfilter socket (detail::send_shared).
common::Status run(detail::Batch& batch) {
    batch.finish();
    return detail::send_shared(batch);
}

std::string bridge_name(const std::string& table) { return table + "_bridge"; }

// The tables this process applied, as the kernel holds them (kernel set names), by table name:
// what an in-place replacement starts from. Forgotten when the table is removed; a table this
// process did not apply (adopted after a restart) is replaced with the bridge.
std::map<std::string, TableSpec>& applied_tables() {
    static std::map<std::string, TableSpec> tables;
    return tables;
}

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

// A first install is one batch. Replacing a table is not one batch: each batch is atomic for
// rules, but the kernel makes the elements of a *new* concatenated-range set (pipapo) visible only
// after the new rules (nf_tables_commit flips the generation, then commits set updates), so right
// after a delete + create the new fail-closed lookups briefly see an empty scope set — the netns
// test caught one cleartext packet in ~130 replacements. Two ways around it:
//  - in place (a table this process applied): the sets that change are created first under a
//    name the kernel does not hold, used by no rule (batch 1); once their elements are visible,
//    one transaction flushes the chains, adds every rule, now looking up the new sets, and
//    deletes the old sets (batch 2). Unchanged sets stay as they are. The kernel inserts each
//    element once, as `nft -f` does.
//  - with a bridge (a table found in the kernel, e.g. adopted after a restart): the new table is
//    first installed as a bridge copy next to the old one, then the member's table is replaced
//    while the bridge (complete) keeps enforcing, then the bridge goes. Every element is
//    inserted twice.
common::Result<ApplyReport> apply(const TableSpec& table) {
    ApplyReport report;
    report.rules = table.rule_count();
    report.sets = table.sets.size();
    const auto exists = table_exists(table.name);
    if (!exists) return exists.error();
    auto& applied = applied_tables();
    if (*exists) {
        if (const auto previous = applied.find(table.name); previous != applied.end())
            if (auto r = detail::rebind(previous->second, table)) {
                detail::Batch sets, rules;
                detail::encode_new_sets(r->table, r->new_sets, sets);
                detail::encode_rebind_rules(previous->second, r->table, r->unused_sets, rules);
                // A failure (the table was changed behind our back) leaves the old rules in
                // force: the bridge replacement below starts over from scratch.
                if ((sets.messages() == 0 || run(sets)) && run(rules)) {
                    report.messages = sets.messages() + rules.messages();
                    report.how = ApplyReport::How::in_place;
                    report.sets_created = r->new_sets.size();
                    previous->second = std::move(r->table);
                    return report;
                }
            }
        TableSpec bridge = table;
        bridge.name = bridge_name(table.name);
        if (auto st = replace(bridge, report.messages); !st) return st.error();
        report.how = ApplyReport::How::bridged;
    }
    applied.erase(table.name);
    if (auto st = replace(table, report.messages); !st) return st.error();
    applied[table.name] = table;
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
    // The kernel's names of the sets, and what they hold from now on (for the next replacement).
    auto applied = applied_tables().find(rules.table_name);
    std::vector<std::pair<SetSpec*, std::vector<SetElement>>> held_now;
    for (auto s : detail::group_sets(*group, false)) {
        auto elements = active ? s.available : std::vector<SetElement>{};
        if (applied != applied_tables().end())
            for (auto& held : applied->second.sets)
                if (detail::compiled_set_name(held.name) == s.name) {
                    s.name = held.name;
                    held_now.emplace_back(&held, elements);
                }
        detail::encode_set_contents(rules.table_name, s, elements, batch);
    }
    if (batch.messages() == 0) return {};  // the group has no fail-open rules: nothing to toggle
    if (auto st = run(batch); !st)
        return common::make_error(std::string(active ? "enabling" : "disabling") + " fail-open of group " +
                                      std::to_string(group_id) + ": " + st.error().message,
                                  st.error().code);
    for (auto& [held, elements] : held_now) held->elements = std::move(elements);
    return {};
}

common::Status remove_table(const std::string& table_name) {
    applied_tables().erase(table_name);
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
