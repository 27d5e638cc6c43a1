// Public kernel operations on the member's table: each is one netlink batch, all ACKs checked.
#include "policy/nft_table.h"

#include <functional>
#include <map>
#include <optional>
#include <vector>

#include "compile_sets.h"
#include "nft_encode.h"
#include "nl_socket.h"
#include "policy/compile.h"
#include "rule_dump.h"
#include "table_diff.h"
#include "table_rebind.h"

namespace policy {
namespace {

// Every operation goes through the process's one netfilter socket (detail::send_shared).
common::Status run(detail::Batch& batch, const detail::NetfilterSocket::ReplyHandler& on_reply = {}) {
    batch.finish();
    return detail::send_shared(batch, on_reply);
}

std::string bridge_name(const std::string& table) { return table + "_bridge"; }

// A table this process applied, as the kernel holds it (kernel set names), with the handles of
// its rules: what an in-place replacement starts from. Without handles (they could not be read,
// or did not match) the next replacement takes the bridge.
struct Applied {
    TableSpec table;
    std::optional<detail::RuleHandles> handles;
    TableSpec compiled;  // the same table as compile() made it (set names before rebinding)
};

// By table name. Forgotten when the table is removed; a table this process did not apply
// (adopted after a restart) is replaced with the bridge.
std::map<std::string, Applied>& applied_tables() {
    static std::map<std::string, Applied> tables;
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

// The handles of the table's rules in the kernel, checked rule by rule (chain, order, comment)
// against what this process applied; nullopt when they differ (the table was changed behind our
// back) or cannot be read.
std::optional<detail::RuleHandles> read_handles(const TableSpec& table) {
    auto dumped = detail::dump_rules(table.name, "reading the rule handles");
    if (!dumped) return std::nullopt;
    std::map<std::string, std::vector<const detail::DumpedRule*>> by_chain;
    for (const auto& r : *dumped) by_chain[r.chain].push_back(&r);
    detail::RuleHandles handles;
    for (const auto& c : table.chains) {
        const auto& held = by_chain[c.name];
        if (held.size() != c.rules.size()) return std::nullopt;
        auto& h = handles[c.name];
        for (std::size_t i = 0; i < held.size(); ++i) {
            if (held[i]->comment != detail::kernel_comment(c.rules[i].comment)) return std::nullopt;
            h.push_back(held[i]->handle);
        }
    }
    if (by_chain.size() != table.chains.size()) return std::nullopt;  // a chain we do not know of
    return handles;
}

// In place (see below): nullopt when the previous table cannot be edited into the new one, or
// the kernel refused the edits (the old table stays in force).
std::optional<ApplyReport> apply_in_place(Applied& previous, const TableSpec& table, ApplyReport report) {
    if (!previous.handles) return std::nullopt;
    auto r = detail::rebind(previous.table, table);
    if (!r) return std::nullopt;
    auto edits = detail::diff_rules(previous.table, *previous.handles, r->table);
    if (!edits) return std::nullopt;
    detail::Batch sets, rules;
    detail::encode_new_sets(r->table, r->new_sets, sets);
    const auto echoed = detail::encode_table_edits(r->table, *edits, r->refilled_sets, r->unused_sets, rules);
    // The handles of the new rules, as the kernel echoes them (by their position in the batch).
    std::map<std::size_t, std::uint64_t> echoes;
    const auto on_reply = [&](std::size_t index, const nlmsghdr* m) {
        if (const auto h = detail::new_rule_handle(m)) echoes[index] = *h;
    };
    if ((sets.messages() != 0 && !run(sets)) || (rules.messages() != 0 && !run(rules, on_reply)))
        return std::nullopt;
    report.messages = sets.messages() + rules.messages();
    report.how = ApplyReport::How::in_place;
    report.sets_created = r->new_sets.size();
    report.rules_written = edits->rules_written();
    std::vector<std::uint64_t> written;
    for (const auto index : echoed)
        if (const auto it = echoes.find(index); it != echoes.end()) written.push_back(it->second);
    // Without every echo (never seen), the handles are read back from the kernel.
    auto handles = detail::play(std::move(*previous.handles), *edits, written);
    previous.table = std::move(r->table);
    previous.handles = handles ? std::move(handles) : read_handles(previous.table);
    previous.compiled = table;
    return report;
}

}  // namespace

// A first install is one batch. Replacing a table is not one batch: each batch is atomic for
// rules, but the kernel makes the elements of a *new* concatenated-range set (pipapo) visible only
// after the new rules (nf_tables_commit flips the generation, then commits set updates), so right
// after a delete + create the new fail-closed lookups briefly see an empty scope set — the netns
// test caught one cleartext packet in ~130 replacements. Two ways around it:
//  - in place (a table this process applied, whose rule handles it read back): the sets that
//    change are created first under a name the kernel does not hold, used by no rule (batch 1);
//    once their elements are visible, one transaction edits the rules (table_diff.h: only those
//    that differ, e.g. the ones looking up a new set, are replaced, inserted or removed; the others
//    stay with their counters), refills the fail-open sets whose elements alone change (a gap there
//    drops, table_rebind.h) and deletes the old sets (batch 2). Unchanged sets stay as they are.
//    A registration's keyed flip is then a handful of rules, not the whole table.
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
            // A failure (the table was changed behind our back) leaves the old rules in force:
            // the bridge replacement below starts over from scratch.
            if (auto done = apply_in_place(previous->second, table, report)) return *done;
        TableSpec bridge = table;
        bridge.name = bridge_name(table.name);
        if (auto st = replace(bridge, report.messages); !st) return st.error();
        report.how = ApplyReport::How::bridged;
    }
    applied.erase(table.name);
    if (auto st = replace(table, report.messages); !st) return st.error();
    report.rules_written = report.rules;
    applied[table.name] = {table, read_handles(table), table};
    if (auto st = remove_table(bridge_name(table.name)); !st) return st.error();
    return report;
}

