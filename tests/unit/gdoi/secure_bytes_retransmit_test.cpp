// SecureBytes value semantics and the Retransmitter's backoff schedule.
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <utility>

#include "gdoi/retransmit.h"
#include "gdoi/secure_bytes.h"
#include "test_util.h"

using namespace gdoi;
using namespace std::chrono_literals;
using gdoi::test::hex;

// ---------------------------------------------------------------- SecureBytes

TEST_CASE("SecureBytes: construction", "[secure_bytes]") {
    SecureBytes empty;
    CHECK(empty.empty());
    CHECK(empty.size() == 0);
    CHECK(empty.view().empty());

    SecureBytes zeros(24);
    REQUIRE(zeros.size() == 24);
    CHECK(test::to_bytes(zeros) == Bytes(24, 0));

    const Bytes data = hex("00112233445566778899");
    SecureBytes s(data);
    CHECK(s.size() == data.size());
    CHECK(test::to_bytes(s) == data);
    CHECK(s.data() != data.data());     // a copy in its own memory
    std::span<const uint8_t> view = s;  // implicit conversion
    CHECK(view.data() == s.data());
    CHECK(view.size() == s.size());
    s.span()[0] = 0xff;
    CHECK(s.data()[0] == 0xff);
    CHECK(data[0] == 0x00);
}

TEST_CASE("SecureBytes: copy is deep", "[secure_bytes]") {
    SecureBytes a(hex("0102030405"));
    SecureBytes b(a);
    CHECK(b.data() != a.data());
    CHECK(test::to_bytes(b) == test::to_bytes(a));
    b.data()[0] = 9;
    CHECK(a.data()[0] == 1);

    SecureBytes c(hex("ffff"));
    c = a;
    CHECK(c.data() != a.data());
    CHECK(test::to_bytes(c) == hex("0102030405"));

    const SecureBytes& alias = c;
    c = alias;  // self-assignment keeps the value
    CHECK(test::to_bytes(c) == hex("0102030405"));

    SecureBytes empty;
    SecureBytes copy_of_empty(empty);
    CHECK(copy_of_empty.empty());
    c = empty;
    CHECK(c.empty());
}

TEST_CASE("SecureBytes: move transfers the buffer", "[secure_bytes]") {
    SecureBytes a(hex("a0a1a2a3"));
    const uint8_t* p = a.data();
    SecureBytes b(std::move(a));
    CHECK(b.data() == p);
    CHECK(test::to_bytes(b) == hex("a0a1a2a3"));
    CHECK(a.empty());  // NOLINT(bugprone-use-after-move): moved-from is empty by contract
    CHECK(a.data() == nullptr);

    SecureBytes c(hex("0102"));
    c = std::move(b);
    CHECK(c.data() == p);
    CHECK(b.empty());  // NOLINT(bugprone-use-after-move)
    CHECK(test::to_bytes(c) == hex("a0a1a2a3"));

    SecureBytes& alias = c;
    c = std::move(alias);  // self-move keeps the value
    CHECK(test::to_bytes(c) == hex("a0a1a2a3"));

    static_assert(std::is_nothrow_move_constructible_v<SecureBytes>);
    static_assert(std::is_nothrow_move_assignable_v<SecureBytes>);
}

TEST_CASE("SecureBytes: equals() and constant_time_equal", "[secure_bytes]") {
    SecureBytes a(hex("000102030405060708090a0b0c0d0e0f"));
    CHECK(a.equals(hex("000102030405060708090a0b0c0d0e0f")));
    CHECK_FALSE(a.equals(hex("000102030405060708090a0b0c0d0e0e")));    // last byte
    CHECK_FALSE(a.equals(hex("800102030405060708090a0b0c0d0e0f")));    // first byte
    CHECK_FALSE(a.equals(hex("000102030405060708090a0b0c0d0e")));      // shorter prefix
    CHECK_FALSE(a.equals(hex("000102030405060708090a0b0c0d0e0f00")));  // longer
    CHECK_FALSE(a.equals({}));
    CHECK(SecureBytes().equals({}));
    CHECK_FALSE(SecureBytes().equals(hex("00")));

    CHECK(constant_time_equal(hex("abcd"), hex("abcd")));
    CHECK_FALSE(constant_time_equal(hex("abcd"), hex("abce")));
    CHECK_FALSE(constant_time_equal(hex("abcd"), hex("ab")));
    CHECK(constant_time_equal({}, {}));
}

TEST_CASE("SecureBytes: prefix()", "[secure_bytes]") {
    SecureBytes a(hex("0102030405060708"));
    SecureBytes p = a.prefix(3);
    CHECK(test::to_bytes(p) == hex("010203"));
    CHECK(p.data() != a.data());
    CHECK(test::to_bytes(a.prefix(8)) == test::to_bytes(a));
    CHECK(a.prefix(0).empty());
    CHECK_THROWS_AS(a.prefix(9), std::out_of_range);
    CHECK(SecureBytes().prefix(0).empty());
}

