// Which older snapshots a run keeps when it writes a new one. The run loop writes a snapshot
// every RunLoopOptions::snapshot_every_events events, each holding the whole state, so
// keeping them all makes a run's store grow with the square of its size (a 10M-request run:
// 85 snapshots, 4.1 GiB; bench/README.md, "Resume"). Resume needs only the latest; older
// ones speed up `manifest --as-of` and `diff`, which fold from the latest snapshot at or
// before a seq. Kept: the two newest (a spare if the newest cannot be read), and the newest
// in each power-of-two range of seqs [2^k, 2^(k+1)) — O(log seq) snapshots, and for any
// seq S a snapshot at or after about S / 2 - interval, so an as-of fold replays at most
// about half the log.
//
// Pure; thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace batchlog::orchestrator {

// Called as a snapshot newer than all of `listed` (the seqs of the run's snapshots,
// ascending) is written; returns the listed seqs to drop with it, ascending.
std::vector<std::uint64_t> SnapshotsToDrop(std::span<const std::uint64_t> listed);

}  // namespace batchlog::orchestrator
