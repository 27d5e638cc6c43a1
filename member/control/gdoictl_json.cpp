// Strict JSON on nlohmann-json. nlohmann's SAX parser does the lexing and the grammar;
// the Builder below refuses what the schema has no use for, builds the tree and records
// where each value and key starts. The parser reports no positions for values, so the
// text is fed through an iterator that remembers how far the lexer has read: a token
// starts after the previous one's end, past whitespace and a ',' or ':'.
#include "control/gdoictl_json.h"

#include <algorithm>
#include <cctype>
#include <exception>
#include <iterator>
#include <optional>

namespace member::json {
namespace {

// The document for nlohmann's lexer; *reached is one past the last byte it has read.
class CountingIterator {
public:
    using iterator_category = std::input_iterator_tag;
    using value_type = char;
    using difference_type = std::ptrdiff_t;
    using pointer = const char*;
    using reference = const char&;

    CountingIterator(const char* p, const char** reached) : p_(p), reached_(reached) {}
    reference operator*() const { return *p_; }
    CountingIterator& operator++() {
        *reached_ = ++p_;
        return *this;
    }
    CountingIterator operator++(int) {
        CountingIterator before = *this;
        ++*this;
        return before;
    }
    bool operator==(const CountingIterator& other) const { return p_ == other.p_; }

private:
    const char* p_;
    const char** reached_;
};

bool is_digit(char c) { return c >= '0' && c <= '9'; }

class Builder {
public:
    explicit Builder(std::string_view doc) : doc_(doc), reached_(doc.data()) {}

    const char** reached() { return &reached_; }
    const std::optional<std::pair<std::size_t, std::string>>& failure() const { return failure_; }
    Document take() { return Document(std::move(root_), std::move(offsets_)); }

    // ---- nlohmann SAX interface ----

    bool null() { return fail(start(), "null is not accepted here (this schema has no optional values)"); }
    bool boolean(bool b) {
        add(start(), Json(b));
        return true;
    }
    bool number_integer(Json::number_integer_t) { return fail(start(), kNegative); }
    bool number_unsigned(Json::number_unsigned_t n) {
        const std::size_t at = start();
        const std::size_t end = digits_end(at);
        // nlohmann reads "05" as 0 followed by 5; the digits after the 0 say what it was.
        if (end - at > 1 && doc_[at] == '0') return fail(at, "numbers must not have leading zeros");
        add(at, Json(n));
        end_ = end;  // the lexer has read one character past the number
        return true;
    }
    bool number_float(Json::number_float_t, const std::string&) {
        const std::size_t at = start();
        if (doc_[at] == '-') return fail(at, kNegative);
        const std::size_t end = digits_end(at);
        if (end < doc_.size() && (doc_[end] == '.' || doc_[end] == 'e' || doc_[end] == 'E'))
            return fail(end, kNotInteger);
        // All digits: nlohmann turns integers beyond 64 bits into floating point.
        return fail(at, "number does not fit in 64 bits (at most 18446744073709551615)");
    }
    bool string(std::string& s) {
        add(start(), Json(std::move(s)));
        return true;
    }
    bool binary(Json::binary_t&) { return fail(start(), "expected a value"); }  // not from JSON text
    bool start_object(std::size_t) { return open(Json::object()); }
    bool start_array(std::size_t) { return open(Json::array()); }
    bool end_object() { return close(); }
    bool end_array() { return close(); }
    bool key(std::string& k) {
        const std::size_t at = start();
        auto& members = stack_.back()->get_ref<Json::object_t&>();
        if (members.find(k) != members.end()) return fail(at, "duplicate key \"" + k + "\"");
        offsets_.push_back(at);
        key_ = std::move(k);
        after_key_ = true;
        just_opened_ = false;
        mark_end();
        return true;
    }
    bool parse_error(std::size_t, const std::string&, const Json::exception& e) {
        std::string what = e.what();
        what = what.substr(0, what.find("; last read: "));
        diagnose(what);
        return false;
    }

private:
    static constexpr const char* kNegative =
        "negative numbers are not accepted (all numbers are unsigned integers)";
    static constexpr const char* kNotInteger =
        "only unsigned integers are accepted (no fractions or exponents)";

