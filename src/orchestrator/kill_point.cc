#include "src/orchestrator/kill_point.h"

#include <unistd.h>
#include <atomic>
#include <charconv>
#include <csignal>
#include <cstdlib>
#include <string>

namespace batchlog::orchestrator {
namespace {

struct Selection {
  bool armed = false;
  std::string name;
  long hit = 1;
  std::atomic<long> seen{0};
};

Selection& Selected() {
  static Selection* selection = [] {
    auto* parsed = new Selection();
    const char* value = std::getenv("BATCHLOG_KILL_POINT");
    if (value == nullptr || *value == '\0') return parsed;
    std::string_view text(value);
    const std::size_t colon = text.rfind(':');
    parsed->name = std::string(text.substr(0, colon));
    if (colon != std::string_view::npos) {
      const std::string_view count = text.substr(colon + 1);
      std::from_chars(count.data(), count.data() + count.size(), parsed->hit);
    }
    parsed->armed = !parsed->name.empty() && parsed->hit >= 1;
    return parsed;
  }();
  return *selection;
}

}  // namespace

void KillPoint(std::string_view name) {
  Selection& selection = Selected();
  if (!selection.armed || name != selection.name) return;
  if (selection.seen.fetch_add(1) + 1 != selection.hit) return;
  // As abrupt as kill -9: no atexit handlers, no stream flushing, no destructors.
  static constexpr char kMessage[] = "batchlog: stopped at kill point\n";
  [[maybe_unused]] const ssize_t ignored = ::write(2, kMessage, sizeof(kMessage) - 1);
  ::_exit(137);
}

}  // namespace batchlog::orchestrator
