// MessageBuffer: netlink requests back to back, wiped because SA requests carry keys.
#include <string.h>  // explicit_bzero

#include <cstring>

#include "xfrm/netlink.h"

namespace xfrm {

void wipe(std::span<uint8_t> bytes) {
    if (!bytes.empty()) explicit_bzero(bytes.data(), bytes.size());
}

MessageBuffer::~MessageBuffer() { clear(); }

MessageBuffer::MessageBuffer(MessageBuffer&& other) noexcept
    : data_(std::move(other.data_)),
      size_(std::exchange(other.size_, 0)),
      capacity_(std::exchange(other.capacity_, 0)),
      requests_(std::move(other.requests_)) {}

MessageBuffer& MessageBuffer::operator=(MessageBuffer&& other) noexcept {
    if (this != &other) {
        clear();
        data_ = std::move(other.data_);
        size_ = std::exchange(other.size_, 0);
        capacity_ = std::exchange(other.capacity_, 0);
        requests_ = std::move(other.requests_);
    }
    return *this;
}

void MessageBuffer::clear() {
    if (data_) wipe({data_.get(), capacity_});
    size_ = 0;
    requests_.clear();
}

void MessageBuffer::reserve(std::size_t capacity) {
    if (capacity <= capacity_) return;
    std::size_t grown = capacity_ ? capacity_ : 4096;
    while (grown < capacity) grown *= 2;
    auto fresh = std::make_unique<uint8_t[]>(grown);
    if (size_) std::memcpy(fresh.get(), data_.get(), size_);
    if (data_) wipe({data_.get(), capacity_});
    data_ = std::move(fresh);
    capacity_ = grown;
}

void MessageBuffer::append(std::span<const uint8_t> message, ObjectKind kind, Family family,
                           std::string what) {
    reserve(size_ + message.size());
    std::memcpy(data_.get() + size_, message.data(), message.size());
    requests_.push_back({size_, message.size(), kind, family, std::move(what)});
    size_ += message.size();
}

void MessageBuffer::tolerate_last(Tolerate tolerate) {
    if (!requests_.empty()) requests_.back().tolerate = tolerate;
}

}  // namespace xfrm
