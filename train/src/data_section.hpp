// The container's data section as a writer builds it: tensor bytes placed at 64-byte-aligned offsets, then
// streamed after the size-prefixed FlatBuffer (container version 2, see autorec/container.hpp).
#pragma once

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "autorec/container.hpp"

namespace autorec::train {

class DataSection {
 public:
  // Places bytes (referenced, not copied: they must outlive content()); returns their offset in the section.
  std::uint64_t add(std::span<const std::uint8_t> bytes) {
    size_ = align_up(size_, kDataAlignment);
    placed_.push_back({size_, bytes});
    const std::uint64_t offset = size_;
    size_ += bytes.size();
    return offset;
  }

  // The whole container content: the finished FlatBuffer, zero padding, and every placed tensor.
  std::vector<std::span<const std::uint8_t>> content(std::span<const std::uint8_t> flatbuffer) const {
    static constexpr std::uint8_t kZeros[kDataAlignment] = {};
    std::vector<std::span<const std::uint8_t>> out = {flatbuffer};
    const std::uint64_t base = data_section_start(flatbuffer.size());
    std::uint64_t at = flatbuffer.size();
    for (const auto& [offset, bytes] : placed_) {
      out.push_back({kZeros, static_cast<std::size_t>(base + offset - at)});
      out.push_back(bytes);
      at = base + offset + bytes.size();
    }
    return out;
  }

 private:
  std::vector<std::pair<std::uint64_t, std::span<const std::uint8_t>>> placed_;
  std::uint64_t size_ = 0;
};

}  // namespace autorec::train
