#include "config/toml_reader.h"

#include <algorithm>
#include <span>
#include <utility>

namespace member::schema {
namespace {

constexpr std::size_t kMaxErrors = 20;

std::string join(std::span<const std::string> words, std::string_view sep = ", ") {
    std::string out;
    for (const auto& w : words) {
        if (!out.empty()) out += sep;
        out += w;
    }
    return out;
}

// Keys compare equal after normalisation when only case, '_' or '.' differ from '-'.
std::string normalise_key(std::string_view key) {
    std::string s;
    for (char c : key) {
        if (c == '_' || c == '.' || c == ' ') c = '-';
        s += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    return s;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        cur[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j)
            cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
        std::swap(prev, cur);
    }
    return prev[b.size()];
}

// The known word closest to `word`, when it is close enough to be a typo.
std::optional<std::string> closest(std::string_view word, std::span<const std::string> known) {
    const std::string w = normalise_key(word);
    std::optional<std::string> best;
    std::size_t best_distance = std::max<std::size_t>(1, std::min<std::size_t>(3, w.size() / 3)) + 1;
    for (const auto& k : known) {
        const std::size_t d = edit_distance(w, normalise_key(k));
        if (d < best_distance) best_distance = d, best = k;
    }
    return best;
}

std::vector<std::string> key_names(const Section& s) {
    std::vector<std::string> names;
    for (const auto& k : s.keys) names.push_back(k.key);
    return names;
}

// The table a key belongs in when it is a known key of another table (spelling aside).
std::optional<std::string> home_of(std::string_view key, SectionId here) {
    const auto find = [&](const Section& s) -> std::optional<std::string> {
        for (const auto& k : s.keys)
            if (normalise_key(k.key) == normalise_key(key)) return k.key;
        return std::nullopt;
    };
    const auto as = [&](const std::string& k) { return k == key ? "" : " (as " + quote(k) + ")"; };
    if (here != SectionId::top) {
        if (normalise_key(key) == "group") return "the top level: start each group with a [[group]] line";
        if (normalise_key(key) == "member") return "the top level: write [member] on a line of its own";
    }
    if (here != SectionId::member)
        if (const auto k = find(member_section())) return "the [member] table" + as(*k);
    if (here != SectionId::group)
        if (const auto k = find(group_section())) return "a [[group]] table" + as(*k);
    if (here != SectionId::ike && key != "mode")
        if (const auto k = find(ike_section())) return "a group, as ike." + *k;
    return std::nullopt;
}

std::string or_list(const std::vector<Choice>& choices) {
    std::string out;
    for (std::size_t i = 0; i < choices.size(); ++i)
        out += (i == 0 ? "" : i + 1 == choices.size() ? " or " : ", ") + quote(choices[i].name);
    return out;
}

}  // namespace

Where Where::sub(std::string_view k) const {
    Where w = *this;
    if (!w.key.empty() && w.key.back() != ' ') w.key += '.';
    w.key += k;
    return w;
}

Position at(const toml::node& n) { return {n.source().begin.line, n.source().begin.column}; }
Position at(const toml::key& k) { return {k.source().begin.line, k.source().begin.column}; }

std::string quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

const char* type_name(toml::node_type t) {
    static constexpr std::pair<toml::node_type, const char*> kNames[] = {
        {toml::node_type::string, "a string"},
        {toml::node_type::integer, "an integer"},
        {toml::node_type::floating_point, "a floating-point number"},
        {toml::node_type::boolean, "a boolean"},
        {toml::node_type::table, "a table"},
        {toml::node_type::array, "an array"},
        {toml::node_type::date, "a date"},
        {toml::node_type::time, "a time"},
        {toml::node_type::date_time, "a date-time"},
    };
    for (const auto& [type, name] : kNames)
        if (type == t) return name;
    return "nothing";
}

void Reader::error(Position p, const Where& w, const std::string& message) {
    std::string text = source_ + ":" + std::to_string(p.line) + ":" + std::to_string(p.column) + ": ";
    if (!w.group.empty()) text += w.group + ": ";
    if (!w.key.empty()) text += w.key + ": ";
    text += message;
    diagnostics_.push_back({p.line, p.column, std::move(text)});
}

std::string Reader::report() {
    std::stable_sort(diagnostics_.begin(), diagnostics_.end(), [](const auto& a, const auto& b) {
        return a.line != b.line ? a.line < b.line : a.column < b.column;
    });
    std::string out;
    std::size_t n = 0;
    for (const auto& d : diagnostics_) {
        if (n++ == kMaxErrors) {
            out += "\n" + source_ + ": " + std::to_string(diagnostics_.size() - kMaxErrors) + " more errors";
            break;
        }
        if (!out.empty()) out += "\n";
        out += d.text;
    }
    return out;
}

void Reader::missing(const toml::node& table, const Where& w, std::string_view key, const std::string& hint) {
    error(at(table), w, "missing required key " + quote(key) + " (" + hint + ")");
}

// Unknown keys are errors; the message suggests the intended key when one is close, or says
// which table a key belongs in when it is known elsewhere.
void Reader::check_keys(const toml::table& t, const Section& s, const Where& w) {
    const auto known = key_names(s);
    const auto suggestions = s.suggestions();
    for (auto&& [k, v] : t) {
        const auto key = k.str();
        if (s.find(key)) continue;
        std::string msg = "unknown key " + quote(key) + " in " + s.label;
        const auto best = closest(key, suggestions);
        const auto elsewhere = s.explain_elsewhere ? home_of(key, s.id) : std::nullopt;
        if (std::find(s.misplaced.begin(), s.misplaced.end(), key) != s.misplaced.end())
            msg += "; " + s.misplaced_reason;
        else if (best && (normalise_key(*best) == normalise_key(key) || !elsewhere))
            msg += "; did you mean " + quote(*best) + "?";
        else if (elsewhere)
            msg += "; it belongs in " + *elsewhere;
        else
            msg += "; known keys: " + join(known);
        error(at(k), w, msg);
    }
}

bool Reader::expect_type(const toml::node& n, toml::node_type t, const Where& w, const std::string& expected,
                         bool quote_value) {
    if (n.type() == t) return true;
    std::string msg = "expected " + expected + ", got " + type_name(n.type());
    if (quote_value) {
        if (const auto* i = n.as_integer()) msg += " " + std::to_string(i->get());
        if (const auto* b = n.as_boolean()) msg += b->get() ? " true" : " false";
    }
    error(at(n), w, msg);
    return false;
}

std::optional<Item> Reader::read(const toml::node& n, const Key& k, const Where& w) {
    Item item{n, w};
    const auto integer = [&](const std::string& what) {
        const std::string range = std::to_string(k.min) + ".." + std::to_string(k.max);
        if (!expect_type(n, toml::node_type::integer, w, "an integer " + range + " (" + what + ")"))
            return false;
        item.integer = n.as_integer()->get();
        if (item.integer >= k.min && item.integer <= k.max) return true;
        error(at(n), w,
              std::to_string(item.integer) + " is out of range; expected " + range + " (" + what + ")");
        return false;
    };
    const auto string = [&](const std::string& expected) {
        if (!expect_type(n, toml::node_type::string, w, expected, !k.secret)) return false;
        // A secret is not copied: its converter reads the parser's string, which load() wipes.
        if (!k.secret) item.text = n.as_string()->get();
        item.text_given = true;
        return true;
    };
    bool ok = false;
    switch (k.type) {
        case Type::string:
            ok = string(k.expected);
            break;
        case Type::integer:
            ok = integer(k.expected);
            break;
        case Type::boolean:
            ok = expect_type(n, toml::node_type::boolean, w, "true or false");
            if (ok) item.boolean = n.as_boolean()->get();
            break;
        case Type::choice: {
            const std::string expected = or_list(k.choices);
            if (!string(expected)) break;
            for (const auto& c : k.choices)
                if (item.text == c.name) {
                    item.choice = c.value;
                    ok = true;
                }
            if (!ok) error(at(n), w, "expected " + expected + ", got " + quote(item.text));
            break;
        }
        case Type::integer_or_string:
            ok = n.is_integer() ? integer(k.what) : string(k.expected);
            break;
        case Type::list:
            ok = expect_type(n, toml::node_type::array, w, k.expected);
            break;
        case Type::table:
            ok = expect_type(n, toml::node_type::table, w, k.expected, false);
            break;
    }
    if (!ok) return std::nullopt;
    return item;
}

void Reader::read_list(Context& c, const toml::array& a, const Key& k, const Where& w) {
    if (a.empty() && !k.empty.empty()) {
        error(at(a), w, k.empty);
        return;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        const toml::node& e = *a.get(i);
        if (k.max_items && i == k.max_items) {
            error(at(e), w,
                  std::to_string(a.size()) + " " + k.too_many + "; at most " + std::to_string(k.max_items) +
                      " are allowed (" + k.too_many_why + ")");
            return;
        }
        Key element{.key = k.key, .type = k.element, .expected = k.element_expected};
        const Where ew =
            k.element_label.empty() ? w : Where{w.group, k.element_label + " " + std::to_string(i + 1)};
        auto item = read(e, element, ew);
        if (!item) continue;
        item->index = i;
        k.store(c, *item);
    }
}

void Reader::read_keys(Context& c, const toml::table& t, std::span<const Key> keys, const Where& w) {
    for (const auto& k : keys) {
        if (!k.store) continue;  // read by the section's own converter
        const toml::node* n = t.get(k.key);
        if (!n) {
            if (!k.required.empty()) missing(t, w, k.required_as.empty() ? k.key : k.required_as, k.required);
            if (k.absent) k.absent(c);
            continue;
        }
        auto item = read(*n, k, w.sub(k.key));
        if (!item) continue;
        if (k.type == Type::list)
            read_list(c, *n->as_array(), k, item->where);
        else
            k.store(c, *item);
    }
}

}  // namespace member::schema