TEST_CASE("SecureBytes: reserve() and resize() keep the memory within the capacity", "[secure_bytes]") {
    SecureBytes s;
    CHECK(s.capacity() == 0);
    s.reserve(64);
    CHECK(s.empty());
    CHECK(s.capacity() == 64);
    const uint8_t* memory = s.data();
    REQUIRE(memory != nullptr);

    s.resize(20);
    CHECK(s.data() == memory);
    CHECK(test::to_bytes(s) == Bytes(20, 0));
    std::fill(s.span().begin(), s.span().end(), uint8_t{0xab});
    s.resize(8);  // the 12 bytes given up are wiped: growing again shows zeros
    s.resize(20);
    Bytes expected(8, 0xab);
    expected.resize(20, 0);
    CHECK(test::to_bytes(s) == expected);
    CHECK(s.data() == memory);
    s.reserve(16);  // below the capacity: nothing changes
    CHECK(s.capacity() == 64);
    CHECK(s.data() == memory);

    s.resize(100);  // beyond it: new memory, the bytes kept
    CHECK(s.capacity() == 100);
    expected.resize(100, 0);
    CHECK(test::to_bytes(s) == expected);

    SecureBytes copy(s);  // a copy takes only what it holds
    CHECK(copy.capacity() == 100);
    s.resize(10);
    SecureBytes smaller(s);
    CHECK(smaller.capacity() == 10);
    SecureBytes moved(std::move(s));
    CHECK(moved.capacity() == 100);
    CHECK(s.capacity() == 0);
    CHECK(s.empty());
}

TEST_CASE("wipe() zeroes a buffer", "[secure_bytes]") {
    Bytes b = hex("ffeeddcc");
    wipe(b);
    CHECK(b == Bytes(4, 0));
    Bytes empty;
    wipe(empty);  // no-op
    CHECK(empty.empty());
}

// ---------------------------------------------------------------- Retransmitter

TEST_CASE("Retransmitter: same bytes at doubling intervals, capped, until the total", "[retransmit]") {
    RetransmitPolicy policy{500ms, 4000ms, 15000ms};
    Retransmitter r(policy);
    const Clock::time_point t0{std::chrono::seconds(1000)};
    const Bytes msg = hex("0102030405");
    r.sent(msg, t0);
    CHECK(r.transmissions() == 1);
    CHECK(r.deadline() == t0 + 500ms);
    CHECK_FALSE(r.due(t0 + 499ms).has_value());  // not yet

    // 500, 1000, 2000, 4000, 4000, ... after each retransmission.
    std::vector<std::chrono::milliseconds> intervals;
    Clock::time_point now = t0 + 500ms;
    while (true) {
        auto again = r.due(now);
        if (!again) break;
        CHECK(*again == msg);
        intervals.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(r.deadline() - now));
        now = r.deadline();
        if (r.expired(now)) break;
    }
    // Sent at 0, resent at 0.5, 1.5, 3.5, 7.5 and 11.5 s; after that the deadline is
    // the give-up time (15 s), 3.5 s later.
    REQUIRE(intervals.size() == 5);
    CHECK(intervals[0] == 1000ms);
    CHECK(intervals[1] == 2000ms);
    CHECK(intervals[2] == 4000ms);
    CHECK(intervals[3] == 4000ms);  // capped at max_interval
    CHECK(intervals[4] == 3500ms);
    CHECK(now == t0 + 15000ms);
    CHECK(r.expired(now));
    CHECK_FALSE(r.due(now).has_value());
    CHECK(r.transmissions() == 6);
}

TEST_CASE("Retransmitter: a new message restarts the interval, not the total", "[retransmit]") {
    Retransmitter r(RetransmitPolicy{100ms, 1000ms, 2000ms});
    const Clock::time_point t0{std::chrono::seconds(50)};
    r.sent(hex("01"), t0);
    REQUIRE(r.due(t0 + 100ms).has_value());
    REQUIRE(r.due(t0 + 300ms).has_value());
    CHECK(r.deadline() == t0 + 300ms + 400ms);
    r.sent(hex("02"), t0 + 500ms);  // next message of the exchange
    CHECK(r.deadline() == t0 + 600ms);
    auto again = r.due(t0 + 600ms);
    REQUIRE(again.has_value());
    CHECK(*again == hex("02"));
    CHECK(r.expired(t0 + 2000ms));  // still measured from the first message
    CHECK_FALSE(r.expired(t0 + 1999ms));
    CHECK(r.transmissions() == 5);
}

TEST_CASE("Retransmitter: deadline never beyond the give-up time", "[retransmit]") {
    Retransmitter r(RetransmitPolicy{5000ms, 5000ms, 3000ms});
    const Clock::time_point t0{std::chrono::seconds(7)};
    r.sent(hex("aa"), t0);
    CHECK(r.deadline() == t0 + 3000ms);
    CHECK_FALSE(r.due(t0 + 3000ms).has_value());
    CHECK(r.expired(t0 + 3000ms));
}
