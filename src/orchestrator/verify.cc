#include "src/orchestrator/verify.h"

#include <algorithm>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <utility>

#include <nlohmann/json.hpp>

#include "replay/manifest_projection.h"
#include "replay/replayer.h"
#include "replay/snapshot_codec.h"
#include "src/orchestrator/log_replay.h"
#include "src/orchestrator/run_reader.h"
#include "src/orchestrator/run_session.h"

namespace batchlog::orchestrator {
namespace {

namespace v1 = events::v1;

constexpr std::uint64_t kMaxSeq = std::numeric_limits<std::uint64_t>::max();

// The batch an outcome event is about and the planned_seq it names; nullopt for events
// that are not outcomes of a BatchPlanned intent.
struct OutcomeRef {
  std::string_view name;
  std::string_view batch_key;
  std::uint64_t planned_seq = 0;
};

std::optional<OutcomeRef> OutcomeOf(const v1::Event& event) {
  switch (event.payload_case()) {
    case v1::Event::kFileUploaded:
      return OutcomeRef{"FileUploaded", event.file_uploaded().batch_key(),
                        event.file_uploaded().planned_seq()};
    case v1::Event::kBatchSubmitted:
      return OutcomeRef{"BatchSubmitted", event.batch_submitted().batch_key(),
                        event.batch_submitted().planned_seq()};
    case v1::Event::kSubmitRejected:
      return OutcomeRef{"SubmitRejected", event.submit_rejected().batch_key(),
                        event.submit_rejected().planned_seq()};
    case v1::Event::kBatchEnded:
      return OutcomeRef{"BatchEnded", event.batch_ended().batch_key(),
                        event.batch_ended().planned_seq()};
    case v1::Event::kResultsIngested:
      return OutcomeRef{"ResultsIngested", event.results_ingested().batch_key(),
                        event.results_ingested().planned_seq()};
    default:
      return std::nullopt;
  }
}

// Feeds the from-scratch fold and checks, between events, what needs the fold's state at
// an exact seq: pairing before each event, snapshots right after the seq they cover.
class CheckingSource final : public replay::EventSource {
 public:
  CheckingSource(const store::EventLog& log, const replay::Projections& projections,
                 std::vector<std::uint64_t> snapshot_seqs, VerifyReport& report)
      : log_(log),
        projections_(projections),
        snapshot_seqs_(std::move(snapshot_seqs)),
        report_(report),
        reader_(log.NewReader({.from_seq = 1, .to_seq = log.last_seq()})) {}

  const v1::Event* Next() override {
    CheckSnapshotAt(projections_.last_seq);
    if (!reader_->Next()) return nullptr;
    const v1::Event& event = reader_->event();
    ++report_.events_read;
    if (event.blob_bytes() > 0) blobs_.push_back({event.seq(), event.blob_bytes()});
    if (event.has_batch_planned()) {
      planned_seq_by_key_.emplace(event.batch_planned().batch_key(), event.seq());
    } else if (const std::optional<OutcomeRef> outcome = OutcomeOf(event)) {
      CheckPairing(event.seq(), *outcome);
    }
    return &event;
  }
  base::Status status() const override { return reader_->status(); }
  std::uint64_t next_seq() const { return reader_->next_seq(); }

  // Reads every blob the events read so far name, in one forward scan of the payloads, and
  // checks each has the size its event records.
  void CheckPayloads() {
    std::vector<std::uint64_t> seqs;
    seqs.reserve(blobs_.size());
    for (const BlobRef& blob : blobs_) seqs.push_back(blob.seq);
    std::size_t next = 0;
    const base::Status read = log_.ReadBlobs(
        seqs, [&](std::uint64_t seq, std::string_view bytes) -> base::Status {
          const BlobRef& expected = blobs_[next++];
          if (bytes.size() != expected.bytes) {
            Fail("payloads", seq,
                 "the blob of the event at seq " + std::to_string(seq) + " is " +
                     std::to_string(bytes.size()) + " bytes; the event records " +
                     std::to_string(expected.bytes));
          } else {
            ++report_.payloads_checked;
          }
          return base::Status::Ok();
        });
    if (!read.ok()) {
      const std::uint64_t seq = next < blobs_.size() ? blobs_[next].seq : 0;
      Fail("payloads", seq, read.message());
    }
  }

 private:
  struct BlobRef {
    std::uint64_t seq;
    std::uint32_t bytes;
  };

  void Fail(std::string check, std::uint64_t seq, std::string message) {
    report_.failures.push_back({std::move(check), seq, std::move(message)});
  }

