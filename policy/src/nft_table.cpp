// Public kernel operations on the member's table: each is one netlink batch, all ACKs checked.
#include "policy/nft_table.h"

#include <ctime>
#include <vector>

#include "compile_sets.h"
#include "nft_encode.h"
#include "nl_socket.h"
#include "policy/compile.h"

namespace policy {
namespace {

common::Status run(detail::Batch& batch) {
    batch.finish();
    auto sock = detail::NetfilterSocket::open();
    if (!sock) return sock.error();
    return sock->send_batch(batch);
}

}  // namespace

common::Result<ApplyReport> apply(const TableSpec& table) {
    detail::Batch batch;
    detail::encode_replace_table(table, batch);
    ApplyReport report;
    report.messages = batch.messages();
    report.rules = table.rule_count();
    report.sets = table.sets.size();
    if (auto st = run(batch); !st)
        return common::make_error("applying nftables table inet " + table.name + ": " + st.error().message,
                                  st.error().code);
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
    if (auto st = validate(rules); !st) return common::make_error("invalid member rules: " + st.error().message);
    detail::Batch batch;
    for (const auto& s : detail::group_sets(*group, false))
        detail::encode_set_contents(rules.table_name, s, active ? s.available : std::vector<SetElement>{}, batch);
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
    if (auto st = run(batch); !st)
        return common::make_error("removing nftables table inet " + table_name + ": " + st.error().message,
                                  st.error().code);
    return {};
}

common::Result<bool> table_exists(const std::string& table_name) {
    auto sock = detail::NetfilterSocket::open();
    if (!sock) return sock.error();
    std::vector<char> buf(8192);
    detail::encode_get_table(table_name, buf.data(), static_cast<std::uint32_t>(time(nullptr)));
    auto err = sock->request(buf.data());
    if (!err) return err.error();
    if (*err == 0) return true;
    if (*err == ENOENT) return false;
    return common::make_error(detail::explain_errno(*err, "looking up nftables table inet " + table_name), *err);
}

}  // namespace policy
