// WireReader: a forward reader over the bytes of one Protobuf message, for the decoders of
// the replay path (src/store/event_decoder.h, hot_event_decoder.h) that walk fields without
// Protobuf's parser; its wire types and ASCII check also serve hot_event_encoder.h. Every read
// fails (returns false) on malformed input; it never reads past the bytes it was given.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace batchlog::store {

inline constexpr std::uint32_t kVarintWire = 0;
inline constexpr std::uint32_t kFixed64Wire = 1;
inline constexpr std::uint32_t kLengthWire = 2;
inline constexpr std::uint32_t kFixed32Wire = 5;

// True when every byte of `text` is ASCII (so valid UTF-8), checked eight bytes at a time.
inline bool IsAsciiText(std::string_view text) {
  const char* p = text.data();
  const char* end = p + text.size();
  std::uint64_t high = 0;
  for (; end - p >= 8; p += 8) {
    std::uint64_t word = 0;
    std::memcpy(&word, p, 8);
    high |= word;
  }
  for (; p < end; ++p) high |= static_cast<std::uint8_t>(*p);
  return (high & 0x8080808080808080ull) == 0;
}

// A forward reader over one message's bytes; every read fails on malformed input.
class WireReader {
 public:
  explicit WireReader(std::string_view bytes)
      : p_(reinterpret_cast<const std::uint8_t*>(bytes.data())), end_(p_ + bytes.size()) {}

  bool done() const { return p_ == end_; }

  // A varint as Protobuf reads one: at most 10 bytes, bits past 64 dropped.
  bool Varint(std::uint64_t& value) {
    if (p_ < end_ && *p_ < 0x80) {
      value = *p_++;
      return true;
    }
    std::uint64_t result = 0;
    for (int shift = 0; shift < 70 && p_ < end_; shift += 7) {
      const std::uint8_t byte = *p_++;
      result |= static_cast<std::uint64_t>(byte & 0x7F) << shift;  // the 10th: shift 63
      if ((byte & 0x80) == 0) {
        value = result;
        return true;
      }
    }
    return false;
  }

  // A field key: its number and wire type.
  bool Tag(std::uint32_t& field, std::uint32_t& wire_type) {
    std::uint64_t tag = 0;
    if (!Varint(tag) || tag > 0xFFFFFFFFu) return false;
    field = static_cast<std::uint32_t>(tag >> 3);
    wire_type = static_cast<std::uint32_t>(tag & 7);
    return true;
  }

  bool Bytes(std::string_view& value) {
    std::uint64_t length = 0;
    if (!Varint(length) || length > static_cast<std::uint64_t>(end_ - p_)) return false;
    value = std::string_view(reinterpret_cast<const char*>(p_), length);
    p_ += length;
    return true;
  }

  // Bytes that are ASCII text: valid UTF-8 as Protobuf requires of a string field, and
  // checked eight bytes at a time. Other text goes to the generic parser, which validates it.
  bool Text(std::string_view& value) { return Bytes(value) && IsAsciiText(value); }

  // Passes over a field's value of `wire_type`; false for a group or an unknown wire type.
  bool Skip(std::uint32_t wire_type) {
    std::uint64_t ignored = 0;
    std::string_view bytes;
    switch (wire_type) {
      case kVarintWire:
        return Varint(ignored);
      case kFixed64Wire:
        return Advance(8);
      case kLengthWire:
        return Bytes(bytes);
      case kFixed32Wire:
        return Advance(4);
      default:
        return false;
    }
  }

 private:
  bool Advance(std::size_t bytes) {
    if (bytes > static_cast<std::size_t>(end_ - p_)) return false;
    p_ += bytes;
    return true;
  }

  const std::uint8_t* p_;
  const std::uint8_t* end_;
};

}  // namespace batchlog::store
