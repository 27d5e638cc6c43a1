// MemberStatus <-> JSON. Each record's fields are listed once (visit_fields), and the
// writer and the strict reader both walk that list, so the two cannot drift apart.
#include "control/status_json.h"

#include <type_traits>
#include <utility>

#include "control/gdoictl_json.h"

namespace member {
namespace {

using json::Value;
using RejectReason = std::pair<std::string, uint64_t>;

template <typename T>
constexpr bool is_record =
    std::is_same_v<T, ServerStatus> || std::is_same_v<T, KekStatus> || std::is_same_v<T, TekStatus> ||
    std::is_same_v<T, PolicyStatus> || std::is_same_v<T, GroupCounters> || std::is_same_v<T, GroupStatus> ||
    std::is_same_v<T, MemberStatus> || std::is_same_v<T, RejectReason>;

template <typename S, typename T>
concept RecordOf = std::is_same_v<std::remove_const_t<S>, T>;

// The schema: field name -> member, in output order. Names are documented in gdoictl.8.md.
template <typename V, RecordOf<ServerStatus> S>
void visit_fields(V& v, S& s) {
    v("address", s.address);
    v("in_use", s.in_use);
    v("last_error", s.last_error);
    v("failures", s.failures);
}

template <typename V, RecordOf<KekStatus> S>
void visit_fields(V& v, S& s) {
    v("spi", s.spi);
    v("algorithm", s.algorithm);
    v("signature", s.signature);
    v("remaining_seconds", s.remaining_seconds);
    v("ack_requested", s.ack_requested);
    v("rekey_via", s.rekey_via);
}

template <typename V, RecordOf<TekStatus> S>
void visit_fields(V& v, S& s) {
    v("spi", s.spi);
    v("algorithm", s.algorithm);
    v("selector", s.selector);
    v("role", s.role);
    v("remaining_seconds", s.remaining_seconds);
}

template <typename V, RecordOf<PolicyStatus> S>
void visit_fields(V& v, S& s) {
    v("kind", s.kind);
    v("selector", s.selector);
    v("action", s.action);
}

template <typename V, RecordOf<RejectReason> S>
void visit_fields(V& v, S& s) {
    v("reason", s.first);
    v("count", s.second);
}

template <typename V, RecordOf<GroupCounters> S>
void visit_fields(V& v, S& s) {
    v("registrations", s.registrations);
    v("registration_failures", s.registration_failures);
    v("rekeys_accepted", s.rekeys_accepted);
    v("rekeys_rejected", s.rekeys_rejected);
    v("rekeys_rejected_by_reason", s.rekeys_rejected_by_reason);
    v("acks_sent", s.acks_sent);
    v("recovery_probes", s.recovery_probes);
    v("soft_expires", s.soft_expires);
    v("hard_expires", s.hard_expires);
}

template <typename V, RecordOf<GroupStatus> S>
void visit_fields(V& v, S& s) {
    v("name", s.name);
    v("id", s.id);
    v("state", s.state);
    v("detail", s.detail);
    v("health", s.health);
    v("server", s.server);
    v("since_seconds", s.since_seconds);
    v("last_rekey_seconds_ago", s.last_rekey_seconds_ago);
    v("sequence", s.sequence);
    v("servers", s.servers);
    v("kek", s.kek);
    v("teks", s.teks);
    v("policies", s.policies);
    v("counters", s.counters);
}

template <typename V, RecordOf<MemberStatus> S>
void visit_fields(V& v, S& s) {
    v("version", s.version);
    v("uptime_seconds", s.uptime_seconds);
    v("groups", s.groups);
}

// ---- writer ----

template <typename T>
Value record_to_value(const T& record);

struct Writer {
    Value& object;

    void operator()(const char* name, const std::string& s) { object.add(name, Value::make_string(s)); }
    void operator()(const char* name, uint64_t n) { object.add(name, Value::make_unsigned(n)); }
    void operator()(const char* name, uint32_t n) { object.add(name, Value::make_unsigned(n)); }
    void operator()(const char* name, bool b) { object.add(name, Value::make_bool(b)); }

    template <typename T>
    requires is_record<T>
    void operator()(const char* name, const T& record) { object.add(name, record_to_value(record)); }

    template <typename T>
    void operator()(const char* name, const std::vector<T>& items) {
        Value& array = object.add(name, Value::make_array());
        for (const T& item : items) array.items.push_back(record_to_value(item));
    }
};

template <typename T>
Value record_to_value(const T& record) {
    Value object = Value::make_object();
    Writer writer{object};
    visit_fields(writer, record);
    return object;
}

// ---- reader ----

struct SchemaFailure {
    std::size_t offset;
    std::string what;
};

std::string join(const std::string& path, std::string_view name) {
    return path.empty() ? std::string(name) : path + "." + std::string(name);
}

template <typename T>
void record_from_value(const Value& v, const std::string& path, T& out);

class Reader {
public:
    Reader(const Value& object, std::string path) : object_(object), path_(std::move(path)) {}

