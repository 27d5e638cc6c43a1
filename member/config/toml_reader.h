// The generic reader of member.toml: checks a parsed table against a section of the schema
// (config/schema.h) — unknown keys with a "did you mean", missing required keys, types, ranges,
// allowed values, list sizes — and collects one diagnostic per problem:
//   "<file>:<line>:<column>: [<group>: ][<key>: ]<what is wrong>; <what would be right>"
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/schema.h"

namespace member::schema {

struct Position {
    std::uint32_t line = 1;
    std::uint32_t column = 1;
};

Position at(const toml::node& n);
Position at(const toml::key& k);

std::string quote(std::string_view s);
const char* type_name(toml::node_type t);

class Reader {
public:
    explicit Reader(std::string source) : source_(std::move(source)) {}

    const std::string& source() const { return source_; }
    std::size_t error_count() const { return diagnostics_.size(); }
    void error(Position p, const Where& w, const std::string& message);
    // The diagnostics in file order, at most 20 and a count of the rest.
    std::string report();

    void missing(const toml::node& table, const Where& w, std::string_view key, const std::string& hint);
    // Reports every key of `t` that `s` does not know.
    void check_keys(const toml::table& t, const Section& s, const Where& w);

    // Type, range and allowed values of a present key; nullopt after reporting the problem.
    std::optional<Item> read(const toml::node& n, const Key& k, const Where& w);
    // A value of type `t`; "expected <expected>, got <its type>[ <its value>]" otherwise.
    bool expect_type(const toml::node& n, toml::node_type t, const Where& w, const std::string& expected,
                     bool quote_value = true);

    // Reads `keys` (a section's, or a slice of them) from `t` in table order: the missing
    // required ones are reported, the present ones checked and handed to their store. Keys
    // without a store are left to the section's own converter (ike.psk, ike.psk-file).
    void read_keys(Context& c, const toml::table& t, std::span<const Key> keys, const Where& w);

private:
    void read_list(Context& c, const toml::array& a, const Key& k, const Where& w);

    struct Diagnostic {
        std::uint32_t line = 0;
        std::uint32_t column = 0;
        std::string text;
    };
    std::string source_;
    std::vector<Diagnostic> diagnostics_;
};

}  // namespace member::schema
