// The strict JSON of the control socket, on nlohmann-json: the library's parser reads the
// text, this module refuses what the schema has no use for and keeps where every value
// starts, so that errors name the byte, line and column. Accepted: strings, unsigned
// integers, booleans, arrays and objects. Rejected with the byte position: null,
// negative numbers, fractions and exponents, leading zeros, duplicate keys, invalid
// UTF-8, lone surrogates, a byte order mark, nesting deeper than kJsonMaxDepth and
// documents larger than kJsonMaxBytes. The schema on top of it (MemberStatus, ok/error
// replies) lives in status_json.h and control.h.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace member::json {

// Objects keep their members in insertion (= document) order, so output order is the
// order the writer adds the fields in.
using Json = nlohmann::ordered_json;

inline constexpr std::size_t kJsonMaxBytes = 16 * 1024 * 1024;
inline constexpr int kJsonMaxDepth = 16;

// A parsed document: the value and, for error messages, where its parts start.
class Document {
public:
    Document(Json root, std::vector<std::size_t> offsets)
        : root_(std::move(root)), offsets_(std::move(offsets)) {}

    const Json& root() const { return root_; }
    // Byte offset of the first character of `value` (a part of root()).
    std::size_t offset_of(const Json& value) const;
    // Byte offset of the key `key` of the object `object` (a part of root()).
    std::size_t key_offset_of(const Json& object, std::string_view key) const;

private:
    Json root_;
    std::vector<std::size_t> offsets_;  // every value and key, in document order
};

// "a string", "an unsigned integer", "a boolean", "an array", "an object".
std::string_view kind_name(Json::value_t kind);

// "byte 17 (line 2, column 5)" for error messages.
std::string describe_position(std::string_view document, std::size_t offset);

// Parses exactly one value surrounded by optional whitespace. Never throws.
common::Result<Document> parse(std::string_view document);

// Writes the value; pretty = two-space indentation and a newline per member/item and
// at the end (stable output: same value, same bytes). Strings are escaped per RFC 8259
// §7; bytes that are not valid UTF-8 are written as U+FFFD so the output always parses.
std::string write(const Json& value, bool pretty = true);

}  // namespace member::json
