#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "src/cli/commands.h"
#include "src/orchestrator/run_reader.h"

namespace batchlog::cli {
namespace {

// One JSONL line per request of the stage, in dataset order. The response body is
// embedded as the provider returned it (not re-serialized).
base::Status WriteResults(const orchestrator::RunReader& reader, const std::string& workflow,
                          const std::string& stage_name, std::FILE* out) {
  BATCHLOG_ASSIGN_OR_RETURN(replay::Projections projections,
                            reader.ReplayTo(orchestrator::kLatestSeq));
  const replay::RunState& state = projections.run_state;
  const replay::Lifecycle& lifecycle = state.lifecycle;
  const std::uint32_t stage = state.FindStage(workflow, stage_name);
  if (stage == replay::kNoIndex) {
    return base::NotFoundError("run '" + reader.run_id() + "' has no stage '" + workflow + "/" +
                               stage_name + "'");
  }
  std::vector<std::uint32_t> requests;
  for (std::uint32_t request = 0; request < lifecycle.requests.size(); ++request) {
    if (lifecycle.requests.stage(request) == stage) requests.push_back(request);
  }
  std::stable_sort(requests.begin(), requests.end(), [&](std::uint32_t a, std::uint32_t b) {
    return state.request_ordinal[a] < state.request_ordinal[b];
  });
  for (const std::uint32_t request : requests) {
    const replay::RequestStatus status = lifecycle.requests.status[request];
    nlohmann::json head = {
        {"custom_id", std::string(lifecycle.requests.custom_id(request))},
        {"ordinal", state.request_ordinal[request]},
        {"status", std::string(replay::RequestStatusName(status))},
        {"attempts", lifecycle.requests.attempt[request]},
    };
    std::string line = head.dump();
    line.pop_back();  // the closing brace: the response is appended raw
    const std::uint64_t result_seq = projections.stage_inputs.result_seq[request];
    if (status == replay::RequestStatus::kSucceeded && result_seq != 0) {
      base::Result<std::string> read = reader.ReadBlob(result_seq);
      if (read.status().code() == base::StatusCode::kNotFound) {
        // Every recorded success stores its response: a missing one was lost, not absent.
        return base::DataLossError(read.status().message() +
                                   ", though it records a succeeded result (run `batchlog "
                                   "verify " + reader.run_id() + "`)");
      }
      BATCHLOG_ASSIGN_OR_RETURN(std::string body, std::move(read));
      line += ",\"response\":";
      line += body.empty() ? "null" : body;
    } else if (lifecycle.requests.last_error[request] != replay::kNoIndex) {
      line += ",\"error\":" + nlohmann::json(std::string(lifecycle.error_codes.id(
                                                 lifecycle.requests.last_error[request])))
                                  .dump();
    }
    line += "}\n";
    if (std::fwrite(line.data(), 1, line.size(), out) != line.size()) {
      return OsError("cannot write the results", errno);
    }
  }
  return base::Status::Ok();
}

}  // namespace

void AddResultsCommand(CLI::App& app, CliContext& context) {
  CLI::App* command = app.add_subcommand(
      "results", "A stage's final outputs as JSONL, in dataset order, with attempt counts");
  struct Options {
    std::string run_id;
    std::string workflow;
    std::string stage;
    std::string output;
  };
  auto options = std::make_shared<Options>();
  command->add_option("RUN_ID", options->run_id, "The run")->required()->check(NonEmpty());
  command->add_option("--workflow", options->workflow, "Workflow name")->required();
  command->add_option("--stage", options->stage, "Stage name, e.g. stage_1")->required();
  command->add_option("-o,--output", options->output, "Write to this file instead of stdout");
  command->callback([&context, options] {
    auto reader = orchestrator::RunReader::Open(context.store, options->run_id);
    if (!reader.ok()) {
      context.exit_code = ReportError(reader.status());
      return;
    }
    std::FILE* out = stdout;
    if (!options->output.empty()) {
      out = std::fopen(options->output.c_str(), "wb");
      if (out == nullptr) {
        context.exit_code =
            ReportError(OsError("cannot open '" + options->output + "' for writing", errno));
        return;
      }
    }
    base::Status status = WriteResults(*reader, options->workflow, options->stage, out);
    if (out != stdout && std::fclose(out) != 0 && status.ok()) {
      status = OsError("cannot write '" + options->output + "'", errno);
    }
    context.exit_code = status.ok() ? kExitOk : ReportError(status);
  });
}

}  // namespace batchlog::cli