  void CheckPairing(std::uint64_t seq, const OutcomeRef& outcome) {
    const auto planned = planned_seq_by_key_.find(outcome.batch_key);
    const std::string what = std::string(outcome.name) + " of batch '" +
                             std::string(outcome.batch_key) + "'";
    if (planned == planned_seq_by_key_.end()) {
      Fail("pairing", seq, what + " has no BatchPlanned before it");
    } else if (outcome.planned_seq != planned->second) {
      Fail("pairing", seq,
           what + " names planned_seq " + std::to_string(outcome.planned_seq) +
               ", but the batch was planned at seq " + std::to_string(planned->second));
    } else {
      ++report_.outcomes_paired;
    }
  }

  void CheckSnapshotAt(std::uint64_t seq) {
    while (next_snapshot_ < snapshot_seqs_.size() && snapshot_seqs_[next_snapshot_] < seq) {
      ++next_snapshot_;  // covered a seq the fold never stopped at (it failed before)
    }
    if (next_snapshot_ >= snapshot_seqs_.size() || snapshot_seqs_[next_snapshot_] != seq) return;
    ++next_snapshot_;
    auto snapshot = log_.LatestSnapshot(seq);
    if (!snapshot.ok() || !snapshot->has_value() || (*snapshot)->seq != seq) {
      Fail("snapshots", seq,
           "the snapshot at seq " + std::to_string(seq) + " cannot be read" +
               (snapshot.ok() ? std::string() : ": " + snapshot.status().message()));
      return;
    }
    // Another build's snapshot format is a cache this build skips (as resume does), not
    // damage: note it and check nothing else about it.
    const std::optional<std::uint32_t> version = replay::SnapshotVersion((*snapshot)->bytes);
    if (version.has_value() && *version != replay::kSnapshotVersion) {
      report_.notes.push_back("the snapshot at seq " + std::to_string(seq) +
                              " has snapshot format " + std::to_string(*version) +
                              " (this build writes " +
                              std::to_string(replay::kSnapshotVersion) +
                              "); it is skipped and the log is folded instead");
      return;
    }
    auto decoded = replay::DecodeSnapshot((*snapshot)->bytes);
    if (!decoded.ok()) {
      Fail("snapshots", seq,
           "the snapshot at seq " + std::to_string(seq) + " does not decode: " +
               decoded.status().message());
      return;
    }
    ++report_.snapshots_checked;
    if (!(*decoded == projections_)) {
      Fail("snapshots", seq,
           "the snapshot at seq " + std::to_string(seq) +
               " differs from the from-scratch replay at that seq");
    }
  }

