#include "gdoi/bytes.h"

namespace gdoi {

bool ByteReader::need(size_t n) {
    if (failed_ || data_.size() - pos_ < n) {
        failed_ = true;
        return false;
    }
    return true;
}

uint8_t ByteReader::u8() {
    if (!need(1)) return 0;
    return data_[pos_++];
}

uint16_t ByteReader::u16() {
    if (!need(2)) return 0;
    uint16_t v = static_cast<uint16_t>(data_[pos_] << 8 | data_[pos_ + 1]);
    pos_ += 2;
    return v;
}

uint32_t ByteReader::u32() {
    if (!need(4)) return 0;
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v = v << 8 | data_[pos_ + i];
    pos_ += 4;
    return v;
}

uint64_t ByteReader::u64() {
    if (!need(8)) return 0;
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = v << 8 | data_[pos_ + i];
    pos_ += 8;
    return v;
}

ByteView ByteReader::take(size_t n) {
    if (!need(n)) return {};
    ByteView v = data_.subspan(pos_, n);
    pos_ += n;
    return v;
}

ByteWriter& ByteWriter::u8(uint8_t v) {
    out_.push_back(v);
    return *this;
}

ByteWriter& ByteWriter::u16(uint16_t v) {
    out_.push_back(static_cast<uint8_t>(v >> 8));
    out_.push_back(static_cast<uint8_t>(v));
    return *this;
}

ByteWriter& ByteWriter::u32(uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) out_.push_back(static_cast<uint8_t>(v >> s));
    return *this;
}

ByteWriter& ByteWriter::u64(uint64_t v) {
    for (int s = 56; s >= 0; s -= 8) out_.push_back(static_cast<uint8_t>(v >> s));
    return *this;
}

ByteWriter& ByteWriter::bytes(ByteView v) {
    out_.insert(out_.end(), v.begin(), v.end());
    return *this;
}

ByteWriter& ByteWriter::zeros(size_t n) {
    out_.insert(out_.end(), n, 0);
    return *this;
}

void ByteWriter::put_u16_at(size_t offset, uint16_t v) {
    out_.at(offset) = static_cast<uint8_t>(v >> 8);
    out_.at(offset + 1) = static_cast<uint8_t>(v);
}

void ByteWriter::put_u32_at(size_t offset, uint32_t v) {
    for (int i = 0; i < 4; ++i) out_.at(offset + i) = static_cast<uint8_t>(v >> (24 - 8 * i));
}

std::string to_hex(ByteView data) {
    static const char* digits = "0123456789abcdef";
    std::string s;
    s.reserve(data.size() * 2);
    for (uint8_t b : data) {
        s.push_back(digits[b >> 4]);
        s.push_back(digits[b & 15]);
    }
    return s;
}

Bytes concat(std::initializer_list<ByteView> parts) {
    Bytes out;
    for (ByteView p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

}  // namespace gdoi
