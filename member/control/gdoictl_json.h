// The small, strict JSON used on the control socket (RFC 8259 subset). Values are
// strings, unsigned integers, booleans, arrays and objects — nothing else: null,
// negative numbers, fractions and exponents are rejected with the byte position, as
// are duplicate keys, invalid UTF-8, lone surrogates, nesting deeper than
// kJsonMaxDepth and documents larger than kJsonMaxBytes. The schema on top of it
// (MemberStatus, ok/error replies) lives in status_json.h and control.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace member::json {

inline constexpr std::size_t kJsonMaxBytes = 16 * 1024 * 1024;
inline constexpr int kJsonMaxDepth = 16;

struct Member;

struct Value {
    enum class Kind { string, unsigned_integer, boolean, array, object };

    Kind kind = Kind::object;
    std::size_t offset = 0;  // byte offset of the value's first character in the document
    std::string string;
    uint64_t number = 0;
    bool boolean = false;
    std::vector<Value> items;     // array
    std::vector<Member> members;  // object, in document order, keys unique

    static Value make_string(std::string s);
    static Value make_unsigned(uint64_t n);
    static Value make_bool(bool b);
    static Value make_array();
    static Value make_object();

    // Object helpers: add a member (writer side), find one (nullptr when absent).
    Value& add(std::string key, Value v);
    const Value* find(std::string_view key) const;
};

struct Member {
    std::string key;
    std::size_t key_offset = 0;
    Value value;
};

std::string_view kind_name(Value::Kind kind);

// "byte 17 (line 2, column 5)" for error messages.
std::string describe_position(std::string_view document, std::size_t offset);

// Parses exactly one value surrounded by optional whitespace.
common::Result<Value> parse(std::string_view document);

// Writes the value; pretty = two-space indentation and a newline per member/item
// (stable output: same value, same bytes). Strings are escaped per RFC 8259 §7; bytes
// that are not valid UTF-8 are written as U+FFFD so the output always parses.
std::string write(const Value& value, bool pretty = true);

}  // namespace member::json
