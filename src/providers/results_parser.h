// ResultsParser: reads a provider's batch results file (JSONL, one request per line) and
// hands each line to a callback as a provider-neutral ResultLine (result_line.h). Each line
// is read by a single-pass scanner written for the two providers' line shapes
// (results_line_scanner.h); a line it does not fully understand (an escape in a string the
// parser returns, an unusual value, anything malformed) is parsed by simdjson On-Demand
// instead, which also words every error, so both paths return the same lines. When most
// lines of a window are declined, the rest of the window goes to simdjson's stream path
// (iterate_many) at once. Files are memory-mapped and released behind the cursor (or read
// through a bounded buffer when they cannot be mapped), so multi-GB files never sit in
// memory whole. About 3.0 GB/s (OpenAI lines) and 3.6 GB/s (Anthropic) per CPU-second on
// one core here, against 1.9 and 2.1 for simdjson alone (bench/README.md, "Results
// parsing").
//
// Line shapes (the providers' wire formats):
//   OpenAI    {"id","custom_id","response":{"status_code","request_id","body"}|null,
//              "error":{"code","message"}|null}
//   Anthropic {"custom_id","result":{"type":"succeeded"|"errored"|"canceled"|"expired",
//              "message":{..}, "error":{"type":"error","error":{"type","message"}}}}
// Field order never matters; unknown keys are skipped; optional fields may be absent.
//
// What the parser checks, and the Status it returns:
// - Completeness. A results file must end with '\n'. A last line without its newline, or a
//   last line that is not complete JSON, means the download was cut short:
//   kUnavailable "results file <name> is incomplete: line N is truncated (re-download)".
//   A missing final newline is found before any callback runs.
// - Syntax. A line that is not a JSON object anywhere else: kInvalidArgument naming the
//   file and the 1-based line. Each line holds one whole JSON value (JSONL). The scanner
//   checks every byte; On-Demand, which judges the lines the scanner declines, checks the
//   parts it does not read only for structure (balanced brackets, closed strings, UTF-8),
//   not scalar by scalar.
// - Shape. A well-formed line that is not a result line (no custom_id; OpenAI with neither
//   response nor error, or a response without status_code; Anthropic without result.type):
//   kInvalidArgument naming the line. Two JSON values on one line are malformed too.
// - Blank lines (only whitespace, "\r\n" included) are ignored and still counted.
// - An Anthropic result.type this parser does not know is delivered as kErrored with
//   error_code set to that type (the classifier then reports it as unknown).
// - OpenAI Responses API bodies: finish_reason is incomplete_details.reason when
//   choices[] is absent; usage input_tokens/output_tokens/input_tokens_details are read.
// - The callback's non-OK Status stops parsing and is returned as is.
// On any error, the lines before the failing one have already been delivered: the caller
// must treat the file as not ingested (re-ingesting is keyed by custom_id, so a second
// pass after a re-download is safe).
//
// Lifetime: every string_view in the ResultLine points into the parser's buffers and is
// valid only during the callback. ResultLine::body is the exact bytes of the body value in
// the file (never re-serialized); the other strings are JSON-unescaped.
//
// Files must not shrink while they are parsed (a memory-mapped page past the new end would
// fault): parse downloads after they are complete and renamed into place.
//
// Thread-safety: a ResultsParser is used by one thread at a time; distinct parsers are
// independent. The callback always runs on the calling thread (stage1_thread only moves
// indexing). Memory: chunk_bytes of mapped pages (or of buffer) plus the longest line,
// and simdjson's index of a declined line (about 5x its size), or of a window handed to
// the stream path (5x batch_bytes).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string_view>

#include "src/base/result.h"
#include "src/base/status.h"
#include "src/providers/result_line.h"

namespace batchlog::providers {

// Bytes that must be readable after the end of a buffer handed to ParseBuffer
// (simdjson::SIMDJSON_PADDING; checked by a static_assert in the .cc).
inline constexpr std::size_t kResultsPaddingBytes = 64;

struct ResultsParserOptions {
  // Files are memory-mapped (no copy) and parsed this many bytes at a time, cut at the
  // last newline; parsed pages are released behind. Files that cannot be mapped (pipes)
  // are read(2) in pieces of this size into a reused buffer instead. Default 1 MiB (4 MiB
  // is no faster; with line_scanner off, 1 MiB keeps the bytes in cache between
  // simdjson's two passes, and 64 MiB is about 30 % slower).
  std::size_t chunk_bytes = std::size_t{1} << 20;
  // Off: always read(2) (for tests of that path, and file systems without mmap).
  bool memory_map = true;
  // With line_scanner off: the simdjson iterate_many window, stage 1 indexes this many
  // bytes at a time; a line longer than the window is parsed on its own (slower, still
  // correct). Default 256 KiB.
  std::size_t batch_bytes = std::size_t{256} << 10;
  // The longest line accepted; a longer one is kInvalidArgument (bounds the buffer).
  // Default 1 GiB.
  std::size_t line_bytes_max = std::size_t{1} << 30;
  // Lines go through the line scanner first (results_line_scanner.h). Off: every line is
  // parsed by simdjson On-Demand over iterate_many windows, the parser before the scanner
  // (for comparisons and tests; the same results, slower).
  bool line_scanner = true;
  // With line_scanner off only: runs simdjson's stage 1 (indexing) of the next window on a
  // helper thread while this thread reads the current one. Default off: one core, as the
  // orchestrator has other work.
  bool stage1_thread = false;
};

// Counts over one parse. `lines` counts result lines delivered (blank lines excluded);
// `bytes` the bytes read, blank lines and newlines included.
struct ParseSummary {
  std::uint64_t lines = 0;
  std::uint64_t bytes = 0;
  std::uint64_t responded = 0;
  std::uint64_t errored = 0;
  std::uint64_t canceled = 0;
  std::uint64_t expired = 0;
  // Result lines the line scanner declined and simdjson read (escapes in a returned
  // string, unusual values, ...); all of them with line_scanner off.
  std::uint64_t simdjson_lines = 0;
  bool operator==(const ParseSummary&) const = default;
};

// Receives every result line in file order. A non-OK Status stops the parse.
using ResultCallback = std::function<base::Status(const ResultLine&)>;

class ResultsParser {
 public:
  explicit ResultsParser(ProviderKind kind, ResultsParserOptions options = {});
  ~ResultsParser();
  ResultsParser(const ResultsParser&) = delete;
  ResultsParser& operator=(const ResultsParser&) = delete;

  // Streams the file at `path` through the reused chunk buffer. Messages name `path`.
  base::Result<ParseSummary> ParseFile(const std::filesystem::path& path,
                                       const ResultCallback& callback);

  // Parses the complete results text `jsonl` in place (no copy). The kResultsPaddingBytes
  // bytes after jsonl.end() must be readable (their content does not matter); `name`
  // appears in messages.
  base::Result<ParseSummary> ParseBuffer(std::string_view jsonl, std::string_view name,
                                         const ResultCallback& callback);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// One-shot forms. ParseResults copies `jsonl` into a padded buffer first (fine for small
// inputs and tests; large inputs belong in a file or in ParseBuffer).
base::Result<ParseSummary> ParseResults(ProviderKind kind, std::string_view jsonl,
                                        const ResultCallback& callback);
base::Result<ParseSummary> ParseResultsFile(ProviderKind kind, const std::filesystem::path& path,
                                            const ResultCallback& callback,
                                            const ResultsParserOptions& options = {});

}  // namespace batchlog::providers
