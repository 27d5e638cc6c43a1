// unique_ptr ownership for libnftnl objects: every object is freed on every path. Ownership
// moves to libnftnl when an object is attached (nftnl_rule_add_expr, nftnl_set_elem_add): use
// release() exactly there.
#pragma once

#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

#include <memory>

namespace policy::detail {

template <auto Free>
struct NftnlDeleter {
    template <typename T>
    void operator()(T* p) const {
        Free(p);
    }
};

using TablePtr = std::unique_ptr<nftnl_table, NftnlDeleter<nftnl_table_free>>;
using ChainPtr = std::unique_ptr<nftnl_chain, NftnlDeleter<nftnl_chain_free>>;
using RulePtr = std::unique_ptr<nftnl_rule, NftnlDeleter<nftnl_rule_free>>;
using ExprPtr = std::unique_ptr<nftnl_expr, NftnlDeleter<nftnl_expr_free>>;
using SetPtr = std::unique_ptr<nftnl_set, NftnlDeleter<nftnl_set_free>>;
using SetElemPtr = std::unique_ptr<nftnl_set_elem, NftnlDeleter<nftnl_set_elem_free>>;
using UdataPtr = std::unique_ptr<nftnl_udata_buf, NftnlDeleter<nftnl_udata_buf_free>>;

}  // namespace policy::detail
