#include "src/cli/run_options.h"

#include <unistd.h>
#include <csignal>
#include <cstdio>
#include <memory>
#include <string>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "src/base/random.h"
#include "src/orchestrator/progress_view.h"
#include "src/orchestrator/run_reader.h"

namespace batchlog::cli {
namespace {

std::atomic<bool> g_stop{false};

void OnStopSignal(int) { g_stop.store(true); }

// %v, escaped for a JSON string, for --log-format json.
class JsonMessageFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& message, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    for (const char c : message.payload) {
      switch (c) {
        case '"':
          dest.append(std::string_view("\\\""));
          break;
        case '\\':
          dest.append(std::string_view("\\\\"));
          break;
        case '\n':
          dest.append(std::string_view("\\n"));
          break;
        case '\r':
          dest.append(std::string_view("\\r"));
          break;
        case '\t':
          dest.append(std::string_view("\\t"));
          break;
        default:
          if (static_cast<unsigned char>(c) < 0x20) {
            char escaped[8];
            std::snprintf(escaped, sizeof(escaped), "\\u%04x", c);
            dest.append(std::string_view(escaped));
          } else {
            dest.push_back(c);
          }
      }
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonMessageFlag>();
  }
};

bool Interactive() { return ::isatty(STDOUT_FILENO) == 1 && ::isatty(STDERR_FILENO) == 1; }

}  // namespace

void AddRunOptions(CLI::App& command, RunOptions& options) {
  command.add_flag("-q,--quiet", options.quiet, "Print warnings and the summary only");
  command.add_option("--log-format", options.log_format, "Log line format: text or json")
      ->check(CLI::IsMember({"text", "json"}));
  command.add_option("--seed", options.seed, "Seed of the retry jitter (default: random)");
  command.add_option("--base-url", options.base_url,
                     "Send every provider's calls to this server instead (e.g. a `batchlog "
                     "sim` at http://127.0.0.1:PORT)");
}

orchestrator::RunRequest PrepareRun(const CliContext& context, const RunOptions& options) {
  static base::SystemClock clock;
  static base::SystemRandom random;
  auto logger = spdlog::stderr_logger_mt("batchlog");
  if (options.log_format == "json") {
    auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc,
                                                                 std::string("\n"));
    formatter->add_flag<JsonMessageFlag>('*').set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","message":"%*"})");
    logger->set_formatter(std::move(formatter));
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %-7l %v", spdlog::pattern_time_type::utc);
  }
  spdlog::set_default_logger(logger);
  const bool live = Interactive() && !options.quiet && options.log_format == "text";
  spdlog::set_level(options.quiet || live ? spdlog::level::warn : spdlog::level::info);

  std::signal(SIGINT, OnStopSignal);
  std::signal(SIGTERM, OnStopSignal);

  orchestrator::RunRequest request;
  request.store_root = context.store;
  request.setup.base_url_override = options.base_url;
  request.setup.clock = &clock;
  request.setup.random = &random;
  request.seed = options.seed;
  request.stop = &g_stop;
  if (live) {
    const auto started = std::chrono::steady_clock::now();
    auto lines = std::make_shared<int>(0);
    request.on_progress = [started, lines](const replay::Projections& projections) {
      const double elapsed =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      std::string text = orchestrator::RenderProgress(projections);
      char footer[64];
      std::snprintf(footer, sizeof(footer), "  elapsed %.1f s\n", elapsed);
      text += footer;
      // Move up over the previous table and redraw it in place.
      if (*lines > 0) std::printf("\x1b[%dA\x1b[J", *lines);
      std::fwrite(text.data(), 1, text.size(), stdout);
      std::fflush(stdout);
      int count = 0;
      for (const char c : text) count += c == '\n' ? 1 : 0;
      *lines = count;
    };
  }
  return request;
}

int FinishRun(const base::Result<orchestrator::RunOutcome>& outcome, const RunOptions& options,
              const CliContext& context, const std::string& stopped_hint) {
  spdlog::default_logger()->flush();
  if (!outcome.ok()) return ReportError(outcome.status());
  if (!options.quiet) {
    auto reader = orchestrator::RunReader::Open(context.store, outcome->run_id);
    if (reader.ok()) {
      auto projections = reader->ReplayTo(orchestrator::kLatestSeq);
      if (projections.ok()) std::printf("%s", orchestrator::RenderProgress(*projections).c_str());
    }
  }
  const std::string state =
      !outcome->stopped ? std::string(replay::RunStatusName(outcome->status))
      : stopped_hint.empty()
          ? "stopped (resumable: batchlog resume " + outcome->run_id + ")"
          : "stopped (" + stopped_hint + ")";
  std::printf("run %s: %s\nmanifest: %s\n", outcome->run_id.c_str(), state.c_str(),
              outcome->manifest_path.string().c_str());
  return outcome->stopped ? kExitStopped : kExitOk;
}

}  // namespace batchlog::cli
