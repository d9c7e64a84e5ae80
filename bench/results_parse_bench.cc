// batchlog_bench_results_parse: the design's "results file parsing" target (>= 3 GB/s on
// one core, end to end into provider-neutral results), measured against raw simdjson.
//
// It writes a results file per provider (default 500 MB each; BATCHLOG_BENCH_RESULTS_MB)
// of realistic lines: OpenAI Chat Completions successes of ~1-2 KB with 5 % HTTP and
// non-HTTP failures and a few content-filtered answers; Anthropic Message Batches
// successes with errored, expired and canceled results. Then, with the page cache warm,
// it times (best of BATCHLOG_BENCH_REPEAT runs, default 3):
//
//   parse_file          ParseResultsFile end to end: the file memory-mapped (default) or
//                       read(2) in chunks, parsed by the line scanner, and a callback that
//                       touches every field (sums lengths and usage, counts outcomes); also
//                       by simdjson alone (line_scanner off: the parser before the scanner),
//                       with and without stage 1 on a helper thread (stage1_thread)
//   parse_buffer        the same parse from a buffer already in memory (no read(2))
//   anchor_extract      raw simdjson iterate_many over the in-memory file, extracting only
//                       custom_id, the status and the raw body bytes (no batchlog code)
//   anchor_stage1       raw simdjson iterate_many visiting each document without reading
//                       it: the indexing floor of the simdjson path
//   anchor_newlines     memchr for every newline of the in-memory file: the floor of any
//                       line-by-line reader
//
// BATCHLOG_BENCH_ONLY=TEXT runs only the rows whose label holds TEXT. GB/s is decimal
// (1e9 bytes/s). Figures are reported per wall second and per CPU second
// of the benchmark thread; the second is far less sensitive to other load. Prints a
// Markdown table for bench/README.md.
#include <simdjson.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bench/thread_cpu.h"
#include "src/base/random.h"
#include "src/base/status.h"
#include "src/providers/result_line.h"
#include "src/providers/results_parser.h"
#include "tests/support/temp_dir.h"

namespace batchlog::bench {
namespace {

using providers::ProviderKind;
using providers::ResultLine;
using providers::ResultOutcome;
using SteadyClock = std::chrono::steady_clock;

std::uint64_t EnvOr(const char* name, std::uint64_t fallback) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') return fallback;
  return std::strtoull(text, nullptr, 10);
}

// ---- Corpus ----

constexpr std::string_view kWords[] = {
    "the",       "sum",      "of",        "two",      "and",     "is",         "four",
    "paraphrase", "result",  "therefore", "because",  "number",  "equation",   "we",
    "consider",  "value",    "prime",     "seven",    "answer",  "step",       "first",
    "then",      "finally",  "solution",  "problem",  "given",   "that",       "which",
    "a",         "an",       "in",        "with",     "model",   "integer",    "digits",
    "multiply",  "divide",   "subtract",  "explain",  "clearly", "concise",    "example"};

class CorpusWriter {
 public:
  explicit CorpusWriter(std::uint64_t seed) : random_(seed) {}

  // Prose of about `chars` characters, with the escapes real completions carry.
  void AppendText(std::string& out, std::size_t chars) {
    const std::size_t start = out.size();
    while (out.size() - start < chars) {
      const std::string_view word = kWords[random_.Below(std::size(kWords))];
      out += word;
      const std::uint64_t roll = random_.Below(100);
      if (roll < 3) {
        out += ".\\n\\n";
      } else if (roll < 5) {
        out += ", \\\"";
        out += kWords[random_.Below(std::size(kWords))];
        out += "\\\" ";
      } else if (roll < 12) {
        out += ". ";
      } else {
        out += ' ';
      }
    }
  }

  std::string Hex(int digits) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string text;
    for (int i = 0; i < digits; ++i) text += kHex[random_.Below(16)];
    return text;
  }

  std::string CustomId(std::uint64_t i) {
    return "math-paraphrase_s" + std::to_string(i) + "_orig_e0_" + Hex(6);
  }