  const store::EventLog& log_;
  const replay::Projections& projections_;
  std::vector<std::uint64_t> snapshot_seqs_;  // ascending
  std::size_t next_snapshot_ = 0;
  VerifyReport& report_;
  std::unique_ptr<store::EventLogReader> reader_;
  std::map<std::string, std::uint64_t, std::less<>> planned_seq_by_key_;
  std::vector<BlobRef> blobs_;  // (seq, bytes) of every event with a blob, in seq order
};

// Seqs of every snapshot of the log, ascending.
base::Result<std::vector<std::uint64_t>> SnapshotSeqs(const store::EventLog& log) {
  std::vector<std::uint64_t> seqs;
  std::uint64_t at_or_before = kMaxSeq;
  for (;;) {
    BATCHLOG_ASSIGN_OR_RETURN(std::optional<store::Snapshot> snapshot,
                              log.LatestSnapshot(at_or_before));
    if (!snapshot.has_value()) break;
    seqs.push_back(snapshot->seq);
    if (snapshot->seq <= 1) break;
    at_or_before = snapshot->seq - 1;
  }
  std::reverse(seqs.begin(), seqs.end());
  return seqs;
}

// "generated_at_seq" of a manifest file, read as JSON (a file in an older layout counts).
std::optional<std::uint64_t> GeneratedAtSeq(std::string_view manifest) {
  const nlohmann::json parsed =
      nlohmann::json::parse(manifest, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_object()) return std::nullopt;
  const auto field = parsed.find("generated_at_seq");
  if (field == parsed.end() || !field->is_number_unsigned()) return std::nullopt;
  return field->get<std::uint64_t>();
}

// The 1-based number of the first line where a and b differ.
std::size_t FirstDifferentLine(std::string_view a, std::string_view b) {
  std::size_t line = 1;
  for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    if (a[i] != b[i]) return line;
    if (a[i] == '\n') ++line;
  }
  return line;
}

// True when both texts parse as JSON to equal values (numbers compared as the doubles or
// integers they denote, object keys in order).
bool SameJson(const std::string& a, const std::string& b) {
  using Json = nlohmann::ordered_json;
  const Json left = Json::parse(a, nullptr, /*allow_exceptions=*/false);
  const Json right = Json::parse(b, nullptr, /*allow_exceptions=*/false);
  return !left.is_discarded() && !right.is_discarded() && left == right;
}

void CheckManifest(const std::filesystem::path& store_root, const store::EventLog& log,
                   const replay::Projections& scratch, bool scratch_complete,
                   VerifyReport& report) {
  const std::filesystem::path path = ManifestPath(store_root, report.run_id);
  const bool final = report.status != replay::RunStatus::kRunning &&
                     report.status != replay::RunStatus::kNotStarted;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (final) {
      report.failures.push_back({"manifest", report.last_seq,
                                 "the run ended but has no manifest file " + path.string()});
    } else {
      report.notes.push_back("no manifest file yet");
    }
    return;
  }
  std::ostringstream text;
  text << in.rdbuf();
  const std::string file = text.str();
  const std::optional<std::uint64_t> seq = GeneratedAtSeq(file);
  if (!seq || *seq == 0 || *seq > report.last_seq) {
    report.failures.push_back(
        {"manifest", report.last_seq,
         path.string() + " names no generated_at_seq within the log (last seq " +
             std::to_string(report.last_seq) + ")"});
    return;
  }
  report.manifest_seq = *seq;
  if (final && *seq != report.last_seq) {
    report.failures.push_back({"manifest", *seq,
                               "the run ended at seq " + std::to_string(report.last_seq) +
                                   " but its manifest file was generated at seq " +
                                   std::to_string(*seq)});
  }
  std::string expected;
  if (*seq == report.last_seq && scratch_complete) {
    expected = replay::RenderManifestJson(scratch);
  } else {
    auto projections = ReplayLog(log, *seq);
    if (!projections.ok()) {
      report.failures.push_back({"manifest", *seq,
                                 "cannot replay to seq " + std::to_string(*seq) + ": " +
                                     projections.status().message()});
      return;
    }
    expected = replay::RenderManifestJson(*projections);
  }
  if (expected != file && SameJson(expected, file)) {
    // Same values, other text: a manifest written by an earlier batchlog, whose JSON
    // writer spelled some doubles with more digits than needed.
    report.notes.push_back(path.string() +
                           " holds the replayed manifest's values in another layout (written by "
                           "an earlier batchlog); `batchlog manifest " + report.run_id +
                           " -o FILE` writes the current form");
    return;
  }
  if (expected != file) {
    report.failures.push_back(
        {"manifest", *seq,
         path.string() + " differs from the manifest replayed at seq " + std::to_string(*seq) +
             " (first at line " + std::to_string(FirstDifferentLine(expected, file)) + ")"});
  }
}

}  // namespace

