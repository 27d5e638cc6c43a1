// Byte buffers and bounds-checked big-endian reading/writing for the wire codec.
// Every read is checked against the remaining length: a short input never reads
// past its end, it sets the reader's failed() flag instead.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace gdoi {

using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;

class ByteReader {
public:
    explicit ByteReader(ByteView data) : data_(data) {}

    size_t remaining() const { return failed_ ? 0 : data_.size() - pos_; }
    size_t position() const { return pos_; }
    bool failed() const { return failed_; }
    bool at_end() const { return remaining() == 0; }

    uint8_t u8();
    uint16_t u16();
    uint32_t u32();
    uint64_t u64();
    // Returns a view of the next n bytes (empty and failed() when fewer remain).
    ByteView take(size_t n);
    ByteView rest() { return take(remaining()); }

private:
    bool need(size_t n);
    ByteView data_;
    size_t pos_ = 0;
    bool failed_ = false;
};

class ByteWriter {
public:
    ByteWriter& u8(uint8_t v);
    ByteWriter& u16(uint16_t v);
    ByteWriter& u32(uint32_t v);
    ByteWriter& u64(uint64_t v);
    ByteWriter& bytes(ByteView v);
    ByteWriter& zeros(size_t n);
    // Overwrites a big-endian u16/u32 already written at offset (lengths known later).
    void put_u16_at(size_t offset, uint16_t v);
    void put_u32_at(size_t offset, uint32_t v);

    size_t size() const { return out_.size(); }
    const Bytes& data() const { return out_; }
    Bytes take() { return std::move(out_); }

private:
    Bytes out_;
};

std::string to_hex(ByteView data);
Bytes concat(std::initializer_list<ByteView> parts);

}  // namespace gdoi