  void OpenAiLine(std::string& out, std::uint64_t i) {
    out += R"({"id":"batch_req_)" + Hex(24) + R"(","custom_id":")" + CustomId(i) + "\"";
    const std::uint64_t roll = random_.Below(1000);
    if (roll < 10) {
      out += R"(,"response":null,"error":{"code":"batch_expired","message":"This request could not)"
          R"( be executed before the completion window expired."}})";
    } else if (roll < 30) {
      out += R"(,"response":{"status_code":429,"request_id":"req_)" + Hex(32) +
             R"(","body":{"error":{"message":"Rate limit reached for requests. Please try again la)"
                 R"(ter.","type":"requests","param":null,"code":"rate_limit_exceeded"}}},"error":n)"
                 R"(ull})";
    } else if (roll < 40) {
      out += R"(,"response":{"status_code":500,"request_id":"req_)" + Hex(32) +
             R"(","body":{"error":{"message":"The server had an error while processing your reques)"
                 R"(t. Sorry about that!","type":"server_error","param":null,"code":null}}},"error)"
                 R"(":null})";
    } else if (roll < 50) {
      out += R"(,"response":{"status_code":400,"request_id":"req_)" + Hex(32) +
             R"(","body":{"error":{"message":"This model's maximum context length is 128000 tokens)"
                 R"(. Please reduce the length of the messages.","type":"invalid_request_error","p)"
                 R"(aram":"messages","code":"context_length_exceeded"}}},"error":null})";
    } else {
      const bool filtered = roll < 55;
      const std::uint64_t prompt = 200 + random_.Below(1500);
      const std::uint64_t completion = 100 + random_.Below(400);
      out += R"(,"response":{"status_code":200,"request_id":"req_)" + Hex(32) +
             R"(","body":{"id":"chatcmpl-)" + Hex(29) +
             R"(","object":"chat.completion","created":1767228000,"model":"gpt-4o-mini-2024-07-18")"
                 R"(,"choices":[{"index":0,"message":{"role":"assistant","content":")";
      AppendText(out, filtered ? 40 : 500 + random_.Below(1100));
      out += R"(","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":")";
      out += filtered ? "content_filter" : "stop";
      out += R"("}],"usage":{"prompt_tokens":)" + std::to_string(prompt) +
             R"(,"completion_tokens":)" + std::to_string(completion) +
             R"(,"total_tokens":)" + std::to_string(prompt + completion) +
             R"(,"prompt_tokens_details":{"cached_tokens":)" +
             std::to_string(random_.Below(2) * 128) +
             R"(,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens)"
                 R"(":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},"service_t)"
                 R"(ier":"default","system_fingerprint":"fp_)" +
             Hex(10) + R"("}},"error":null})";
    }
    out += '\n';
  }

  void AnthropicLine(std::string& out, std::uint64_t i) {
    out += R"({"custom_id":")" + CustomId(i) + R"(","result":)";
    const std::uint64_t roll = random_.Below(1000);
    if (roll < 10) {
      out += R"({"type":"expired"}})";
    } else if (roll < 15) {
      out += R"({"type":"canceled"}})";
    } else if (roll < 35) {
      out += R"({"type":"errored","error":{"type":"error","error":{"type":"overloaded_error","mess)"
          R"(age":"Overloaded"},"request_id":"req_011C)" +
             Hex(20) + R"("}}})";
    } else if (roll < 50) {
      out += R"({"type":"errored","error":{"type":"error","error":{"type":"invalid_request_error",)"
          R"("message":"max_tokens: must be greater than or equal to 1"},"request_id":"req_011C)" +
             Hex(20) + R"("}}})";
    } else {
      const bool refused = roll < 55;
      out += R"({"type":"succeeded","message":{"id":"msg_01)" + Hex(22) +
             R"(","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","conten)"
                 R"(t":[{"type":"text","text":")";
      AppendText(out, refused ? 60 : 500 + random_.Below(1100));
      out += R"("}],"stop_reason":")";
      out += refused ? "refusal" : "end_turn";
      out += R"(","stop_sequence":null,"usage":{"input_tokens":)" +
             std::to_string(200 + random_.Below(1500)) +
             R"(,"cache_creation_input_tokens":0,"cache_read_input_tokens":)" +
             std::to_string(random_.Below(2) * 1024) + R"(,"output_tokens":)" +
             std::to_string(100 + random_.Below(400)) + R"(,"service_tier":"batch"}}}})";
    }
    out += '\n';
  }

 private:
  base::SeededRandom random_;
};

struct Corpus {
  std::filesystem::path path;
  std::uint64_t bytes = 0;
  std::uint64_t lines = 0;
};

