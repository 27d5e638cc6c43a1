// The vocabulary of member.toml as a table: per section, every key with its type, limits or
// allowed values, whether it is required, its default and one line of documentation
// (packaging/member.toml.example says the same at length). One generic reader
// (config/toml_reader.h) checks a file against these tables; each key's `store` puts the checked
// value into the model (config/config.h), through a converter (config/loader.h) where the key
// needs real parsing.
#pragma once

#include <toml++/toml.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace member::schema {

enum class Type {
    string,
    integer,
    boolean,
    choice,             // a string, one of `choices`
    integer_or_string,  // an integer in min..max (`what`), or a string (`expected`) a converter parses
    list,               // an array of `element`; the store is called once per element
    table,              // a sub-table read against `section`
};

struct Choice {
    std::string_view name;
    int value;  // the model's enumerator
};

// Where a diagnostic is, in words: the group it belongs to and the key path.
struct Where {
    std::string group{};  // "group \"NAME\"" or "group #2", empty at member level
    std::string key{};    // "ike.mode", "exclude rule 3: source", "[member]"

    Where sub(std::string_view k) const;
};

// One checked value, handed to a key's store.
struct Item {
    const toml::node& node;
    Where where{};
    std::int64_t integer = 0;  // integer, integer_or_string (when `text_given` is false)
    bool boolean = false;
    std::string text{};  // string, integer_or_string; empty for a secret (Key::secret)
    bool text_given = false;
    int choice = 0;
    std::size_t index = 0;  // list: the element's position
};

struct Context;  // the loader's state (config/loader.h)
using Store = void (*)(Context&, const Item&);
using Absent = void (*)(Context&);
struct Section;

struct Key {
    std::string key{};
    Type type = Type::string;
    // After "expected " when the value has the wrong type; for integers the words in parentheses
    // after the range ("an integer 1..65535 (UDP port, 848 by default)").
    std::string expected{};
    std::int64_t min = 0, max = 0;
    std::vector<Choice> choices{};
    Store store = nullptr;
    Absent absent = nullptr;     // called when the key is not given (a default the model cannot hold)
    std::string required{};      // empty: optional; else the hint of "missing required key"
    std::string required_as{};   // the key the "missing" message names, when not `key`
    std::string default_text{};  // as written in member.toml; empty when required or without default
    std::string doc{};           // one line
    bool secret = false;         // never quote the value in a message

    // integer_or_string: what the integer is, in the range message
    std::string what{};

    // list
    Type element = Type::string;
    std::string element_expected{};  // a wrong element: "expected <element_expected>, got ..."
    std::string element_label{};     // elements named "<label> N" in messages ("exclude rule")
    std::string empty{};             // the message for an empty list; empty: allowed
    std::size_t max_items = 0;       // 0: no limit
    std::string too_many{};          // "<n> <too_many>; at most <max> are allowed (<why>)", noun + why
    std::string too_many_why{};

    // table
    const Section* section = nullptr;
};

enum class SectionId { top, member, group, ike, exclude_rule, fail_open_rule };

struct Section {
    SectionId id;
    std::string label{};  // "in <label>" of unknown-key messages
    std::vector<Key> keys{};
    // An unknown key listed here gets this reason instead of a suggestion.
    std::vector<std::string> misplaced{};
    std::string misplaced_reason{};
    bool explain_elsewhere = true;  // "it belongs in ..." when the key is known in another table

    const Key* find(std::string_view key) const;
    // Its keys, then "<table key>.<sub key>" for its sub-tables: what a misspelt key may have meant.
    std::vector<std::string> suggestions() const;
};

const Section& top();
const Section& member_section();
const Section& group_section();
const Section& ike_section();
const Section& exclude_rule_section();
const Section& fail_open_rule_section();

// Every section, for documentation checks.
std::span<const Section* const> all_sections();

}  // namespace member::schema
