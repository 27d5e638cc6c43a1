// The rule dump of one table, and the handle of an echoed rule (rule_dump.h).
#include "rule_dump.h"

#include <libmnl/libmnl.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>

#include "nftnl_ptr.h"
#include "nl_socket.h"

namespace policy::detail {
namespace {

std::string rule_comment(const nftnl_rule* r) {
    if (!nftnl_rule_is_set(r, NFTNL_RULE_USERDATA)) return {};
    std::uint32_t len = 0;
    const void* data = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &len);
    std::string comment;
    nftnl_udata_parse(
        data, len,
        [](const nftnl_udata* attr, void* out) -> int {
            if (nftnl_udata_type(attr) == NFTNL_UDATA_RULE_COMMENT) {
                const char* text = static_cast<const char*>(nftnl_udata_get(attr));
                const auto n = nftnl_udata_len(attr);
                static_cast<std::string*>(out)->assign(text, n > 0 && text[n - 1] == '\0' ? n - 1 : n);
            }
            return MNL_CB_OK;
        },
        &comment);
    return comment;
}

}  // namespace

common::Result<std::vector<DumpedRule>> dump_rules(const std::string& table_name, const std::string& what) {
    std::vector<char> buf(8192);
    RulePtr filter(nftnl_rule_alloc());
    if (!filter) return common::make_error("out of memory " + what, ENOMEM);
    nftnl_rule_set_str(filter.get(), NFTNL_RULE_TABLE, table_name.c_str());
    nftnl_rule_set_u32(filter.get(), NFTNL_RULE_FAMILY, NFPROTO_INET);
    auto* nlh = nftnl_nlmsg_build_hdr(buf.data(), NFT_MSG_GETRULE, NFPROTO_INET, NLM_F_DUMP, 0);
    nftnl_rule_nlmsg_build_payload(nlh, filter.get());
    std::vector<DumpedRule> out;
    const auto on_rule = [&](const nlmsghdr* m) {
        RulePtr r(nftnl_rule_alloc());
        if (!r || nftnl_rule_nlmsg_parse(m, r.get()) < 0) return;
        const char* table = nftnl_rule_get_str(r.get(), NFTNL_RULE_TABLE);
        if (!table || table_name != table) return;
        DumpedRule d;
        const char* chain = nftnl_rule_get_str(r.get(), NFTNL_RULE_CHAIN);
        d.chain = chain ? chain : "";
        d.handle = nftnl_rule_get_u64(r.get(), NFTNL_RULE_HANDLE);
        d.comment = rule_comment(r.get());
        nftnl_expr_foreach(
            r.get(),
            [](nftnl_expr* e, void* data) -> int {
                const char* name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
                if (name && std::string(name) == "counter")
                    static_cast<DumpedRule*>(data)->packets = nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_PACKETS);
                return 0;
            },
            &d);
        out.push_back(std::move(d));
    };
    auto err = request_shared(buf.data(), on_rule);
    if (!err) return err.error();
    if (*err != 0)
        return common::make_error(explain_errno(*err, what + " of nftables table inet " + table_name), *err);
    return out;
}

std::optional<std::uint64_t> new_rule_handle(const nlmsghdr* message) {
    if (NFNL_MSG_TYPE(message->nlmsg_type) != NFT_MSG_NEWRULE) return std::nullopt;
    RulePtr r(nftnl_rule_alloc());
    if (!r || nftnl_rule_nlmsg_parse(message, r.get()) < 0 || !nftnl_rule_is_set(r.get(), NFTNL_RULE_HANDLE))
        return std::nullopt;
    return nftnl_rule_get_u64(r.get(), NFTNL_RULE_HANDLE);
}

}  // namespace policy::detail
