// Helpers shared by the gdoi unit tests: hex literals, byte views of strings and
// checking that a Result failed with a given ParseError.
#pragma once

#include <catch2/catch.hpp>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "gdoi/bytes.h"
#include "gdoi/isakmp.h"
#include "gdoi/secure_bytes.h"

namespace gdoi::test {

// "00 01 0a ff" or "00010aff" (spaces ignored).
inline Bytes hex(std::string_view s) {
    Bytes out;
    int hi = -1;
    for (char c : s) {
        if (c == ' ' || c == '\n') continue;
        int v;
        if (c >= '0' && c <= '9')
            v = c - '0';
        else if (c >= 'a' && c <= 'f')
            v = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v = c - 'A' + 10;
        else
            throw std::invalid_argument("bad hex digit");
        if (hi < 0) {
            hi = v;
        } else {
            out.push_back(static_cast<uint8_t>(hi << 4 | v));
            hi = -1;
        }
    }
    if (hi >= 0) throw std::invalid_argument("odd number of hex digits");
    return out;
}

inline Bytes str(std::string_view s) { return Bytes(s.begin(), s.end()); }
inline Bytes to_bytes(ByteView v) { return Bytes(v.begin(), v.end()); }
inline Bytes to_bytes(const SecureBytes& s) { return Bytes(s.data(), s.data() + s.size()); }
inline std::string hexs(ByteView v) { return to_hex(v); }

// The ParseError of a failed Result (fails the test if it succeeded).
template <typename R>
isakmp::ParseError parse_error(const R& result) {
    REQUIRE_FALSE(result.ok());
    INFO(result.error().message);
    return isakmp::parse_error_of(result.error());
}

// A datagram the test expects to parse.
inline isakmp::ParsedMessage parse(const Bytes& datagram) {
    auto m = isakmp::parse_message(datagram);
    REQUIRE(m.ok());
    return *m;
}

}  // namespace gdoi::test

// Catch prints byte vectors as hex in failure messages.
namespace Catch {
template <>
struct StringMaker<gdoi::Bytes> {
    static std::string convert(const gdoi::Bytes& v) { return "0x" + gdoi::to_hex(v); }
};
}  // namespace Catch
