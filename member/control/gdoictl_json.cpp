// Strict JSON reader/writer for the control socket. The grammar is RFC 8259 §2-§7
// minus null, negative numbers, fractions and exponents. Every read is bounds-checked
// against the document; errors name the byte, line and column.
#include "control/gdoictl_json.h"

#include <algorithm>
#include <limits>

namespace member::json {
namespace {

constexpr char kHex[] = "0123456789abcdef";

struct ParseFailure {
    std::size_t offset;
    std::string what;
};

// Decodes one UTF-8 sequence at s[i] (RFC 3629 §4: shortest form, no surrogates,
// at most U+10FFFF). Returns its length, or 0 when invalid.
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char c = byte(i);
    if (c < 0x80) return 1;
    std::size_t len = 0;
    uint32_t cp = 0;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (s.size() - i < len) return 0;
    for (std::size_t k = 1; k < len; ++k) {
        const unsigned char cc = byte(i + k);
        if ((cc & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (cc & 0x3F);
    }
    if (len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) return 0;
    if (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) return 0;
    return len;
}

void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

class Parser {
public:
    explicit Parser(std::string_view doc) : doc_(doc) {}

    Value document() {
        skip_whitespace();
        Value v = value(0);
        skip_whitespace();
        if (pos_ != doc_.size()) fail(pos_, "unexpected " + describe_here() + " after the JSON value");
        return v;
    }

private:
    [[noreturn]] void fail(std::size_t at, std::string what) { throw ParseFailure{at, std::move(what)}; }

    bool at_end() const { return pos_ >= doc_.size(); }
    char peek() const { return doc_[pos_]; }

    std::string describe_here() const {
        if (at_end()) return "end of input";
        const unsigned char c = static_cast<unsigned char>(peek());
        if (c >= 0x20 && c < 0x7F) return std::string("'") + static_cast<char>(c) + "'";
        return std::string("byte 0x") + kHex[c >> 4] + kHex[c & 0xF];
    }

    void skip_whitespace() {
        while (!at_end() && (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r')) ++pos_;
    }

    void expect(char c) {
        if (at_end() || peek() != c)
            fail(pos_, std::string("expected '") + c + "', found " + describe_here());
        ++pos_;
    }

    void literal(std::string_view word) {
        if (doc_.substr(pos_, word.size()) != word) fail(pos_, "expected a value, found " + describe_here());
        pos_ += word.size();
    }

    Value value(int depth) {
        if (at_end()) fail(pos_, "expected a value, found end of input");
        const std::size_t start = pos_;
        Value v;
        switch (peek()) {
            case '{':
                v = object(depth + 1);
                break;
            case '[':
                v = array(depth + 1);
                break;
            case '"':
                v = Value::make_string(string());
                break;
            case 't':
                literal("true");
                v = Value::make_bool(true);
                break;
            case 'f':
                literal("false");
                v = Value::make_bool(false);
                break;
            case 'n':
                fail(pos_, "null is not accepted here (this schema has no optional values)");
            case '-':
                fail(pos_, "negative numbers are not accepted (all numbers are unsigned integers)");
            default:
                if (peek() >= '0' && peek() <= '9') {
                    v = Value::make_unsigned(number());
                    break;
                }
                fail(pos_, "expected a value, found " + describe_here());
        }
        v.offset = start;
        return v;
    }

    uint64_t number() {
        const std::size_t start = pos_;
        uint64_t n = 0;
        while (!at_end() && peek() >= '0' && peek() <= '9') {
            const uint64_t digit = static_cast<uint64_t>(peek() - '0');
            if (n > (std::numeric_limits<uint64_t>::max() - digit) / 10)
                fail(start, "number does not fit in 64 bits (at most 18446744073709551615)");
            n = n * 10 + digit;
            ++pos_;
        }
        if (pos_ - start > 1 && doc_[start] == '0') fail(start, "numbers must not have leading zeros");
        if (!at_end() && (peek() == '.' || peek() == 'e' || peek() == 'E'))
            fail(pos_, "only unsigned integers are accepted (no fractions or exponents)");
        return n;
    }

    uint32_t hex4() {
        if (doc_.size() - pos_ < 4) fail(pos_, "truncated \\u escape (expected 4 hex digits)");
        uint32_t v = 0;
        for (int k = 0; k < 4; ++k) {
            const char c = peek();
            uint32_t d;
            if (c >= '0' && c <= '9') {
                d = static_cast<uint32_t>(c - '0');
            } else if (c >= 'a' && c <= 'f') {
                d = static_cast<uint32_t>(c - 'a' + 10);
            } else if (c >= 'A' && c <= 'F') {
                d = static_cast<uint32_t>(c - 'A' + 10);
            } else {
                fail(pos_, "expected a hex digit in \\u escape, found " + describe_here());
            }
            v = (v << 4) | d;
            ++pos_;
        }
        return v;
    }

    std::string string() {
        const std::size_t start = pos_;
        expect('"');
        std::string out;
        for (;;) {
            if (at_end()) fail(start, "unterminated string");
            const unsigned char c = static_cast<unsigned char>(peek());
            if (c == '"') {
                ++pos_;
                return out;
            }
            if (c < 0x20) fail(pos_, "control character " + describe_here() + " in string (escape it)");
            if (c == '\\') {
                const std::size_t esc = pos_;
                ++pos_;
                if (at_end()) fail(start, "unterminated string");
                const char e = peek();
                ++pos_;
                switch (e) {
                    case '"':
                        out += '"';
                        break;
                    case '\\':
                        out += '\\';
                        break;
                    case '/':
                        out += '/';
                        break;
                    case 'b':
                        out += '\b';
                        break;
                    case 'f':
                        out += '\f';
                        break;
                    case 'n':
                        out += '\n';
                        break;
                    case 'r':
                        out += '\r';
                        break;
                    case 't':
                        out += '\t';
                        break;
                    case 'u': {
                        uint32_t cp = hex4();
                        if (cp >= 0xDC00 && cp <= 0xDFFF) fail(esc, "lone low surrogate in \\u escape");
                        if (cp >= 0xD800 && cp <= 0xDBFF) {
                            if (doc_.substr(pos_, 2) != "\\u")
                                fail(esc, "high surrogate not followed by a \\u low surrogate");
                            pos_ += 2;
                            const uint32_t low = hex4();
                            if (low < 0xDC00 || low > 0xDFFF)
                                fail(esc, "high surrogate not followed by a low surrogate");
                            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                        }
                        append_utf8(out, cp);
                        break;
                    }
                    default:
                        fail(esc, "invalid escape \\" + std::string(1, e) +
                                      " (valid: \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)");
                }
                continue;
            }
            const std::size_t len = utf8_sequence_length(doc_, pos_);
            if (len == 0) fail(pos_, "invalid UTF-8 in string");
            out.append(doc_.substr(pos_, len));
            pos_ += len;
        }
    }

    void check_depth(int depth, std::size_t at) {
        if (depth > kJsonMaxDepth)
            fail(at, "nesting deeper than " + std::to_string(kJsonMaxDepth) + " levels");
    }

    Value array(int depth) {
        check_depth(depth, pos_);
        expect('[');
        Value v = Value::make_array();
        skip_whitespace();
        if (!at_end() && peek() == ']') {
            ++pos_;
            return v;
        }
        for (;;) {
            skip_whitespace();
            v.items.push_back(value(depth));
            skip_whitespace();
            if (!at_end() && peek() == ',') {
                ++pos_;
                continue;
            }
            if (at_end() || peek() != ']')
                fail(pos_, "expected ',' or ']' in array, found " + describe_here());
            ++pos_;
            return v;
        }
    }

    Value object(int depth) {
        check_depth(depth, pos_);
        expect('{');
        Value v = Value::make_object();
        skip_whitespace();
        if (!at_end() && peek() == '}') {
            ++pos_;
            return v;
        }
        for (;;) {
            skip_whitespace();
            if (at_end() || peek() != '"') fail(pos_, "expected a string key, found " + describe_here());
            const std::size_t key_at = pos_;
            std::string key = string();
            if (v.find(key) != nullptr) fail(key_at, "duplicate key \"" + key + "\"");
            skip_whitespace();
            expect(':');
            skip_whitespace();
            Value member_value = value(depth);
            v.members.push_back(Member{std::move(key), key_at, std::move(member_value)});
            skip_whitespace();
            if (!at_end() && peek() == ',') {
                ++pos_;
                continue;
            }
            if (at_end() || peek() != '}')
                fail(pos_, "expected ',' or '}' in object, found " + describe_here());
            ++pos_;
            return v;
        }
    }

    std::string_view doc_;
    std::size_t pos_ = 0;
};

void write_string(std::string& out, std::string_view s) {
    out += '"';
    std::size_t i = 0;
    while (i < s.size()) {
        const unsigned char c = static_cast<unsigned char>(s[i]);
        switch (c) {
            case '"':
                out += "\\\"";
                ++i;
                continue;
            case '\\':
                out += "\\\\";
                ++i;
                continue;
            case '\b':
                out += "\\b";
                ++i;
                continue;
            case '\f':
                out += "\\f";
                ++i;
                continue;
            case '\n':
                out += "\\n";
                ++i;
                continue;
            case '\r':
                out += "\\r";
                ++i;
                continue;
            case '\t':
                out += "\\t";
                ++i;
                continue;
            default:
                break;
        }
        if (c < 0x20 || c == 0x7F) {
            out += "\\u00";
            out += kHex[c >> 4];
            out += kHex[c & 0xF];
            ++i;
            continue;
        }
        const std::size_t len = utf8_sequence_length(s, i);
        if (len == 0) {
            out += "\\ufffd";  // not UTF-8: replacement character, the document stays valid
            ++i;
            continue;
        }
        out.append(s.substr(i, len));
        i += len;
    }
    out += '"';
}

void write_value(std::string& out, const Value& v, bool pretty, int indent) {
    const auto newline = [&](int level) {
        if (!pretty) return;
        out += '\n';
        out.append(static_cast<std::size_t>(level) * 2, ' ');
    };
    switch (v.kind) {
        case Value::Kind::string:
            write_string(out, v.string);
            return;
        case Value::Kind::unsigned_integer:
            out += std::to_string(v.number);
            return;
        case Value::Kind::boolean:
            out += v.boolean ? "true" : "false";
            return;
        case Value::Kind::array:
            out += '[';
            for (std::size_t k = 0; k < v.items.size(); ++k) {
                if (k > 0) out += ',';
                newline(indent + 1);
                write_value(out, v.items[k], pretty, indent + 1);
            }
            if (!v.items.empty()) newline(indent);
            out += ']';
            return;
        case Value::Kind::object:
            out += '{';
            for (std::size_t k = 0; k < v.members.size(); ++k) {
                if (k > 0) out += ',';
                newline(indent + 1);
                write_string(out, v.members[k].key);
                out += pretty ? ": " : ":";
                write_value(out, v.members[k].value, pretty, indent + 1);
            }
            if (!v.members.empty()) newline(indent);
            out += '}';
            return;
    }
}

}  // namespace

Value Value::make_string(std::string s) {
    Value v;
    v.kind = Kind::string;
    v.string = std::move(s);
    return v;
}

Value Value::make_unsigned(uint64_t n) {
    Value v;
    v.kind = Kind::unsigned_integer;
    v.number = n;
    return v;
}

Value Value::make_bool(bool b) {
    Value v;
    v.kind = Kind::boolean;
    v.boolean = b;
    return v;
}

Value Value::make_array() {
    Value v;
    v.kind = Kind::array;
    return v;
}

Value Value::make_object() {
    Value v;
    v.kind = Kind::object;
    return v;
}

Value& Value::add(std::string key, Value v) {
    members.push_back(Member{std::move(key), 0, std::move(v)});
    return members.back().value;
}

const Value* Value::find(std::string_view key) const {
    const auto it =
        std::find_if(members.begin(), members.end(), [&](const Member& m) { return m.key == key; });
    return it == members.end() ? nullptr : &it->value;
}

std::string_view kind_name(Value::Kind kind) {
    switch (kind) {
        case Value::Kind::string:
            return "a string";
        case Value::Kind::unsigned_integer:
            return "an unsigned integer";
        case Value::Kind::boolean:
            return "a boolean";
        case Value::Kind::array:
            return "an array";
        case Value::Kind::object:
            return "an object";
    }
    return "a value";
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

common::Result<Value> parse(std::string_view document) {
    if (document.size() > kJsonMaxBytes)
        return common::make_error("JSON document of " + std::to_string(document.size()) +
                                  " bytes is larger than the limit of " + std::to_string(kJsonMaxBytes));
    try {
        return Parser(document).document();
    } catch (const ParseFailure& f) {
        return common::make_error("invalid JSON at " + describe_position(document, f.offset) + ": " + f.what);
    }
}

std::string write(const Value& value, bool pretty) {
    std::string out;
    write_value(out, value, pretty, 0);
    if (pretty) out += '\n';
    return out;
}

}  // namespace member::json
