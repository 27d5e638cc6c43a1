// MemberStatus <-> JSON. Each record's fields are listed once (visit_fields), and the
// writer and the strict reader both walk that list, so the two cannot drift apart.
#include "control/status_json.h"

#include <algorithm>
#include <exception>
#include <type_traits>
#include <utility>

#include "control/gdoictl_json.h"

namespace member {
namespace {

using json::Json;
using RejectReason = std::pair<std::string, uint64_t>;

template <typename T>
constexpr bool is_record =
    std::is_same_v<T, CertificateStatus> || std::is_same_v<T, ServerStatus> || std::is_same_v<T, KekStatus> ||
    std::is_same_v<T, TekStatus> || std::is_same_v<T, SaCounterStatus> || std::is_same_v<T, PolicyStatus> ||
    std::is_same_v<T, GroupCounters> || std::is_same_v<T, GroupStatus> || std::is_same_v<T, MemberStatus> ||
    std::is_same_v<T, RejectReason>;

template <typename S, typename T>
concept RecordOf = std::is_same_v<std::remove_const_t<S>, T>;

// The schema: field name -> member, in output order. Names are documented in gdoictl.8.md.
template <typename V, RecordOf<CertificateStatus> S>
void visit_fields(V& v, S& s) {
    v("subject", s.subject);
    v("not_after", s.not_after);
    v("seconds_left", s.seconds_left);
    v("warning", s.warning);
}

template <typename V, RecordOf<ServerStatus> S>
void visit_fields(V& v, S& s) {
    v("address", s.address);
    v("in_use", s.in_use);
    v("last_error", s.last_error);
    v("failures", s.failures);
    v("identity", s.identity);
    v("certificate", s.certificate);
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

template <typename V, RecordOf<SaCounterStatus> S>
void visit_fields(V& v, S& s) {
    v("direction", s.direction);
    v("packets", s.packets);
    v("bytes", s.bytes);
}

template <typename V, RecordOf<TekStatus> S>
void visit_fields(V& v, S& s) {
    v("spi", s.spi);
    v("algorithm", s.algorithm);
    v("selector", s.selector);
    v("role", s.role);
    v("remaining_seconds", s.remaining_seconds);
    v("replays_dropped", s.replays_dropped);
    v("sas", s.sas);
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
    v("replays_dropped", s.replays_dropped);
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
    v("anti_replay_window", s.anti_replay_window);
    v("servers", s.servers);
    v("certificate", s.certificate);
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
Json record_to_value(const T& record);

struct Writer {
    Json& object;

    void operator()(const char* name, const std::string& s) { object[name] = s; }
    void operator()(const char* name, uint64_t n) { object[name] = n; }
    void operator()(const char* name, uint32_t n) { object[name] = n; }
    void operator()(const char* name, bool b) { object[name] = b; }

    template <typename T>
    requires is_record<T>
    void operator()(const char* name, const T& record) { object[name] = record_to_value(record); }

    template <typename T>
    void operator()(const char* name, const std::vector<T>& items) {
        Json array = Json::array();
        for (const T& item : items) array.push_back(record_to_value(item));
        object[name] = std::move(array);
    }
};

template <typename T>
Json record_to_value(const T& record) {
    Json object = Json::object();
    Writer writer{object};
    visit_fields(writer, record);
    return object;
}

// ---- reader ----

using Kind = Json::value_t;

struct SchemaFailure {
    std::size_t offset;
    std::string what;
};

std::string join(const std::string& path, std::string_view name) {
    return path.empty() ? std::string(name) : path + "." + std::string(name);
}

template <typename T>
void record_from_value(const json::Document& doc, const Json& v, const std::string& path, T& out);

class Reader {
public:
    Reader(const json::Document& doc, const Json& object, std::string path)
        : doc_(doc), object_(object), path_(std::move(path)) {}

    void operator()(const char* name, std::string& s) { s = member(name, Kind::string).get<std::string>(); }
    void operator()(const char* name, uint64_t& n) {
        n = member(name, Kind::number_unsigned).get<uint64_t>();
    }
    void operator()(const char* name, bool& b) { b = member(name, Kind::boolean).get<bool>(); }
    void operator()(const char* name, uint32_t& n) {
        const Json& v = member(name, Kind::number_unsigned);
        const uint64_t wide = v.get<uint64_t>();
        if (wide > UINT32_MAX)
            throw SchemaFailure{doc_.offset_of(v), join(path_, name) + ": " + std::to_string(wide) +
                                                       " does not fit in 32 bits (at most 4294967295)"};
        n = static_cast<uint32_t>(wide);
    }

    template <typename T>
    requires is_record<T>
    void operator()(const char* name, T& record) {
        record_from_value(doc_, member(name, Kind::object), join(path_, name), record);
    }

    template <typename T>
    void operator()(const char* name, std::vector<T>& items) {
        const Json& array = member(name, Kind::array);
        items.clear();
        items.reserve(array.size());
        for (std::size_t k = 0; k < array.size(); ++k) {
            const std::string item_path = join(path_, name) + "[" + std::to_string(k) + "]";
            const Json& item = array[k];
            if (!item.is_object())
                throw SchemaFailure{doc_.offset_of(item), item_path + ": expected an object, found " +
                                                              std::string(json::kind_name(item.type()))};
            record_from_value(doc_, item, item_path, items.emplace_back());
        }
    }

    // Marks a member handled outside the visitor (the root's "schema").
    void consumed(std::string_view name) { seen_.emplace_back(name); }

    void reject_unknown_fields() const {
        for (auto it = object_.begin(); it != object_.end(); ++it) {
            if (std::find(seen_.begin(), seen_.end(), it.key()) != seen_.end()) continue;
            throw SchemaFailure{
                doc_.key_offset_of(object_, it.key()),
                (path_.empty() ? std::string("document") : path_) + ": unknown field \"" + it.key() + "\""};
        }
    }

private:
    const Json& member(const char* name, Kind kind) {
        seen_.emplace_back(name);
        const auto it = object_.find(name);
        if (it == object_.end())
            throw SchemaFailure{doc_.offset_of(object_), (path_.empty() ? std::string("document") : path_) +
                                                             ": missing field \"" + name + "\""};
        if (it->type() != kind)
            throw SchemaFailure{doc_.offset_of(*it), join(path_, name) + ": expected " +
                                                         std::string(json::kind_name(kind)) + ", found " +
                                                         std::string(json::kind_name(it->type()))};
        return *it;
    }

    const json::Document& doc_;
    const Json& object_;
    std::string path_;
    std::vector<std::string> seen_;
};

template <typename T>
void record_from_value(const json::Document& doc, const Json& v, const std::string& path, T& out) {
    Reader reader(doc, v, path);
    visit_fields(reader, out);
    reader.reject_unknown_fields();
}

}  // namespace

std::string to_json(const MemberStatus& status) {
    Json root = Json::object();
    root["schema"] = kStatusSchemaVersion;
    Writer writer{root};
    visit_fields(writer, status);
    return json::write(root, /*pretty=*/true);
}

common::Result<MemberStatus> status_from_json(std::string_view document) {
    auto parsed = json::parse(document);
    if (!parsed) return parsed.error();
    const json::Document& doc = parsed.value();
    const Json& root = doc.root();
    try {
        if (!root.is_object())
            throw SchemaFailure{doc.offset_of(root), "document: expected an object, found " +
                                                         std::string(json::kind_name(root.type()))};
        const auto schema = root.find("schema");
        if (schema == root.end())
            throw SchemaFailure{doc.offset_of(root), "document: missing field \"schema\""};
        if (!schema->is_number_unsigned() || schema->get<uint64_t>() != kStatusSchemaVersion)
            throw SchemaFailure{doc.offset_of(*schema), "schema: this gdoictl reads status schema " +
                                                            std::to_string(kStatusSchemaVersion) +
                                                            " (daemon and gdoictl from different releases?)"};
        MemberStatus status;
        Reader reader(doc, root, "");
        reader.consumed("schema");
        visit_fields(reader, status);
        reader.reject_unknown_fields();
        return status;
    } catch (const SchemaFailure& f) {
        return common::make_error("status JSON at " + json::describe_position(document, f.offset) + ": " +
                                  f.what);
    } catch (const std::exception& e) {
        return common::make_error(std::string("status JSON: ") + e.what());
    }
}

}  // namespace member
