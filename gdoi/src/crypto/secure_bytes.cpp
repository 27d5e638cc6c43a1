#include "gdoi/secure_bytes.h"

#include <sodium.h>

#include <cstring>
#include <stdexcept>

#include "secure_pool.h"

namespace gdoi {

using detail::secure_allocate;
using detail::secure_deallocate;

// secure_allocate() hands out zero-filled memory.
SecureBytes::SecureBytes(size_t size) : ptr_(secure_allocate(size)), size_(size), capacity_(size) {}

SecureBytes::SecureBytes(std::span<const uint8_t> data)
    : ptr_(secure_allocate(data.size())), size_(data.size()), capacity_(data.size()) {
    if (size_ != 0) std::memcpy(ptr_, data.data(), size_);
}

SecureBytes::~SecureBytes() { release(); }

SecureBytes::SecureBytes(const SecureBytes& other) : SecureBytes(other.view()) {}

SecureBytes& SecureBytes::operator=(const SecureBytes& other) {
    if (this != &other) {
        SecureBytes copy(other);
        *this = std::move(copy);
    }
    return *this;
}

SecureBytes::SecureBytes(SecureBytes&& other) noexcept
    : ptr_(other.ptr_), size_(other.size_), capacity_(other.capacity_) {
    other.ptr_ = nullptr;
    other.size_ = 0;
    other.capacity_ = 0;
}

SecureBytes& SecureBytes::operator=(SecureBytes&& other) noexcept {
    if (this != &other) {
        release();
        ptr_ = other.ptr_;
        size_ = other.size_;
        capacity_ = other.capacity_;
        other.ptr_ = nullptr;
        other.size_ = 0;
        other.capacity_ = 0;
    }
    return *this;
}

void SecureBytes::release() {
    secure_deallocate(ptr_, capacity_);  // wipes
    ptr_ = nullptr;
    size_ = 0;
    capacity_ = 0;
}

void SecureBytes::reserve(size_t capacity) {
    if (capacity <= capacity_) return;
    uint8_t* p = secure_allocate(capacity);
    if (size_ != 0) std::memcpy(p, ptr_, size_);
    const size_t size = size_;
    release();
    ptr_ = p;
    size_ = size;
    capacity_ = capacity;
}

void SecureBytes::resize(size_t n) {
    reserve(n);
    if (n < size_) sodium_memzero(ptr_ + n, size_ - n);
    size_ = n;
}

bool SecureBytes::equals(std::span<const uint8_t> other) const { return constant_time_equal(view(), other); }

SecureBytes SecureBytes::prefix(size_t n) const {
    if (n > size_) throw std::out_of_range("SecureBytes::prefix beyond size");
    return SecureBytes(view().first(n));
}

void wipe(std::span<uint8_t> data) {
    if (!data.empty()) sodium_memzero(data.data(), data.size());
}

bool constant_time_equal(std::span<const uint8_t> a, std::span<const uint8_t> b) {
    if (a.size() != b.size()) return false;
    if (a.empty()) return true;
    return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace gdoi
