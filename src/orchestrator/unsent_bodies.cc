#include "src/orchestrator/unsent_bodies.h"

#include <utility>

namespace batchlog::orchestrator {

void UnsentBodies::Keep(std::uint64_t seq, std::string& body) {
  if (body.size() > max_bytes_ - bytes_) return;
  auto [it, inserted] = bodies_.try_emplace(seq);
  if (!inserted) bytes_ -= it->second.size();  // a seq is planned once; stay consistent anyway
  it->second = std::move(body);
  bytes_ += it->second.size();
}

bool UnsentBodies::Take(std::uint64_t seq, std::string& out) {
  const auto it = bodies_.find(seq);
  if (it == bodies_.end()) return false;
  bytes_ -= it->second.size();
  out = std::move(it->second);
  bodies_.erase(it);
  return true;
}

}  // namespace batchlog::orchestrator