    bool fail(std::size_t at, std::string what) {
        if (!failure_) failure_.emplace(at, std::move(what));
        return false;
    }

    std::size_t reached_offset() const { return static_cast<std::size_t>(reached_ - doc_.data()); }
    void mark_end() { end_ = reached_offset(); }

    std::size_t skip_whitespace(std::size_t i) const {
        while (i < doc_.size() && (doc_[i] == ' ' || doc_[i] == '\t' || doc_[i] == '\n' || doc_[i] == '\r'))
            ++i;
        return i;
    }
    std::size_t digits_end(std::size_t i) const {
        while (i < doc_.size() && is_digit(doc_[i])) ++i;
        return i;
    }
    bool at(std::size_t i, char c) const { return i < doc_.size() && doc_[i] == c; }

    // Where the token the parser has just read starts (it was accepted, so only
    // whitespace and one ',' or ':' lie between it and the previous token).
    std::size_t start() const {
        std::size_t i = skip_whitespace(end_);
        if (at(i, ',') || at(i, ':')) i = skip_whitespace(i + 1);
        return i;
    }

    // Adds a value where the grammar put it.
    Json* add(std::size_t offset, Json value) {
        offsets_.push_back(offset);
        mark_end();
        after_key_ = false;
        if (stack_.empty()) {
            root_ = std::move(value);
            root_done_ = true;
            return &root_;
        }
        Json& parent = *stack_.back();
        just_opened_ = false;
        if (parent.is_array()) {
            parent.push_back(std::move(value));
            return &parent.back();
        }
        auto& members = parent.get_ref<Json::object_t&>();
        members.emplace_back(std::move(key_), std::move(value));
        return &members.back().second;
    }

    bool open(Json container) {
        const std::size_t offset = start();
        if (stack_.size() + 1 > static_cast<std::size_t>(kJsonMaxDepth))
            return fail(offset, "nesting deeper than " + std::to_string(kJsonMaxDepth) + " levels");
        Json* slot = add(offset, std::move(container));
        root_done_ = false;
        stack_.push_back(slot);
        just_opened_ = true;
        return true;
    }

    bool close() {
        stack_.pop_back();
        just_opened_ = false;
        root_done_ = stack_.empty();
        mark_end();
        return true;
    }

    std::string describe(std::size_t i) const {
        if (i >= doc_.size()) return "end of input";
        constexpr char kHex[] = "0123456789abcdef";
        const unsigned char c = static_cast<unsigned char>(doc_[i]);
        if (c >= 0x20 && c < 0x7F) return std::string("'") + static_cast<char>(c) + "'";
        return std::string("byte 0x") + kHex[c >> 4] + kHex[c & 0xF];
    }

    // The parser stopped: say what was wrong where, in this module's words.
    void diagnose(const std::string& what) {
        std::size_t i = skip_whitespace(end_);
        if (stack_.empty()) {
            if (root_done_) {
                fail(i, "unexpected " + describe(i) + " after the JSON value");
                return;
            }
            bad_value(i, what);
            return;
        }
        const bool in_object = stack_.back()->is_object();
        if (just_opened_) {
            if (in_object && !at(i, '"')) {
                fail(i, "expected a string key, found " + describe(i));
                return;
            }
            bad_value(i, what);
            return;
        }
        if (after_key_) {
            if (!at(i, ':')) {
                fail(i, "expected ':', found " + describe(i));
                return;
            }
            bad_value(skip_whitespace(i + 1), what);
            return;
        }
        if (!at(i, ',')) {
            fail(i, in_object ? "expected ',' or '}' in object, found " + describe(i)
                              : "expected ',' or ']' in array, found " + describe(i));
            return;
        }
        i = skip_whitespace(i + 1);
        if (in_object && !at(i, '"')) {
            fail(i, "expected a string key, found " + describe(i));
            return;
        }
        bad_value(i, what);
    }

    // The value (or key) starting at i did not read.
    void bad_value(std::size_t i, const std::string& what) {
        if (i >= doc_.size()) {
            fail(i, "expected a value, found end of input");
        } else if (doc_[i] == '"') {
            bad_string(i, what);
        } else if (doc_[i] == 'n') {
            fail(i, "null is not accepted here (this schema has no optional values)");
        } else if (doc_[i] == '-') {
            fail(i, kNegative);
        } else if (const std::size_t end = digits_end(i);
                   end > i && (at(end, '.') || at(end, 'e') || at(end, 'E'))) {
            fail(end, kNotInteger);
        } else {
            fail(i, "expected a value, found " + describe(i));
        }
    }

