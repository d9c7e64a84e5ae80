// ScanResultLine: the results parser's fast path (results_parser.h). It reads one line of
// a results file in a single pass written for the providers' two line shapes: strings are
// skipped 16 bytes at a time, keys are predicted from the providers' usual order and
// matched 16 bytes at once, the keys the parser needs are taken only at their own depth (a
// "usage" or "custom_id" inside the model's text or tool-call JSON is never taken), and
// every byte is checked against the JSON grammar. It fills the ResultLine exactly as the
// simdjson path of the parser does.
//
// It accepts only what it fully understands: a line that is valid JSON (grammar, UTF-8, no
// raw control character in a string, nothing but blanks after the object, nesting below 64
// levels) and a result line of `kind` whose extracted strings hold no escape and whose
// counts and status are plain integers. On anything else it declines (returns nullptr) and
// the caller parses the line with simdjson, which also words the error. So it may decline a
// line simdjson accepts, but never accepts a line simdjson rejects and never reads a line
// differently: correctness never depends on this path.
//
// Thread-safe (no state but the loop choice below); no allocation.
#pragma once

#include <string_view>

#include "src/providers/result_line.h"

namespace batchlog::providers {

// Scans the line whose first non-blank byte is `begin`. The line must end with '\n' and the
// kResultsPaddingBytes bytes after that newline must be readable (the scanner reads at most
// 32 bytes past it, and never past a newline otherwise). On success returns the position
// of the line's newline, with `line` filled except line_number, which is left as it was;
// its strings view the input. Returns nullptr when it declines; `line` is then unspecified.
// `line` must be default-initialized (ResultLine{}) on entry, apart from line_number.
const char* ScanResultLine(ProviderKind kind, const char* begin, ResultLine& line);

// Tests only: whether the scanner uses its AVX2 loop where the processor has one (the
// default), so that both loops can be tested on one machine. Returns whether it now does.
// Not safe while lines are being scanned.
bool UseAvx2ForTesting(bool use);

// Sets the outcome and HTTP status of an Anthropic line from its non-empty result.type,
// once error_type is known: succeeded -> kResponded (200); errored -> kErrored with the
// status Anthropic sends with error_type (0 when unknown); canceled, expired; any other
// type -> kErrored with error_code set to it (the classifier reports it as unknown).
void SetAnthropicOutcome(std::string_view result_type, ResultLine& line);

}  // namespace batchlog::providers