Corpus WriteCorpus(ProviderKind kind, const std::filesystem::path& path, std::uint64_t bytes,
                   std::uint64_t seed) {
  CorpusWriter writer(seed);
  std::ofstream out(path, std::ios::binary);
  std::string block;
  Corpus corpus{path, 0, 0};
  while (corpus.bytes < bytes) {
    block.clear();
    while (block.size() < (std::size_t{4} << 20)) {
      if (kind == ProviderKind::kOpenAi) {
        writer.OpenAiLine(block, corpus.lines);
      } else {
        writer.AnthropicLine(block, corpus.lines);
      }
      ++corpus.lines;
    }
    out.write(block.data(), static_cast<std::streamsize>(block.size()));
    corpus.bytes += block.size();
  }
  out.close();
  return corpus;
}

// The file in memory, followed by simdjson's padding.
struct PaddedFile {
  std::unique_ptr<char[]> data;
  std::size_t size = 0;
};

PaddedFile LoadPadded(const std::filesystem::path& path) {
  PaddedFile file;
  file.size = static_cast<std::size_t>(std::filesystem::file_size(path));
  file.data = std::make_unique<char[]>(file.size + simdjson::SIMDJSON_PADDING);
  std::ifstream in(path, std::ios::binary);
  in.read(file.data.get(), static_cast<std::streamsize>(file.size));
  std::fill_n(file.data.get() + file.size, simdjson::SIMDJSON_PADDING, ' ');
  return file;
}

// ---- Measurements ----

struct Sample {
  double wall_s = 0;
  double cpu_s = 0;
  std::uint64_t results = 0;
  std::uint64_t checksum = 0;  // keeps the work observable
};

// What the benchmark's callback does with each line: what an ingester would touch.
struct Touch {
  std::uint64_t bytes = 0;
  std::uint64_t tokens = 0;
  std::uint64_t outcomes[4] = {0, 0, 0, 0};
  std::uint64_t results = 0;

  base::Status operator()(const ResultLine& line) {
    bytes += line.custom_id.size() + line.body.size() + line.error_type.size() +
             line.error_code.size() + line.error_message.size() + line.finish_reason.size() +
             static_cast<std::uint64_t>(line.http_status);
    tokens += line.usage.input_tokens + line.usage.output_tokens + line.usage.cached_input_tokens;
    ++outcomes[static_cast<int>(line.outcome)];
    ++results;
    return base::Status::Ok();
  }
};

Sample Time(const std::function<std::uint64_t(std::uint64_t&)>& run) {
  Sample sample;
  const double cpu_start = ThreadCpuSeconds();
  const auto wall_start = SteadyClock::now();
  sample.results = run(sample.checksum);
  sample.wall_s = std::chrono::duration<double>(SteadyClock::now() - wall_start).count();
  sample.cpu_s = ThreadCpuSeconds() - cpu_start;
  return sample;
}

// Lines the last default parse handed to simdjson (declined by the line scanner).
std::uint64_t last_simdjson_lines = 0;

std::uint64_t ParseFileOnce(ProviderKind kind, const std::filesystem::path& path,
                            const providers::ResultsParserOptions& options,
                            std::uint64_t& checksum) {
  Touch touch;
  base::Result<providers::ParseSummary> summary = providers::ParseResultsFile(
      kind, path, [&touch](const ResultLine& line) { return touch(line); }, options);
  if (!summary.ok()) {
    std::fprintf(stderr, "parse failed: %s\n", summary.status().ToString().c_str());
    std::exit(1);
  }
  if (options.line_scanner) last_simdjson_lines = summary->simdjson_lines;
  checksum = touch.bytes + touch.tokens + touch.outcomes[1];
  return touch.results;
}

std::uint64_t ParseBufferOnce(ProviderKind kind, const PaddedFile& file,
                              std::uint64_t& checksum) {
  providers::ResultsParser parser(kind);
  Touch touch;
  base::Result<providers::ParseSummary> summary =
      parser.ParseBuffer(std::string_view(file.data.get(), file.size), "memory",
                         [&touch](const ResultLine& line) { return touch(line); });
  if (!summary.ok()) {
    std::fprintf(stderr, "parse failed: %s\n", summary.status().ToString().c_str());
    std::exit(1);
  }
  checksum = touch.bytes + touch.tokens + touch.outcomes[1];
  return touch.results;
}

// The parser's default window, so the anchors index exactly as the parser does.
constexpr std::size_t kAnchorBatchBytes = providers::ResultsParserOptions{}.batch_bytes;