    // The string starting at `begin` did not read; the lexer stopped at its last byte read.
    void bad_string(std::size_t begin, const std::string& what) {
        const std::size_t read = reached_offset();
        const std::size_t last = read > begin ? read - 1 : begin;
        const auto says = [&](std::string_view s) { return what.find(s) != std::string::npos; };
        if (says("missing closing quote") ||
            (says("after backslash") && read == doc_.size() && doc_[last] == '\\')) {
            fail(begin, "unterminated string");
        } else if (says("control character")) {
            fail(last, "control character " + describe(last) + " in string (escape it)");
        } else if (says("ill-formed UTF-8")) {
            fail(utf8_sequence_start(begin, last), "invalid UTF-8 in string");
        } else if (says("after backslash")) {
            fail(last - 1, "invalid escape \\" + std::string(1, doc_[last]) +
                               " (valid: \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)");
        } else if (says("4 hex digits") && doc_.size() - (escape_before(begin, last) + 2) < 4) {
            fail(escape_before(begin, last) + 2, "truncated \\u escape (expected 4 hex digits)");
        } else if (says("4 hex digits")) {
            fail(last, "expected a hex digit in \\u escape, found " + describe(last));
        } else if (says("must be followed by U+DC00")) {
            const std::size_t high = unpaired_high_surrogate(begin);
            const bool then_escape = high + 8 <= doc_.size() && doc_.substr(high + 6, 2) == "\\u";
            fail(high, then_escape ? "high surrogate not followed by a low surrogate"
                                   : "high surrogate not followed by a \\u low surrogate");
        } else if (says("must follow U+D800")) {
            fail(escape_before(begin, last), "lone low surrogate in \\u escape");
        } else {
            fail(begin, "invalid string");
        }
    }

    // The lexer refused the byte at `last`: the broken sequence starts at an unfinished
    // lead byte before it, else at `last` itself.
    std::size_t utf8_sequence_start(std::size_t begin, std::size_t last) const {
        const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(doc_[i]); };
        std::size_t j = last;
        while (j > begin + 1 && last - j < 3 && byte(j - 1) >= 0x80 && byte(j - 1) < 0xC0) --j;
        if (j == begin + 1 || byte(j - 1) < 0xC0) return last;
        const std::size_t length = byte(j - 1) >= 0xF0 ? 4 : byte(j - 1) >= 0xE0 ? 3 : 2;
        return length > last - (j - 1) ? j - 1 : last;
    }

    // The \u escape the lexer was reading at `last`.
    std::size_t escape_before(std::size_t begin, std::size_t last) const {
        for (std::size_t p = last - 1; p > begin; --p)  // `last` is not the escape's backslash
            if (doc_[p] == '\\' && at(p + 1, 'u')) return p;
        return last;
    }

    // The first \uD800..\uDBFF escape of the string at `begin` without a low surrogate
    // escape after it (the lexer accepted everything before it).
    std::size_t unpaired_high_surrogate(std::size_t begin) const {
        const auto code = [&](std::size_t p) -> long {  // the \uXXXX at p, -1 if none
            if (p + 6 > doc_.size() || doc_[p] != '\\' || doc_[p + 1] != 'u') return -1;
            const std::string hex(doc_.substr(p + 2, 4));
            if (hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) return -1;
            return std::stol(hex, nullptr, 16);
        };
        std::size_t p = begin + 1;
        while (p < doc_.size() && doc_[p] != '"') {
            if (doc_[p] != '\\') {
                ++p;
            } else if (const long c = code(p); c >= 0xD800 && c <= 0xDBFF) {
                const long low = code(p + 6);
                if (low < 0xDC00 || low > 0xDFFF) return p;
                p += 12;
            } else {
                p += c >= 0 ? 6 : 2;
            }
        }
        return begin;
    }

