#include "src/orchestrator/run_loop.h"

#include <algorithm>
#include <variant>

#include "replay/projections.h"
#include "src/orchestrator/backoff.h"
#include "src/orchestrator/manifest_file.h"

namespace batchlog::orchestrator {
namespace {

bool Ends(const Command& command) {
  return std::holds_alternative<CompleteStage>(command) ||
         std::holds_alternative<CompleteRun>(command);
}

}  // namespace

base::Status RunUntilDone(Executor& executor, const std::vector<StagePolicy>& policies,
                          base::Clock& clock, const RunLoopOptions& options) {
  std::uint64_t manifest_seq = 0;
  std::int64_t manifest_written_us = 0;
  auto write_manifest = [&](bool force) -> base::Status {
    if (options.manifest_path.empty()) return base::Status::Ok();
    const replay::Projections& projections = executor.projections();
    if (projections.last_seq == manifest_seq) return base::Status::Ok();
    const std::int64_t now = base::ToUnixMicros(clock.Now());
    if (!force && now - manifest_written_us < SecondsToMicros(options.manifest_min_interval_s)) {
      return base::Status::Ok();
    }
    BATCHLOG_RETURN_IF_ERROR(WriteFileAtomically(options.manifest_path,
                                                 replay::RenderManifestJson(projections)));
    manifest_seq = projections.last_seq;
    manifest_written_us = now;
    if (options.on_manifest_written) options.on_manifest_written(projections);
    return base::Status::Ok();
  };

  std::uint64_t snapshot_seq =
      options.replayed_from_snapshot_seq.value_or(executor.projections().last_seq);
  auto maybe_snapshot = [&](bool force) -> base::Status {
    const std::uint64_t seq = executor.projections().last_seq;
    if (seq == snapshot_seq) return base::Status::Ok();
    if (!force && seq - snapshot_seq < options.snapshot_every_events) return base::Status::Ok();
    BATCHLOG_RETURN_IF_ERROR(executor.WriteSnapshot());
    snapshot_seq = seq;
    return base::Status::Ok();
  };

  for (;;) {
    if (options.stop != nullptr && options.stop->load()) {
      BATCHLOG_RETURN_IF_ERROR(write_manifest(true));
      return base::CancelledError("stopped on request; resume with `batchlog resume`");
    }
    const std::int64_t now = base::ToUnixMicros(clock.Now());
    const replay::Projections& projections = executor.projections();
    const Decision decision =
        Decide({projections.run_state, policies, executor.session(), now,
                {projections.stage_inputs.body_bytes.data(),
                 projections.stage_inputs.body_bytes.size()}});
    if (decision.done) return write_manifest(true);
    const std::uint64_t seq_before = executor.projections().last_seq;
    for (const Command& command : decision.commands) {
      BATCHLOG_RETURN_IF_ERROR(executor.Execute(command));
      if (base::Status why = executor.TakeStop(); !why.ok()) {
        BATCHLOG_RETURN_IF_ERROR(write_manifest(true));
        return why;
      }
      // The manifest at a stage's or the run's end is the one users (and --as-of) compare.
      if (Ends(command)) {
        BATCHLOG_RETURN_IF_ERROR(write_manifest(true));
        BATCHLOG_RETURN_IF_ERROR(maybe_snapshot(true));
      }
      if (options.stop != nullptr && options.stop->load()) break;
    }
    BATCHLOG_RETURN_IF_ERROR(write_manifest(false));
    BATCHLOG_RETURN_IF_ERROR(maybe_snapshot(false));
    if (executor.projections().last_seq != seq_before && options.on_round) {
      options.on_round(executor.projections(), decision);
    }
    if (!decision.commands.empty()) continue;
    if (!decision.wake_at_us) {
      return base::InternalError(
          "the run can make no progress: nothing to do and nothing to wait for (a bug; "
          "the log is intact and the run resumable)");
    }
    const std::int64_t wait_us =
        std::min(*decision.wake_at_us - now, SecondsToMicros(options.max_sleep_s));
    if (wait_us > 0) clock.Sleep(base::Duration(wait_us));
  }
}

}  // namespace batchlog::orchestrator