// Raw simdjson: custom_id, the status and the raw body bytes, nothing else.
std::uint64_t AnchorExtract(ProviderKind kind, const PaddedFile& file, std::uint64_t& checksum) {
  namespace od = simdjson::ondemand;
  od::parser parser;
  parser.threaded = false;
  od::document_stream stream;
  if (parser.iterate_many(file.data.get(), file.size, kAnchorBatchBytes).get(stream)) {
    std::exit(1);
  }
  std::uint64_t results = 0;
  for (auto doc_result : stream) {
    od::document_reference doc;
    if (std::move(doc_result).get(doc)) std::exit(1);
    od::object top;
    if (doc.get_object().get(top)) std::exit(1);
    for (auto field_result : top) {
      od::field field;
      if (std::move(field_result).get(field)) std::exit(1);
      const od::raw_json_string key = field.key();
      if (key.unsafe_is_equal("custom_id")) {
        std::string_view id;
        if (field.value().get_string().get(id)) std::exit(1);
        checksum += id.size();
      } else if (key.unsafe_is_equal(kind == ProviderKind::kOpenAi ? "response" : "result")) {
        od::object inner;
        if (field.value().get_object().get(inner)) continue;  // OpenAI response: null
        for (auto inner_result : inner) {
          od::field inner_field;
          if (std::move(inner_result).get(inner_field)) std::exit(1);
          const od::raw_json_string inner_key = inner_field.key();
          if (inner_key.unsafe_is_equal(kind == ProviderKind::kOpenAi ? "status_code" : "type")) {
            if (kind == ProviderKind::kOpenAi) {
              std::int64_t status = 0;
              if (inner_field.value().get_int64().get(status)) std::exit(1);
              checksum += static_cast<std::uint64_t>(status);
            } else {
              std::string_view type;
              if (inner_field.value().get_string().get(type)) std::exit(1);
              checksum += type.size();
            }
          } else if (inner_key.unsafe_is_equal(kind == ProviderKind::kOpenAi ? "body"
                                                                               : "message")) {
            od::object body;
            if (inner_field.value().get_object().get(body)) std::exit(1);
            std::string_view raw;
            if (body.raw_json().get(raw)) std::exit(1);
            checksum += raw.size();
          }
        }
      }
    }
    ++results;
  }
  return results;
}

std::uint64_t AnchorStage1(const PaddedFile& file, std::uint64_t& checksum) {
  namespace od = simdjson::ondemand;
  od::parser parser;
  parser.threaded = false;
  od::document_stream stream;
  if (parser.iterate_many(file.data.get(), file.size, kAnchorBatchBytes).get(stream)) {
    std::exit(1);
  }
  std::uint64_t results = 0;
  for (auto it = stream.begin(); it != stream.end(); ++it) {
    checksum += it.current_index();
    ++results;
  }
  return results;
}

std::uint64_t AnchorNewlines(const PaddedFile& file, std::uint64_t& checksum) {
  std::uint64_t results = 0;
  const char* p = file.data.get();
  const char* const end = p + file.size;
  while (p < end) {
    const void* newline = std::memchr(p, '\n', static_cast<std::size_t>(end - p));
    if (newline == nullptr) break;
    p = static_cast<const char*>(newline) + 1;
    checksum += static_cast<std::uint64_t>(p - file.data.get()) & 1;
    ++results;
  }
  return results;
}

struct Row {
  std::string what;
  Sample best;
  std::uint64_t bytes = 0;
};

void PrintRow(const Row& row) {
  const double bytes = static_cast<double>(row.bytes);
  std::printf("| %-52s | %6.2f | %6.2f | %7.2f M | %8.0f |\n", row.what.c_str(),
              bytes / row.best.wall_s / 1e9, bytes / row.best.cpu_s / 1e9,
              static_cast<double>(row.best.results) / row.best.cpu_s / 1e6,
              row.best.wall_s * 1e3);
  std::fflush(stdout);
}

// BATCHLOG_BENCH_ONLY=TEXT runs only the rows whose label contains TEXT (for profiling).
bool Selected(const std::string& what) {
  const char* only = std::getenv("BATCHLOG_BENCH_ONLY");
  return only == nullptr || what.find(only) != std::string::npos;
}

Row Measure(std::string what, std::uint64_t bytes, int repeat,
            const std::function<std::uint64_t(std::uint64_t&)>& run) {
  Row row{std::move(what), {}, bytes};
  if (!Selected(row.what)) return row;
  for (int i = 0; i < repeat; ++i) {
    const Sample sample = Time(run);
    if (i == 0 || sample.cpu_s < row.best.cpu_s) row.best = sample;
  }
  PrintRow(row);
  return row;
}

}  // namespace
}  // namespace batchlog::bench

