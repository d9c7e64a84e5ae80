// The tidy rules, driven on in-memory files and one small temporary tree. Each rule is shown
// to fire on a violation and to stay quiet on the allowed cases next to it.
#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

#include "tests/support/temp_dir.h"
#include "tests/tidy/tidy_rules.h"
#include "tests/support/files.h"

namespace batchlog::tidy {
namespace {

using batchlog::testing::WriteFileText;

std::vector<std::string> RulesFired(const std::string& path, const std::string& contents) {
  std::vector<std::string> rules;
  for (const Finding& finding : CheckFile(path, contents)) rules.push_back(finding.rule);
  return rules;
}

bool Fires(const std::string& path, const std::string& contents, const std::string& rule) {
  const std::vector<std::string> rules = RulesFired(path, contents);
  return std::find(rules.begin(), rules.end(), rule) != rules.end();
}

std::string IncludeLine(const std::string& target) { return "#include \"" + target + "\"\n"; }

}  // namespace

TEST_CASE("a line over 100 columns is a finding at its line, and 100 columns is not", "[tidy]") {
  const std::string ok(100, 'x');
  const std::string long_line(101, 'x');
  const std::vector<Finding> findings =
      CheckFile("src/store/store.cc", ok + "\n" + long_line + "\n" + ok + "\n");
  REQUIRE(findings.size() == 1);
  CHECK(findings[0].rule == "line-length");
  CHECK(findings[0].line == 2);
}

TEST_CASE("columns are counted in characters, so UTF-8 punctuation is one column", "[tidy]") {
  std::string dashes;
  for (int i = 0; i < 100; ++i) dashes += "\xE2\x80\x94";  // "—", three bytes
  CHECK(RulesFired("src/base/status.h", dashes + "\n").empty());
  CHECK(Fires("src/base/status.h", dashes + "x\n", "line-length"));
}

TEST_CASE("line length applies to protos and CMakeLists but not to other files", "[tidy]") {
  const std::string long_line(101, 'x');
  CHECK(Fires("events/batchlog/events/v1/events.proto", long_line, "line-length"));
  CHECK(Fires("tests/store/CMakeLists.txt", long_line, "line-length"));
  CHECK(RulesFired("events/README.md", long_line).empty());
  CHECK(RulesFired("src/store/notes.txt", long_line).empty());
}

TEST_CASE("paths and includes map to the modules of the dependency table", "[tidy]") {
  CHECK(ModuleOfPath("src/store/event_log.h") == "store");
  CHECK(ModuleOfPath("replay/manifest_projection.cc") == "replay");
  CHECK(ModuleOfPath("events/batchlog/events/v1/events.proto") == "events");
  CHECK(ModuleOfPath("tests/store/event_log_test.cc") == "tests");
  CHECK(ModuleOfPath("bench/append_bench.cc") == "bench");
  CHECK(ModuleOfPath("docs/architecture.md").empty());
  CHECK(ModuleOfInclude("batchlog/events/v1/events.pb.h") == "events");
  CHECK(ModuleOfInclude("src/base/status.h") == "base");
  CHECK(ModuleOfInclude("tests/support/temp_dir.h") == "tests");
  CHECK(ModuleOfInclude("google/protobuf/message.h").empty());
  CHECK(ModuleOfInclude("vector").empty());
}

TEST_CASE("includes are checked against every arrow of the dependency table", "[tidy]") {
  struct Row {
    const char* file;
    const char* include;
    bool allowed;
  };
  const Row row = GENERATE(values<Row>({
      {"src/base/status.cc", "src/base/status.h", true},
      {"src/base/status.cc", "batchlog/events/v1/events.pb.h", false},
      {"src/base/status.cc", "src/store/store.h", false},
      {"replay/replayer.cc", "batchlog/events/v1/events.pb.h", true},
      {"replay/replayer.cc", "src/base/result.h", true},
      {"replay/replayer.cc", "src/store/event_log.h", false},
      {"replay/replayer.cc", "src/orchestrator/run_state.h", false},
      {"src/store/store.cc", "batchlog/events/v1/events.pb.h", true},
      {"src/store/store.cc", "replay/replayer.h", false},
      {"src/store/store.cc", "src/orchestrator/executor.h", false},
      {"src/http/curl_transport.cc", "src/base/secret.h", true},
      {"src/http/curl_transport.cc", "batchlog/events/v1/events.pb.h", false},
      {"src/http/curl_transport.cc", "src/providers/batch_provider.h", false},
      {"src/providers/openai_provider.cc", "src/http/transport.h", true},
      {"src/providers/openai_provider.cc", "batchlog/events/v1/events.pb.h", false},
      {"src/providers/openai_provider.cc", "src/store/store.h", false},
      {"src/providers/openai_provider.cc", "replay/replayer.h", false},
      {"src/workflow/workflow_file.cc", "src/base/status.h", true},
      {"src/workflow/workflow_file.cc", "batchlog/events/v1/events.pb.h", false},
      {"src/workflow/workflow_file.cc", "src/providers/batch_provider.h", false},
      {"src/orchestrator/executor.cc", "src/store/store.h", true},
      {"src/orchestrator/executor.cc", "replay/replayer.h", true},
      {"src/orchestrator/executor.cc", "src/providers/batch_provider.h", true},
      {"src/orchestrator/executor.cc", "src/workflow/request_builder.h", true},
      {"src/orchestrator/executor.cc", "src/http/transport.h", true},
      {"src/orchestrator/executor.cc", "batchlog/events/v1/events.pb.h", true},
      {"src/orchestrator/executor.cc", "src/sim/emulator.h", false},
      {"src/orchestrator/executor.cc", "src/cli/run.h", false},
      {"src/sim/emulator.cc", "src/base/clock.h", true},
      {"src/sim/emulator.cc", "src/providers/openai_provider.h", false},
      {"src/sim/emulator.cc", "src/http/transport.h", false},
      {"src/cli/main.cc", "src/orchestrator/run_reader.h", true},
      {"src/cli/main.cc", "src/sim/emulator.h", true},
      {"src/cli/main.cc", "batchlog/events/v1/events.pb.h", true},
      {"src/cli/main.cc", "src/store/store.h", false},
      {"src/cli/main.cc", "src/providers/openai_provider.h", false},
      {"src/cli/main.cc", "replay/replayer.h", false},
      {"src/store/store.cc", "tests/support/temp_dir.h", false},
      {"tests/cli/cli_test.cc", "src/store/store.h", true},
      {"tests/orchestrator/executor_test.cc", "src/sim/emulator.h", true},
      {"bench/replay_bench.cc", "src/store/store.h", true},
  }));
  CAPTURE(row.file, row.include);
  CHECK(DependencyAllowed(ModuleOfPath(row.file), ModuleOfInclude(row.include)) == row.allowed);
  CHECK(Fires(row.file, IncludeLine(row.include), "include-dependency") == !row.allowed);
}

TEST_CASE("a dependency finding names both modules and the include", "[tidy]") {
  const std::vector<Finding> findings =
      CheckFile("replay/replayer.cc", "// c\n" + IncludeLine("src/store/event_log.h"));
  REQUIRE(findings.size() == 1);
  CHECK(FormatFinding(findings[0]).rfind("replay/replayer.cc:2: include-dependency: replay "
                                         "must not depend on store (\"src/store/event_log.h\"",
                                         0) == 0);
}

TEST_CASE("third-party and standard includes are not dependency findings", "[tidy]") {
  const std::string contents = "#include <vector>\n#include \"google/protobuf/message.h\"\n";
  CHECK(RulesFired("src/base/status.cc", contents).empty());
}

TEST_CASE("a folder under src/ that the table does not list is reported once", "[tidy]") {
  const std::vector<Finding> findings =
      CheckFile("src/gadgets/gadget.cc", IncludeLine("src/store/store.h"));
  REQUIRE(findings.size() == 1);
  CHECK(findings[0].rule == "unknown-module");
}

TEST_CASE("only a module and its own tests may include its internal/ folder", "[tidy]") {
  const std::string include = IncludeLine("src/store/internal/write_path.h");
  CHECK_FALSE(Fires("src/store/event_log.cc", include, "include-internal"));
  CHECK_FALSE(Fires("tests/store/event_log_test.cc", include, "include-internal"));
  CHECK(Fires("src/orchestrator/executor.cc", include, "include-internal"));
  CHECK(Fires("tests/replay/replay_test.cc", include, "include-internal"));
  CHECK(Fires("bench/append_bench.cc", include, "include-internal"));
  CHECK(Fires("src/orchestrator/executor.cc", IncludeLine("replay/internal/fold.h"),
              "include-internal"));
  CHECK_FALSE(Fires("src/store/store.cc", "#include <rocksdb/internal/x.h>\n",
                    "include-internal"));
}

TEST_CASE("libcurl may be included only from src/http/", "[tidy]") {
  const std::string include = "#include <curl/curl.h>\n";
  CHECK_FALSE(Fires("src/http/curl_transport.cc", include, "include-curl"));
  CHECK(Fires("src/providers/openai_provider.cc", include, "include-curl"));
  CHECK(Fires("tests/http/transport_test.cc", include, "include-curl"));
}

TEST_CASE("RocksDB may be included only from the store, its tests and bench", "[tidy]") {
  for (const std::string include :
       {"#include <rocksdb/db.h>\n", "#include \"rocksdb/write_batch.h\"\n"}) {
    CAPTURE(include);
    CHECK_FALSE(Fires("src/store/event_log.cc", include, "include-rocksdb"));
    CHECK_FALSE(Fires("tests/store/event_log_test.cc", include, "include-rocksdb"));
    CHECK_FALSE(Fires("bench/append_bench.cc", include, "include-rocksdb"));
    CHECK(Fires("replay/replayer.cc", include, "include-rocksdb"));
    CHECK(Fires("src/orchestrator/resume.cc", include, "include-rocksdb"));
    CHECK(Fires("tests/replay/replay_test.cc", include, "include-rocksdb"));
  }
}

TEST_CASE("cpp-httplib may be included only from src/sim/ and tests/", "[tidy]") {
  const std::string include = "#include <httplib.h>\n";
  CHECK_FALSE(Fires("src/sim/emulator.cc", include, "include-httplib"));
  CHECK_FALSE(Fires("tests/sim/emulator_test.cc", include, "include-httplib"));
  CHECK(Fires("src/http/curl_transport.cc", include, "include-httplib"));
  CHECK(Fires("src/cli/sim.cc", "#include \"httplib.h\"\n", "include-httplib"));
}

TEST_CASE("time and randomness are banned outside base's clock and random", "[tidy]") {
  const std::string line = GENERATE(as<std::string>{},
                                    "auto t = std::chrono::system_clock::now();",
                                    "int r = std::rand();", "int r = rand();",
                                    "std::random_device device;");
  CAPTURE(line);
  CHECK(Fires("src/orchestrator/executor.cc", line, "time-random"));
  CHECK(Fires("replay/manifest_projection.cc", line, "time-random"));
  CHECK_FALSE(Fires("src/base/clock.cc", line, "time-random"));
  CHECK_FALSE(Fires("src/base/random.cc", line, "time-random"));
  CHECK_FALSE(Fires("tests/orchestrator/executor_test.cc", line, "time-random"));
  CHECK_FALSE(Fires("bench/append_bench.cc", line, "time-random"));
}

TEST_CASE("time-random matches whole words, outside comments and strings", "[tidy]") {
  const std::string path = "src/orchestrator/executor.cc";
  CHECK(RulesFired(path, "int x = operand(1) + srand_count + grand(2);").empty());
  CHECK(RulesFired(path, "auto y = std::randomize(x) + my::random_devices;").empty());
  CHECK(RulesFired(path, "// never call std::rand() or random_device here").empty());
  CHECK(RulesFired(path, "const char* kWhy = \"system_clock::now is banned\";").empty());
  CHECK(RulesFired(path, "/* rand(\n random_device */ int x = 0;").empty());
}

TEST_CASE("only src/http/, secret.h and tests may call RevealForHeader", "[tidy]") {
  const std::string call = "auto v = key.RevealForHeader();";
  CHECK_FALSE(Fires("src/http/curl_transport.cc", call, "reveal-secret"));
  CHECK_FALSE(Fires("src/base/secret.h", call, "reveal-secret"));
  CHECK_FALSE(Fires("tests/base/secret_test.cc", call, "reveal-secret"));
  CHECK(Fires("src/providers/openai_provider.cc", call, "reveal-secret"));
  CHECK(Fires("src/base/status.cc", call, "reveal-secret"));
  CHECK_FALSE(Fires("src/providers/openai_provider.cc", "// not RevealForHeader()",
                    "reveal-secret"));
}

TEST_CASE("throw is banned in the store and the providers but not elsewhere", "[tidy]") {
  const std::string line = "  throw std::runtime_error(\"x\");";
  CHECK(Fires("src/store/event_log.cc", line, "no-throw"));
  CHECK(Fires("src/providers/openai_provider.cc", line, "no-throw"));
  CHECK_FALSE(Fires("src/orchestrator/executor.cc", line, "no-throw"));
  CHECK_FALSE(Fires("tests/store/event_log_test.cc", line, "no-throw"));
}

TEST_CASE("throw in comments, strings and longer words is not the keyword", "[tidy]") {
  const std::string path = "src/store/event_log.cc";
  CHECK(RulesFired(path, "// RocksDB does not throw; we never throw either").empty());
  CHECK(RulesFired(path, "const char* k = \"do not throw\"; char q = '\"';").empty());
  CHECK(RulesFired(path, "std::rethrow_if_nested(e); auto p = new (std::nothrow) int;").empty());
  CHECK(RulesFired(path, "int throws = throw_count;").empty());
  CHECK(RulesFired(path, "auto s = R\"x(throw \" still raw)x\";").empty());
}

TEST_CASE("the lexer ends raw strings and comments where the language does", "[tidy]") {
  const std::string path = "src/store/event_log.cc";
  // The raw string closes on line 2, so line 3's throw is code.
  const std::vector<Finding> raw =
      CheckFile(path, "auto s = R\"d(\nthrow )\" )d\";\nthrow 1;\n");
  REQUIRE(raw.size() == 1);
  CHECK(raw[0].line == 3);
  // A digit separator is not the start of a character literal.
  CHECK(Fires(path, "auto n = 1'000; throw 1;", "no-throw"));
  // A block comment ends at */ and code after it on the same line counts.
  CHECK(Fires(path, "/* a\n b */ throw 1;", "no-throw"));
  // An escaped quote does not end a string early.
  CHECK(RulesFired(path, "auto s = \"\\\" throw\";").empty());
}

TEST_CASE("an #include inside a comment or raw string is not an include", "[tidy]") {
  const std::string path = "src/base/status.cc";
  CHECK(RulesFired(path, "/*\n#include \"src/store/store.h\"\n*/\n").empty());
  CHECK(RulesFired(path, "auto s = R\"(\n#include <curl/curl.h>\n)\";\n").empty());
  CHECK(Fires(path, "#  include \"src/store/store.h\"\n", "include-dependency"));
}

TEST_CASE("a projection may not have a default: label", "[tidy]") {
  const std::string with_default =
      "switch (event.payload_case()) {\n  case A: break;\n  default: break;\n}\n";
  const std::vector<Finding> findings = CheckFile("replay/manifest_projection.cc", with_default);
  REQUIRE(findings.size() == 1);
  CHECK(findings[0].rule == "projection-default");
  CHECK(findings[0].line == 3);
  CHECK(Fires("replay/audit_projection.h", "default :", "projection-default"));
  CHECK_FALSE(Fires("replay/replayer.cc", with_default, "projection-default"));
  CHECK_FALSE(Fires("src/orchestrator/decide.cc", with_default, "projection-default"));
}

TEST_CASE("defaulted members and comments are not default: labels", "[tidy]") {
  const std::string path = "replay/manifest_projection.cc";
  CHECK(RulesFired(path, "ManifestState() = default;").empty());
  CHECK(RulesFired(path, "auto x = std::default_delete<int>{};").empty());
  CHECK(RulesFired(path, "// no default: here, by design").empty());
  CHECK(RulesFired(path, "auto s = \"default:\";").empty());
  CHECK(RulesFired(path, "auto x = a ? default_value : b;").empty());
}

TEST_CASE("includes must be written from the repository root", "[tidy]") {
  CHECK(Fires("src/store/store.cc", IncludeLine("../orchestrator/x.h"), "include-relative"));
  CHECK(Fires("src/store/store.cc", IncludeLine("./store.h"), "include-relative"));
  CHECK(Fires("src/store/store.cc", IncludeLine("src/store/../cli/x.h"), "include-relative"));
  CHECK_FALSE(Fires("src/store/store.cc", IncludeLine("src/store/store.h"), "include-relative"));
}

TEST_CASE("findings are formatted as path:line: rule: message", "[tidy]") {
  CHECK(FormatFinding(Finding{"src/store/store.cc", 12, "no-throw", "why"}) ==
        "src/store/store.cc:12: no-throw: why");
}

TEST_CASE("a fake tree is checked file by file and sorted by path then line", "[tidy]") {
  const std::vector<SourceFile> tree = {
      {"src/store/store.cc", "throw 1;\n" + IncludeLine("replay/replayer.h")},
      {"replay/replayer.cc", "ok();\n" + IncludeLine("src/store/store.h")},
      {"src/base/status.cc", "int x = 0;\n"},
  };
  const std::vector<Finding> findings = CheckFiles(tree);
  REQUIRE(findings.size() == 3);
  CHECK(FormatFinding(findings[0]).rfind("replay/replayer.cc:2: include-dependency", 0) == 0);
  CHECK(FormatFinding(findings[1]).rfind("src/store/store.cc:1: no-throw", 0) == 0);
  CHECK(FormatFinding(findings[2]).rfind("src/store/store.cc:2: include-dependency", 0) == 0);
}

TEST_CASE("the tree walk reads checked files and skips build and hidden folders", "[tidy]") {
  testing::TempDir root("batchlog-tidy");
  WriteFileText(root / "src/store/store.cc", "throw 1;\n");
  WriteFileText(root / "src/store/CMakeLists.txt", "add_library(x)\n");
  WriteFileText(root / "src/store/README.md", "throw\n");
  WriteFileText(root / "tests/build-x/src/store/bad.cc", "throw 1;\n");
  WriteFileText(root / "tests/.cache/bad.cc", "throw 1;\n");
  WriteFileText(root / "docs/bad.cc", "throw 1;\n");
  std::vector<std::string> errors;
  const std::vector<SourceFile> files = CollectTree(root.path(), errors);
  CHECK(errors.empty());
  std::vector<std::string> paths;
  for (const SourceFile& file : files) paths.push_back(file.path);
  CHECK(paths == std::vector<std::string>{"src/store/CMakeLists.txt", "src/store/store.cc"});
  const std::vector<Finding> findings = CheckFiles(files);
  REQUIRE(findings.size() == 1);
  CHECK(findings[0].path == "src/store/store.cc");
}

}  // namespace batchlog::tidy