const char* to_string(ApplyReport::How how) {
    switch (how) {
        case ApplyReport::How::created:
            return "created";
        case ApplyReport::How::in_place:
            return "in place";
        case ApplyReport::How::bridged:
            return "bridged";
    }
    return "?";
}

common::Result<ApplyReport> apply(const MemberRules& rules) {
    auto table = compile(rules);
    if (!table) return common::make_error("invalid member rules: " + table.error().message);
    return apply(*table);
}

namespace {

// Refills sets of the member's table in one batch, each under the name the kernel holds it by
// (in-place replacements alternate NAME / NAME_b) and with `contents` (what it holds from now on,
// remembered for the next replacement).
common::Status refill_sets(const MemberRules& rules, std::vector<SetSpec> sets,
                           const std::function<void(SetSpec&)>& contents, const std::string& what) {
    detail::Batch batch;
    auto applied = applied_tables().find(rules.table_name);
    std::vector<std::pair<SetSpec*, SetSpec>> held_now;
    for (auto& s : sets) {
        contents(s);
        if (applied != applied_tables().end())
            for (auto& held : applied->second.table.sets)
                if (detail::compiled_set_name(held.name) == s.name) {
                    s.name = held.name;
                    held_now.emplace_back(&held, s);
                }
        detail::encode_set_contents(rules.table_name, s, s.elements, batch);
    }
    if (batch.messages() == 0) return {};  // nothing to refill
    if (auto st = run(batch); !st)
        return common::make_error(what + ": " + st.error().message, st.error().code);
    for (auto& [held, now] : held_now) held->elements = std::move(now.elements);
    return {};
}

}  // namespace

common::Status set_fail_open(const MemberRules& rules, std::uint32_t group_id, bool active) {
    const auto* group = rules.find_group(group_id);
    if (!group) return common::make_error("fail-open: no group with id " + std::to_string(group_id));
    if (auto st = validate(rules); !st)
        return common::make_error("invalid member rules: " + st.error().message);
    return refill_sets(
        rules, detail::group_sets(*group, false),
        [&](SetSpec& s) { s.elements = active ? s.available : std::vector<SetElement>{}; },
        std::string(active ? "enabling" : "disabling") + " fail-open of group " + std::to_string(group_id));
}

common::Status set_replay_window(const MemberRules& rules, std::uint32_t group_id) {
    const auto* group = rules.find_group(group_id);
    if (!group || !group->replay)
        return common::make_error("anti-replay: no group with id " + std::to_string(group_id) +
                                  " checks replays");
    if (auto st = validate(*group); !st)
        return common::make_error("invalid member rules: " + st.error().message);
    const std::string what = "moving the anti-replay window of group " + std::to_string(group_id);
    // The table this process applied, with the group's check rules rebuilt: an in-place edit that
    // replaces only those (one transaction: each packet sees the old or the new window; the
    // counting rules of replay_<id> keep their counters). No compile of the whole table.
    auto applied = applied_tables().find(rules.table_name);
    if (applied == applied_tables().end()) {
        auto report = apply(rules);
        if (!report) return common::make_error(what + ": " + report.error().message, report.error().code);
        return {};
    }
    TableSpec next = applied->second.compiled;
    auto fresh = detail::replay_check_rules(*group, rules.wan_ifname);
    for (auto& chain : next.chains) {
        if (chain.name != kChainEspInbound) continue;
        std::size_t k = 0;
        for (auto& r : chain.rules)
            if (r.role == RuleRole::replay && r.group_id == group_id && k < fresh.size()) r = fresh[k++];
        if (k != fresh.size())  // the group's SPIs changed: that is sync_rules()' work
            return common::make_error(what + ": the table holds " + std::to_string(k) +
                                      " check rules, the group " + std::to_string(fresh.size()));
    }
    if (auto done = apply_in_place(applied->second, next, ApplyReport{}); !done)
        return common::make_error(what +
                                  ": the in-place edit was refused (the table changed behind our back?)");
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