int main() {
  using namespace batchlog::bench;
  using batchlog::providers::ProviderKind;
  const std::uint64_t megabytes = EnvOr("BATCHLOG_BENCH_RESULTS_MB", 500);
  const int repeat = static_cast<int>(EnvOr("BATCHLOG_BENCH_REPEAT", 3));
  const std::uint64_t seed = EnvOr("BATCHLOG_SEED", 20261128);
  batchlog::testing::TempDir dir("batchlog-results-bench");

  std::printf("simdjson %d.%d.%d, stage 1 kernel: %s; corpus %llu MiB per provider, "
              "seed %llu, best of %d\n\n",
              static_cast<int>(simdjson::SIMDJSON_VERSION_MAJOR),
              static_cast<int>(simdjson::SIMDJSON_VERSION_MINOR),
              static_cast<int>(simdjson::SIMDJSON_VERSION_REVISION),
              simdjson::get_active_implementation()->name().c_str(),
              static_cast<unsigned long long>(megabytes), static_cast<unsigned long long>(seed),
              repeat);
  std::printf("| %-52s | %6s | %6s | %9s | %8s |\n", "measurement", "GB/s", "GB/s",
              "results/s", "ms");
  std::printf("| %-52s | %6s | %6s | %9s | %8s |\n", "", "wall", "CPU", "(CPU)", "(wall)");
  std::printf("|%s|%s|%s|%s|%s|\n", std::string(54, '-').c_str(), std::string(8, '-').c_str(),
              std::string(8, '-').c_str(), std::string(11, '-').c_str(),
              std::string(10, '-').c_str());

  for (ProviderKind kind : {ProviderKind::kOpenAi, ProviderKind::kAnthropic}) {
    const std::string name = kind == ProviderKind::kOpenAi ? "openai" : "anthropic";
    const Corpus corpus =
        WriteCorpus(kind, dir / (name + ".jsonl"), megabytes << 20, seed);
    const PaddedFile file = LoadPadded(corpus.path);  // also warms the page cache
    const std::uint64_t bytes = corpus.bytes;

    struct Variant {
      std::string label;
      batchlog::providers::ResultsParserOptions options;
    };
    std::vector<Variant> variants(5);
    variants[0].label = "parse_file (defaults: scanner, mmap, 1 MiB)";
    variants[1].label = "parse_file read(2) 1 MiB chunks";
    variants[1].options.memory_map = false;
    variants[2].label = "parse_file read(2) 64 MiB chunks";
    variants[2].options.memory_map = false;
    variants[2].options.chunk_bytes = std::size_t{64} << 20;
    variants[3].label = "parse_file simdjson only (line_scanner off)";
    variants[3].options.line_scanner = false;
    variants[4].label = "parse_file simdjson only + stage1_thread (CPU: caller)";
    variants[4].options.line_scanner = false;
    variants[4].options.stage1_thread = true;
    std::uint64_t declined = 0;
    for (const Variant& variant : variants) {
      Measure(name + " " + variant.label, bytes, repeat, [&](std::uint64_t& checksum) {
        return ParseFileOnce(kind, corpus.path, variant.options, checksum);
      });
      if (&variant == &variants[0]) declined = last_simdjson_lines;
    }
    Measure(name + " parse_buffer (in memory)", bytes, repeat,
            [&](std::uint64_t& checksum) { return ParseBufferOnce(kind, file, checksum); });
    Measure(name + " anchor_extract (raw simdjson)", bytes, repeat,
            [&](std::uint64_t& checksum) { return AnchorExtract(kind, file, checksum); });
    Measure(name + " anchor_stage1 (raw simdjson)", bytes, repeat,
            [&](std::uint64_t& checksum) { return AnchorStage1(file, checksum); });
    Measure(name + " anchor_newlines (memchr)", bytes, repeat,
            [&](std::uint64_t& checksum) { return AnchorNewlines(file, checksum); });
    std::printf("| %-52s | %s |\n",
                (name + " corpus: " + std::to_string(corpus.lines) + " lines").c_str(),
                (std::to_string(bytes / corpus.lines) + " bytes/line on average, " +
                 std::to_string(declined) + " declined by the scanner")
                    .c_str());
  }
  return 0;
}
