// Rule counters: one NFT_MSG_GETRULE dump of the table, parsed with libnftnl.
#include "policy/nft_counters.h"

#include <libmnl/libmnl.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include <memory>

#include "nl_socket.h"

namespace policy {
namespace {

struct RuleDeleter {
    void operator()(nftnl_rule* r) const { nftnl_rule_free(r); }
};

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

common::Result<std::vector<RuleCounter>> read_rule_counters(const std::string& table_name) {
    std::vector<char> buf(8192);
    std::unique_ptr<nftnl_rule, RuleDeleter> filter(nftnl_rule_alloc());
    if (!filter) return common::make_error("out of memory reading nftables counters", ENOMEM);
    nftnl_rule_set_str(filter.get(), NFTNL_RULE_TABLE, table_name.c_str());
    nftnl_rule_set_u32(filter.get(), NFTNL_RULE_FAMILY, NFPROTO_INET);
    auto* nlh = nftnl_nlmsg_build_hdr(buf.data(), NFT_MSG_GETRULE, NFPROTO_INET, NLM_F_DUMP, 0);
    nftnl_rule_nlmsg_build_payload(nlh, filter.get());
    std::vector<RuleCounter> out;
    const auto on_rule = [&](const nlmsghdr* m) {
        std::unique_ptr<nftnl_rule, RuleDeleter> r(nftnl_rule_alloc());
        if (!r || nftnl_rule_nlmsg_parse(m, r.get()) < 0) return;
        const char* table = nftnl_rule_get_str(r.get(), NFTNL_RULE_TABLE);
        if (!table || table_name != table) return;
        RuleCounter c;
        const char* chain = nftnl_rule_get_str(r.get(), NFTNL_RULE_CHAIN);
        c.chain = chain ? chain : "";
        c.comment = rule_comment(r.get());
        bool counted = false;
        std::pair<RuleCounter*, bool*> sink(&c, &counted);
        nftnl_expr_foreach(
            r.get(),
            [](nftnl_expr* e, void* data) -> int {
                const char* name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
                if (name && std::string(name) == "counter") {
                    auto* cc = static_cast<std::pair<RuleCounter*, bool*>*>(data);
                    cc->first->packets = nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_PACKETS);
                    *cc->second = true;
                }
                return 0;
            },
            &sink);
        if (counted) out.push_back(std::move(c));
    };
    auto err = detail::request_shared(buf.data(), on_rule);
    if (!err) return err.error();
    if (*err != 0)
        return common::make_error(
            detail::explain_errno(*err, "reading the counters of nftables table inet " + table_name), *err);
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
