// LineDiff: what changed between two texts, line by line, for messages a person reads
// (e.g. why `batchlog run` refuses a run's changed workflow file). A longest-common-
// subsequence diff: each changed line as "  - N: old" (line N of `before`) or
// "  + N: new" (line N of `after`), in order, at most `max_lines` of them and then a count
// of the rest. Workflow files are small; for texts over 5,000 lines it compares the lines
// at equal positions instead, which is still correct for edits that change no line count.
//
// Thread-safety: a pure function.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace batchlog::orchestrator {

// Empty when the texts are equal.
std::string LineDiff(std::string_view before, std::string_view after, std::size_t max_lines = 20);

}  // namespace batchlog::orchestrator