    void operator()(const char* name, std::string& s) { s = member(name, Value::Kind::string).string; }
    void operator()(const char* name, uint64_t& n) { n = member(name, Value::Kind::unsigned_integer).number; }
    void operator()(const char* name, bool& b) { b = member(name, Value::Kind::boolean).boolean; }
    void operator()(const char* name, uint32_t& n) {
        const Value& v = member(name, Value::Kind::unsigned_integer);
        if (v.number > UINT32_MAX)
            throw SchemaFailure{v.offset, join(path_, name) + ": " + std::to_string(v.number) +
                                              " does not fit in 32 bits (at most 4294967295)"};
        n = static_cast<uint32_t>(v.number);
    }

    template <typename T>
    requires is_record<T>
    void operator()(const char* name, T& record) {
        record_from_value(member(name, Value::Kind::object), join(path_, name), record);
    }

    template <typename T>
    void operator()(const char* name, std::vector<T>& items) {
        const Value& array = member(name, Value::Kind::array);
        items.clear();
        items.reserve(array.items.size());
        for (std::size_t k = 0; k < array.items.size(); ++k) {
            const std::string item_path = join(path_, name) + "[" + std::to_string(k) + "]";
            const Value& item = array.items[k];
            if (item.kind != Value::Kind::object)
                throw SchemaFailure{item.offset, item_path + ": expected an object, found " +
                                                     std::string(json::kind_name(item.kind))};
            record_from_value(item, item_path, items.emplace_back());
        }
    }

    // Marks a member handled outside the visitor (the root's "schema").
    void consumed(std::string_view name) { seen_.emplace_back(name); }

    void reject_unknown_fields() const {
        for (const json::Member& m : object_.members) {
            bool known = false;
            for (const std::string& s : seen_) known = known || s == m.key;
            if (!known)
                throw SchemaFailure{m.key_offset, (path_.empty() ? std::string("document") : path_) +
                                                      ": unknown field \"" + m.key + "\""};
        }
    }

private:
    const Value& member(const char* name, Value::Kind kind) {
        seen_.emplace_back(name);
        const Value* v = object_.find(name);
        if (v == nullptr)
            throw SchemaFailure{object_.offset, (path_.empty() ? std::string("document") : path_) +
                                                    ": missing field \"" + name + "\""};
        if (v->kind != kind)
            throw SchemaFailure{v->offset, join(path_, name) + ": expected " +
                                               std::string(json::kind_name(kind)) + ", found " +
                                               std::string(json::kind_name(v->kind))};
        return *v;
    }

    const Value& object_;
    std::string path_;
    std::vector<std::string> seen_;
};

template <typename T>
void record_from_value(const Value& v, const std::string& path, T& out) {
    Reader reader(v, path);
    visit_fields(reader, out);
    reader.reject_unknown_fields();
}

}  // namespace

std::string to_json(const MemberStatus& status) {
    Value root = Value::make_object();
    root.add("schema", Value::make_unsigned(kStatusSchemaVersion));
    Writer writer{root};
    visit_fields(writer, status);
    return json::write(root, /*pretty=*/true);
}

common::Result<MemberStatus> status_from_json(std::string_view document) {
    auto parsed = json::parse(document);
    if (!parsed) return parsed.error();
    const Value& root = parsed.value();
    try {
        if (root.kind != Value::Kind::object)
            throw SchemaFailure{root.offset, "document: expected an object, found " +
                                                 std::string(json::kind_name(root.kind))};
        const Value* schema = root.find("schema");
        if (schema == nullptr) throw SchemaFailure{root.offset, "document: missing field \"schema\""};
        if (schema->kind != Value::Kind::unsigned_integer || schema->number != kStatusSchemaVersion)
            throw SchemaFailure{schema->offset, "schema: this gdoictl reads status schema " +
                                                    std::to_string(kStatusSchemaVersion) +
                                                    " (daemon and gdoictl from different releases?)"};
        MemberStatus status;
        Reader reader(root, "");
        reader.consumed("schema");
        visit_fields(reader, status);
        reader.reject_unknown_fields();
        return status;
    } catch (const SchemaFailure& f) {
        return common::make_error("status JSON at " + json::describe_position(document, f.offset) + ": " +
                                  f.what);
    }
}

}  // namespace member
