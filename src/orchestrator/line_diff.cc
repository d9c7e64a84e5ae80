#include "src/orchestrator/line_diff.h"

#include <algorithm>
#include <cstdint>
#include <vector>

namespace batchlog::orchestrator {
namespace {

constexpr std::size_t kMaxLcsLines = 5000;

std::vector<std::string_view> SplitLines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    lines.push_back(text.substr(0, end));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return lines;
}

class DiffWriter {
 public:
  explicit DiffWriter(std::size_t max_lines) : max_lines_(max_lines) {}
  void Line(char sign, std::size_t number, std::string_view text) {
    if (written_++ >= max_lines_) return;
    out_ += "  ";
    out_ += sign;
    out_ += ' ';
    out_ += std::to_string(number);
    out_ += ": ";
    out_ += text;
    out_ += '\n';
  }
  std::string Finish() {
    if (written_ > max_lines_) {
      out_ += "  ... and " + std::to_string(written_ - max_lines_) + " more changed lines\n";
    }
    return std::move(out_);
  }

 private:
  std::size_t max_lines_;
  std::size_t written_ = 0;
  std::string out_;
};

}  // namespace

std::string LineDiff(std::string_view before, std::string_view after, std::size_t max_lines) {
  if (before == after) return {};
  const std::vector<std::string_view> a = SplitLines(before);
  const std::vector<std::string_view> b = SplitLines(after);
  DiffWriter diff(max_lines);
  if (a.size() > kMaxLcsLines || b.size() > kMaxLcsLines) {
    const std::size_t common = std::min(a.size(), b.size());
    for (std::size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
      if (i < common && a[i] == b[i]) continue;
      if (i < a.size()) diff.Line('-', i + 1, a[i]);
      if (i < b.size()) diff.Line('+', i + 1, b[i]);
    }
    return diff.Finish();
  }
  // lcs[i][j]: the longest common subsequence of a[i..] and b[j..].
  const std::size_t width = b.size() + 1;
  std::vector<std::uint32_t> lcs((a.size() + 1) * width, 0);
  for (std::size_t i = a.size(); i-- > 0;) {
    for (std::size_t j = b.size(); j-- > 0;) {
      lcs[i * width + j] = a[i] == b[j]
                               ? lcs[(i + 1) * width + j + 1] + 1
                               : std::max(lcs[(i + 1) * width + j], lcs[i * width + j + 1]);
    }
  }
  std::size_t i = 0;
  std::size_t j = 0;
  while (i < a.size() || j < b.size()) {
    if (i < a.size() && j < b.size() && a[i] == b[j]) {
      ++i;
      ++j;
    } else if (j == b.size() ||
               (i < a.size() && lcs[(i + 1) * width + j] >= lcs[i * width + j + 1])) {
      diff.Line('-', i + 1, a[i]);
      ++i;
    } else {
      diff.Line('+', j + 1, b[j]);
      ++j;
    }
  }
  return diff.Finish();
}

}  // namespace batchlog::orchestrator