    std::string_view doc_;
    const char* reached_;
    std::size_t end_ = 0;  // one past the last token the parser accepted
    Json root_;
    bool root_done_ = false;
    std::vector<Json*> stack_;  // open arrays and objects, innermost last
    bool just_opened_ = false;  // nothing in the innermost container yet
    bool after_key_ = false;    // a key read, its value not yet
    std::string key_;
    std::vector<std::size_t> offsets_;
    std::optional<std::pair<std::size_t, std::string>> failure_;
};

// Walks the tree in document order, in step with the offsets the Builder recorded.
class OffsetFinder {
public:
    OffsetFinder(const std::vector<std::size_t>& offsets, const Json* target,
                 std::optional<std::string_view> key)
        : offsets_(offsets), target_(target), key_(key) {}

    std::size_t find(const Json& root) {
        visit(root);
        return found_.value_or(0);
    }

private:
    bool visit(const Json& v) {
        const std::size_t mine = next_++;
        if (!key_ && &v == target_) return take(mine);
        if (v.is_object()) {
            for (auto it = v.begin(); it != v.end(); ++it) {
                const std::size_t key_index = next_++;
                if (key_ && &v == target_ && it.key() == *key_) return take(key_index);
                if (visit(it.value())) return true;
            }
        } else if (v.is_array()) {
            for (const Json& item : v)
                if (visit(item)) return true;
        }
        return false;
    }
    bool take(std::size_t index) {
        if (index < offsets_.size()) found_ = offsets_[index];
        return true;
    }

    const std::vector<std::size_t>& offsets_;
    const Json* target_;
    std::optional<std::string_view> key_;
    std::size_t next_ = 0;
    std::optional<std::size_t> found_;
};

}  // namespace

std::size_t Document::offset_of(const Json& value) const {
    return OffsetFinder(offsets_, &value, std::nullopt).find(root_);
}

std::size_t Document::key_offset_of(const Json& object, std::string_view key) const {
    return OffsetFinder(offsets_, &object, key).find(root_);
}

std::string_view kind_name(Json::value_t kind) {
    switch (kind) {
        case Json::value_t::string:
            return "a string";
        case Json::value_t::number_unsigned:
            return "an unsigned integer";
        case Json::value_t::boolean:
            return "a boolean";
        case Json::value_t::array:
            return "an array";
        case Json::value_t::object:
            return "an object";
        default:
            return "a value";
    }
}

std::string describe_position(std::string_view document, std::size_t offset) {
    offset = std::min(offset, document.size());
    std::size_t line = 1;
    std::size_t column = 1;
    for (std::size_t i = 0; i < offset; ++i) {
        if (document[i] == '\n') {
            ++line;
            column = 1;
        } else if ((static_cast<unsigned char>(document[i]) & 0xC0) != 0x80) {
            ++column;
        }
    }
    return "byte " + std::to_string(offset) + " (line " + std::to_string(line) + ", column " +
           std::to_string(column) + ")";
}

common::Result<Document> parse(std::string_view document) {
    if (document.size() > kJsonMaxBytes)
        return common::make_error("JSON document of " + std::to_string(document.size()) +
                                  " bytes is larger than the limit of " + std::to_string(kJsonMaxBytes));
    const auto invalid = [&](std::size_t offset, const std::string& what) {
        return common::make_error("invalid JSON at " + describe_position(document, offset) + ": " + what);
    };
    // nlohmann skips a byte order mark; RFC 8259 §8.1 says not to send one.
    if (document.starts_with("\xEF\xBB\xBF")) return invalid(0, "expected a value, found byte 0xef");
    try {
        Builder builder(document);
        const char* const begin = document.data();
        const char* const end = begin + document.size();
        const bool ok = Json::sax_parse(
            CountingIterator(begin, builder.reached()), CountingIterator(end, builder.reached()), &builder,
            Json::input_format_t::json, /*strict=*/true, /*ignore_comments=*/false);
        if (!ok || builder.failure()) {
            if (!builder.failure()) return invalid(0, "not a JSON document");
            return invalid(builder.failure()->first, builder.failure()->second);
        }
        return builder.take();
    } catch (const std::exception& e) {
        return common::make_error(std::string("cannot read JSON: ") + e.what());
    }
}

std::string write(const Json& value, bool pretty) {
    if (!pretty) return value.dump(-1, ' ', false, Json::error_handler_t::replace);
    return value.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

}  // namespace member::json
