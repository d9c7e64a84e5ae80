// Secret: an API key or other credential. It has no formatter, no stream operator and no
// implicit conversion, so `spdlog::info("{}", key)` or `"key=" + key` does not compile
// (shared style G15). Only src/http unwraps it, with RevealForHeader(), to build a header;
// the tidy test forbids that call anywhere else.
//
// Thread-safety: an immutable value.
#pragma once

#include <string>
#include <string_view>
#include <utility>

namespace batchlog::base {

class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string value) : value_(std::move(value)) {}

  Secret(const Secret&) = default;
  Secret& operator=(const Secret&) = default;
  Secret(Secret&&) noexcept = default;
  Secret& operator=(Secret&&) noexcept = default;
  ~Secret() {
    // Best-effort wipe; the optimizer may not elide writes through a volatile pointer.
    volatile char* p = value_.data();
    for (std::size_t i = 0; i < value_.size(); ++i) p[i] = 0;
  }

  bool empty() const { return value_.empty(); }
  std::size_t size() const { return value_.size(); }

  // A redacted form safe for messages: "<secret: 51 bytes>".
  std::string Redacted() const { return "<secret: " + std::to_string(value_.size()) + " bytes>"; }

  // The raw value, for building an HTTP header in src/http only (enforced by the tidy test).
  std::string_view RevealForHeader() const { return value_; }

  friend bool operator==(const Secret& a, const Secret& b) { return a.value_ == b.value_; }

 private:
  std::string value_;
};

}  // namespace batchlog::base