base::Result<VerifyReport> VerifyRun(const std::filesystem::path& store_root,
                                     std::string_view run_id, const store::StoreOptions& options) {
  BATCHLOG_ASSIGN_OR_RETURN(store::Store store, store::Store::Open(store_root, false, options));
  BATCHLOG_ASSIGN_OR_RETURN(std::unique_ptr<store::EventLog> log,
                            store.OpenRun(run_id, ReadModeFor(store, run_id)));
  VerifyReport report;
  report.run_id = std::string(run_id);
  report.last_seq = log->last_seq();

  std::vector<std::uint64_t> snapshot_seqs;
  if (auto seqs = SnapshotSeqs(*log); seqs.ok()) {
    snapshot_seqs = std::move(seqs).value();
  } else {
    report.failures.push_back({"snapshots", 0, seqs.status().message()});
  }
  if (!snapshot_seqs.empty()) report.latest_snapshot_seq = snapshot_seqs.back();

  // From scratch, with pairing and snapshot checks on the way.
  replay::Projections scratch;
  bool scratch_complete = false;
  {
    replay::Replayer replayer(scratch);
    CheckingSource source(*log, scratch, snapshot_seqs, report);
    const base::Status folded = replayer.Fold(source);
    source.CheckPayloads();
    if (!source.status().ok()) {
      report.failures.push_back({"density", source.next_seq(), source.status().message()});
    } else if (!folded.ok()) {
      report.failures.push_back({"replay", scratch.last_seq + 1, folded.message()});
    } else if (scratch.last_seq != report.last_seq) {
      report.failures.push_back({"density", scratch.last_seq + 1,
                                 "the log ends at seq " + std::to_string(scratch.last_seq) +
                                     " but claims " + std::to_string(report.last_seq)});
    } else {
      scratch_complete = true;
    }
  }
  report.status = scratch.run_state.lifecycle.run_status;
  report.replay_complete = scratch_complete;

  // From the latest snapshot plus the tail: what resume and the read commands see.
  if (scratch_complete && !snapshot_seqs.empty()) {
    auto resumed = ReplayLog(*log);
    if (!resumed.ok()) {
      report.failures.push_back({"snapshots", report.latest_snapshot_seq,
                                 "replay from the snapshot at seq " +
                                     std::to_string(report.latest_snapshot_seq) +
                                     " fails: " + resumed.status().message()});
    } else if (!(*resumed == scratch)) {
      report.failures.push_back({"snapshots", report.latest_snapshot_seq,
                                 "replay from the snapshot at seq " +
                                     std::to_string(report.latest_snapshot_seq) +
                                     " plus the tail differs from the from-scratch replay"});
    }
  }

  if (scratch_complete) {
    const std::vector<replay::OpenIntent> open = scratch.run_state.OpenIntents();
    if (!open.empty()) {
      const replay::Lifecycle& lifecycle = scratch.run_state.lifecycle;
      const replay::BatchRecord& first = lifecycle.batches.records[open.front().batch];
      const std::string key(lifecycle.batches.keys.id(open.front().batch));
      const std::string what = std::to_string(open.size()) + " batch(es) without an outcome, " +
                               "e.g. '" + key + "' planned at seq " +
                               std::to_string(first.planned_seq);
      if (report.status == replay::RunStatus::kCompleted) {
        report.failures.push_back({"intents", first.planned_seq, "the run completed with " + what});
      } else {
        report.notes.push_back("open intents (resume reconciles them): " + what);
      }
    }
  }

  CheckManifest(store_root, *log, scratch, scratch_complete, report);
  return report;
}

std::string RenderVerifyReport(const VerifyReport& report) {
  std::string out = "run " + report.run_id + ": last seq " + std::to_string(report.last_seq) +
                    ", status " + std::string(replay::RunStatusName(report.status)) +
                    (report.replay_complete ? "" : " (as far as the log could be read)") + "\n";
  // Checks of the whole run cannot pass on a log that could not be read to its end.
  auto line = [&](std::string_view check, std::string_view ok_text,
                  bool needs_whole_log = false) {
    bool failed = false;
    for (const VerifyFailure& failure : report.failures) {
      if (failure.check != check) continue;
      failed = true;
      out += "  FAIL  " + std::string(check);
      if (failure.seq != 0) out += " at seq " + std::to_string(failure.seq);
      out += ": " + failure.message + "\n";
    }
    if (failed) return;
    if (needs_whole_log && !report.replay_complete) {
      out += "  skip  " + std::string(check) + ": not checked, the log could not be read to " +
             "its end\n";
      return;
    }
    out += "  ok    " + std::string(check) + ": " + std::string(ok_text) + "\n";
  };
  line("density", std::to_string(report.events_read) + " events, seqs 1.." +
                      std::to_string(report.last_seq) + " dense");
  line("replay", "from scratch without an impossible event", true);
  line("snapshots",
       report.latest_snapshot_seq == 0
           ? std::string("none written")
           : std::to_string(report.snapshots_checked) +
                 " equal the replay at their seq; the latest (seq " +
                 std::to_string(report.latest_snapshot_seq) +
                 ") plus the tail equals the replay from scratch",
       true);
  line("pairing", std::to_string(report.outcomes_paired) + " outcomes name their BatchPlanned",
       true);
  line("payloads",
       std::to_string(report.payloads_checked) +
           " blobs (request and response bodies) read, each the size its event records");
  line("intents",
       report.status == replay::RunStatus::kCompleted ? "none open" : "checked on completed runs",
       true);
  line("manifest", report.manifest_seq == 0
                       ? std::string("no file yet")
                       : "the file equals the manifest replayed at seq " +
                             std::to_string(report.manifest_seq));
  for (const std::string& note : report.notes) out += "  note  " + note + "\n";
  if (report.ok()) {
    out += "run " + report.run_id + ": verified\n";
  } else {
    const VerifyFailure& first = report.failures.front();
    out += "run " + report.run_id + ": FAILED " + std::to_string(report.failures.size()) +
           " check(s); first: " + first.check +
           (first.seq != 0 ? " at seq " + std::to_string(first.seq) : std::string()) + "\n";
  }
  return out;
}

}  // namespace batchlog::orchestrator
