// tidy: the style and architecture rules that a compiler cannot see, checked as a CTest test
// (docs/architecture.md; TigerBeetle's src/tidy.zig is the model). Plain string matching
// over the source tree; no Python, no libclang, so it runs on a minimal Debian.
//
// The rules (each finding names one):
//   line-length         a line of a .h/.cc/.proto/CMakeLists.txt is over 100 columns
//   include-dependency  an #include crosses an arrow the dependency table forbids
//                       (docs/architecture.md, "Who may depend on whom")
//   unknown-module      a file lives in src/<m>/ for an <m> the table does not list
//   include-internal    an #include reaches into another module's internal/ folder
//   include-curl        <curl/...> outside src/http/
//   include-rocksdb     rocksdb/... outside src/store/, tests/store/ and bench/
//   include-httplib     httplib.h outside src/sim/ and tests/
//   time-random         system_clock::now, std::rand, rand(, random_device outside
//                       src/base/clock* and src/base/random* (tests/ and bench/ exempt)
//   reveal-secret       RevealForHeader outside src/http/, src/base/secret.h and tests/
//   no-throw            the `throw` keyword in src/store/ or src/providers/
//   projection-default  a `default:` label in replay/*_projection.{h,cc} (G5: -Wswitch must
//                       trip on every new event type)
//
// Token rules (time-random, reveal-secret, no-throw, projection-default) ignore comments and
// string/char literals; the #include rules read only lines that start outside a comment or
// literal. Paths are relative to the repository root with '/' separators.
//
// Thread-safety: the functions are pure (CheckTree only reads files); call from any thread.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace batchlog::tidy {

inline constexpr std::size_t kColumnLimit = 100;

struct Finding {
  std::string path;  // relative to the repository root, e.g. "src/store/store.cc"
  int line = 0;      // 1-based
  std::string rule;  // e.g. "include-dependency"
  std::string message;

  friend bool operator==(const Finding&, const Finding&) = default;
};

// "path:line: rule: message".
std::string FormatFinding(const Finding& finding);

// One file of a (real or fake) tree.
struct SourceFile {
  std::string path;  // relative to the repository root
  std::string contents;
};

// The module a repository-relative path belongs to, as the dependency table names it:
// "base", "events", "replay", "store", "http", "providers", "workflow", "orchestrator",
// "sim", "cli"; "tests" for tests/, "bench" for bench/; for src/<m>/ with an <m> outside
// the table, "<m>" itself; "" for anything else.
std::string ModuleOfPath(std::string_view path);

// The module an #include path names ("src/store/x.h" -> "store", "replay/x.h" -> "replay",
// "batchlog/events/v1/events.pb.h" -> "events", "tests/support/x.h" -> "tests"); "" when
// the include is not one of ours (std, third-party).
std::string ModuleOfInclude(std::string_view include_path);

// Whether the dependency table lets `from` include `to`. Same-module includes are allowed;
// tests and bench may include anything.
bool DependencyAllowed(std::string_view from, std::string_view to);

// Whether the rules apply to a path at all (by extension / name).
bool IsCheckedFile(std::string_view path);

// Checks one file; findings are in line order. Files IsCheckedFile rejects yield none.
std::vector<Finding> CheckFile(std::string_view path, std::string_view contents);

// Checks a set of files; findings are sorted by path, then line.
std::vector<Finding> CheckFiles(const std::vector<SourceFile>& files);

// The top-level folders tidy walks.
inline constexpr std::string_view kCheckedRoots[] = {"src", "replay", "events", "tests",
                                                     "bench"};

// Reads every checked file under root/{src,replay,events,tests,bench}, skipping build
// trees (build*, cmake-build*) and hidden folders. A file that cannot be read is reported
// in `errors`. Sorted by path.
std::vector<SourceFile> CollectTree(const std::filesystem::path& root,
                                    std::vector<std::string>& errors);

}  // namespace batchlog::tidy
