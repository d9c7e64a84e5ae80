// UnsentBodies: the bodies of requests this process planned and has not submitted yet,
// kept from their RequestPlanned step so that building their first batch's upload does
// not read them back from the log (about 5 % of the engine's CPU at scale). An effect-side
// cache only: the log holds every body; a body not kept (a resumed run, a retry batch, the
// cap reached) is read from the log as before, and the bytes are the same either way.
//
// Ownership: a plain value. Thread-safety: none (the executor's thread).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>

namespace batchlog::orchestrator {

class UnsentBodies {
 public:
  static constexpr std::size_t kDefaultMaxBytes = std::size_t{128} << 20;

  explicit UnsentBodies(std::size_t max_bytes = kDefaultMaxBytes) : max_bytes_(max_bytes) {}

  // Keeps `body`, the blob of the RequestPlanned at `seq`, unless that would pass the cap
  // (then the body is left in place and reads fall back to the log).
  void Keep(std::uint64_t seq, std::string& body);
  // Moves the body kept for `seq` into `out` and forgets it; false when none is kept.
  bool Take(std::uint64_t seq, std::string& out);

  std::size_t size() const { return bodies_.size(); }
  std::size_t bytes() const { return bytes_; }

 private:
  std::unordered_map<std::uint64_t, std::string> bodies_;
  std::size_t bytes_ = 0;
  std::size_t max_bytes_;
};

}  // namespace batchlog::orchestrator
