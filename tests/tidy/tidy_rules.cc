#include "tests/tidy/tidy_rules.h"

#include <algorithm>
#include <array>
#include <fstream>
#include <sstream>
#include <system_error>
#include <tuple>
#include <utility>

namespace batchlog::tidy {
namespace {

// The dependency table of docs/architecture.md as data: module -> what it may include
// besides itself. tests/ and bench/ may include anything and are not listed.
struct ModuleDeps {
  std::string_view module;
  std::vector<std::string_view> may_use;
};

const std::vector<ModuleDeps>& DependencyTable() {
  static const std::vector<ModuleDeps> kTable = {
      {"base", {}},
      {"events", {}},
      {"replay", {"events", "base"}},
      {"store", {"events", "base"}},
      {"http", {"base"}},
      {"providers", {"http", "base"}},
      {"workflow", {"base"}},
      {"orchestrator", {"store", "replay", "providers", "workflow", "events", "http", "base"}},
      {"sim", {"base"}},
      // The generated event types are the contract everyone reads, so cli may print them.
      {"cli", {"orchestrator", "sim", "events", "base"}},
  };
  return kTable;
}

const ModuleDeps* FindModule(std::string_view module) {
  for (const ModuleDeps& entry : DependencyTable()) {
    if (entry.module == module) return &entry;
  }
  return nullptr;
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool IsIdentChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

std::string_view FileName(std::string_view path) {
  const std::size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

bool IsCppFile(std::string_view path) {
  return EndsWith(path, ".h") || EndsWith(path, ".cc") || EndsWith(path, ".hpp") ||
         EndsWith(path, ".cpp");
}

// The first path component after `prefix`, e.g. ("src/store/x.h", "src/") -> "store".
std::string_view ComponentAfter(std::string_view path, std::string_view prefix) {
  if (!StartsWith(path, prefix)) return {};
  std::string_view rest = path.substr(prefix.size());
  const std::size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return {};  // a file directly in prefix, no module
  return rest.substr(0, slash);
}

// Columns as a reader counts them: UTF-8 code points, not bytes ("—" is one column).
std::size_t Columns(std::string_view line) {
  std::size_t columns = 0;
  for (const char c : line) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++columns;
  }
  return columns;
}

// A C++ file split into lines twice: as written, and with comments and the contents of
// string/char literals blanked out ("code"). starts_in_code says whether a line begins
// outside any comment or literal, so a "#include" inside a raw string is not an include.
struct LexedFile {
  std::vector<std::string_view> raw;
  std::vector<std::string> code;
  std::vector<bool> starts_in_code;
};

std::vector<std::string_view> SplitLines(std::string_view contents) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  while (start < contents.size()) {
    std::size_t end = contents.find('\n', start);
    if (end == std::string_view::npos) end = contents.size();
    std::string_view line = contents.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    start = end + 1;
  }
  return lines;
}

enum class LexState : std::uint8_t { kCode, kLineComment, kBlockComment, kString, kChar, kRaw };

// Whether the identifier that ends just before `quote` is a raw-string prefix (R, u8R, ...).
bool IsRawStringPrefix(std::string_view text, std::size_t quote) {
  std::size_t begin = quote;
  while (begin > 0 && IsIdentChar(text[begin - 1])) --begin;
  const std::string_view prefix = text.substr(begin, quote - begin);
  return prefix == "R" || prefix == "u8R" || prefix == "uR" || prefix == "UR" || prefix == "LR";
}

LexedFile Lex(std::string_view contents) {
  LexedFile lexed;
  lexed.raw = SplitLines(contents);
  std::string code(contents);
  LexState state = LexState::kCode;
  std::string raw_terminator;  // ")delim\"" while inside a raw string
  bool in_number = false;      // so the ' of 1'000 is a digit separator, not a char literal
  lexed.starts_in_code.push_back(true);
  for (std::size_t i = 0; i < contents.size(); ++i) {
    const char c = contents[i];
    const char next = i + 1 < contents.size() ? contents[i + 1] : '\0';
    if (c == '\n') {
      // Line comments end here; an unterminated literal is a syntax error we do not
      // diagnose, so recover rather than blank the rest of the file.
      if (state == LexState::kLineComment || state == LexState::kString ||
          state == LexState::kChar) {
        state = LexState::kCode;
      }
      in_number = false;
      lexed.starts_in_code.push_back(state == LexState::kCode);
      continue;
    }
    switch (state) {
      case LexState::kCode:
        if (in_number && !(IsIdentChar(c) || c == '.' || c == '\'')) in_number = false;
        if (!in_number && IsDigit(c) && (i == 0 || !IsIdentChar(contents[i - 1]))) {
          in_number = true;
        }
        if (c == '/' && next == '/') {
          state = LexState::kLineComment;
          code[i] = ' ';
        } else if (c == '/' && next == '*') {
          state = LexState::kBlockComment;
          code[i] = ' ';
          code[++i] = ' ';
        } else if (c == '"' && IsRawStringPrefix(contents, i)) {
          const std::size_t paren = contents.find('(', i + 1);
          if (paren == std::string_view::npos) break;
          raw_terminator = ")" + std::string(contents.substr(i + 1, paren - i - 1)) + "\"";
          state = LexState::kRaw;
          for (std::size_t j = i + 1; j <= paren; ++j) code[j] = ' ';
          i = paren;
        } else if (c == '"') {
          state = LexState::kString;
        } else if (c == '\'' && !in_number) {
          state = LexState::kChar;
        }
        break;
      case LexState::kLineComment:
        code[i] = ' ';
        break;
      case LexState::kBlockComment:
        code[i] = ' ';
        if (c == '*' && next == '/') {
          code[++i] = ' ';
          state = LexState::kCode;
        }
        break;
      case LexState::kString:
      case LexState::kChar:
        if (c == '\\') {
          code[i] = ' ';
          if (next != '\n' && next != '\0') code[++i] = ' ';
        } else if ((state == LexState::kString && c == '"') ||
                   (state == LexState::kChar && c == '\'')) {
          state = LexState::kCode;
        } else {
          code[i] = ' ';
        }
        break;
      case LexState::kRaw:
        if (contents.compare(i, raw_terminator.size(), raw_terminator) == 0) {
          for (std::size_t j = i; j + 1 < i + raw_terminator.size(); ++j) code[j] = ' ';
          i += raw_terminator.size() - 1;
          state = LexState::kCode;
        } else {
          code[i] = ' ';
        }
        break;
    }
  }
  for (const std::string_view line : SplitLines(code)) lexed.code.emplace_back(line);
  // SplitLines drops a trailing empty line; keep the three views the same length.
  lexed.code.resize(lexed.raw.size());
  lexed.starts_in_code.resize(lexed.raw.size(), true);
  return lexed;
}

// Whether `token` occurs in `line` as whole words: an identifier character at either end
// of the token must not continue into the surrounding text.
bool ContainsToken(std::string_view line, std::string_view token) {
  for (std::size_t pos = line.find(token); pos != std::string_view::npos;
       pos = line.find(token, pos + 1)) {
    const bool starts_word = IsIdentChar(token.front());
    const bool ends_word = IsIdentChar(token.back());
    const std::size_t end = pos + token.size();
    if (starts_word && pos > 0 && IsIdentChar(line[pos - 1])) continue;
    if (ends_word && end < line.size() && IsIdentChar(line[end])) continue;
    return true;
  }
  return false;
}

// A `default` label: the word, optional blanks, then ':' that does not start '::'.
bool ContainsDefaultLabel(std::string_view line) {
  for (std::size_t pos = line.find("default"); pos != std::string_view::npos;
       pos = line.find("default", pos + 1)) {
    const std::size_t end = pos + 7;
    if (pos > 0 && IsIdentChar(line[pos - 1])) continue;
    if (end < line.size() && IsIdentChar(line[end])) continue;
    std::size_t colon = end;
    while (colon < line.size() && (line[colon] == ' ' || line[colon] == '\t')) ++colon;
    if (colon < line.size() && line[colon] == ':' &&
        (colon + 1 >= line.size() || line[colon + 1] != ':')) {
      return true;
    }
  }
  return false;
}

struct Include {
  std::string path;
  bool angled = false;
};

// Parses `#include <x>` / `# include "x"`; false for anything else.
bool ParseInclude(std::string_view line, Include& include) {
  std::size_t i = 0;
  auto skip_blanks = [&] {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
  };
  skip_blanks();
  if (i >= line.size() || line[i] != '#') return false;
  ++i;
  skip_blanks();
  if (line.compare(i, 7, "include") != 0) return false;
  i += 7;
  skip_blanks();
  if (i >= line.size() || (line[i] != '<' && line[i] != '"')) return false;
  const char close = line[i] == '<' ? '>' : '"';
  include.angled = line[i] == '<';
  const std::size_t end = line.find(close, i + 1);
  if (end == std::string_view::npos) return false;
  include.path = std::string(line.substr(i + 1, end - i - 1));
  return true;
}

// The module whose internal/ folder an include reaches into, or "" if none.
std::string InternalOwner(std::string_view include_path) {
  if (include_path.find("/internal/") == std::string_view::npos &&
      !StartsWith(include_path, "internal/")) {
    return {};
  }
  return ModuleOfInclude(include_path);
}

// The module a file speaks for when reaching into internal/: tests/<m>/ speaks for <m>.
std::string InternalReader(std::string_view path) {
  if (StartsWith(path, "tests/")) return std::string(ComponentAfter(path, "tests/"));
  return ModuleOfPath(path);
}

class FileChecker {
 public:
  FileChecker(std::string_view path, std::vector<Finding>& findings)
      : path_(path), module_(ModuleOfPath(path)), findings_(findings) {}

  void CheckColumns(const std::vector<std::string_view>& lines) {
    for (std::size_t i = 0; i < lines.size(); ++i) {
      const std::size_t columns = Columns(lines[i]);
      if (columns > kColumnLimit) {
        Add(i, "line-length",
            std::to_string(columns) + " columns, over the limit of " +
                std::to_string(kColumnLimit));
      }
    }
  }

  void CheckModuleKnown() {
    const std::string_view dir = ComponentAfter(path_, "src/");
    if (!dir.empty() && FindModule(dir) == nullptr) {
      Add(0, "unknown-module",
          "src/" + std::string(dir) +
              "/ is not in the dependency table (docs/architecture.md and "
              "tests/tidy/tidy_rules.cc must list it)");
    }
  }

  void CheckCpp(std::string_view contents) {
    const LexedFile lexed = Lex(contents);
    for (std::size_t i = 0; i < lexed.raw.size(); ++i) {
      Include include;
      if (lexed.starts_in_code[i] && ParseInclude(lexed.raw[i], include)) {
        CheckInclude(i, include);
      }
      CheckTokens(i, lexed.code[i]);
    }
  }

 private:
  void Add(std::size_t line_index, std::string rule, std::string message) {
    findings_.push_back(Finding{std::string(path_), static_cast<int>(line_index + 1),
                                std::move(rule), std::move(message)});
  }

  bool Under(std::string_view prefix) const { return StartsWith(path_, prefix); }

  void CheckInclude(std::size_t line, const Include& include) {
    const std::string& target = include.path;
    if (!include.angled && (StartsWith(target, "./") || StartsWith(target, "../") ||
                            target.find("/../") != std::string::npos)) {
      Add(line, "include-relative",
          "\"" + target + "\": write includes from the repository root, so tidy can check them");
    }
    const std::string to = ModuleOfInclude(target);
    if (!DependencyAllowed(module_, to)) {
      Add(line, "include-dependency",
          module_ + " must not depend on " + to + " (\"" + target +
              "\"; see docs/architecture.md, \"Who may depend on whom\")");
    }
    const std::string owner = InternalOwner(target);
    if (!owner.empty() && owner != InternalReader(path_)) {
      Add(line, "include-internal",
          "\"" + target + "\" is internal to " + owner + "; use its public header");
    }
    if (include.angled && StartsWith(target, "curl/") && !Under("src/http/")) {
      Add(line, "include-curl", "libcurl is used only in src/http/ (\"" + target + "\")");
    }
    if (StartsWith(target, "rocksdb/") && !Under("src/store/") && !Under("tests/store/") &&
        !Under("bench/")) {
      Add(line, "include-rocksdb",
          "RocksDB is used only in src/store/, tests/store/ and bench/ (\"" + target + "\")");
    }
    if (target == "httplib.h" && !Under("src/sim/") && !Under("tests/")) {
      Add(line, "include-httplib", "cpp-httplib is used only in src/sim/ and tests/");
    }
  }

  void CheckTokens(std::size_t line, std::string_view code) {
    const bool time_random_exempt = Under("src/base/clock") || Under("src/base/random") ||
                                    Under("tests/") || Under("bench/");
    if (!time_random_exempt) {
      static constexpr std::array<std::string_view, 4> kBanned = {
          "system_clock::now", "std::rand", "rand(", "random_device"};
      for (const std::string_view token : kBanned) {
        if (ContainsToken(code, token)) {
          Add(line, "time-random",
              std::string(token) +
                  ": time and randomness enter only through base::Clock and base::Random");
        }
      }
    }
    if (!Under("src/http/") && path_ != "src/base/secret.h" && !Under("tests/") &&
        ContainsToken(code, "RevealForHeader")) {
      Add(line, "reveal-secret", "only src/http/ may unwrap a Secret (RevealForHeader)");
    }
    if ((Under("src/store/") || Under("src/providers/")) && ContainsToken(code, "throw")) {
      Add(line, "no-throw",
          "nothing throws across the store or provider boundary; return a Status");
    }
    if (Under("replay/") && (EndsWith(path_, "_projection.cc") ||
                             EndsWith(path_, "_projection.h")) &&
        ContainsDefaultLabel(code)) {
      Add(line, "projection-default",
          "a projection's switch has no default:, so -Wswitch flags every new event type");
    }
  }

  std::string_view path_;
  std::string module_;
  std::vector<Finding>& findings_;
};

}  // namespace

std::string FormatFinding(const Finding& finding) {
  std::ostringstream out;
  out << finding.path << ':' << finding.line << ": " << finding.rule << ": " << finding.message;
  return out.str();
}

std::string ModuleOfPath(std::string_view path) {
  if (StartsWith(path, "src/")) return std::string(ComponentAfter(path, "src/"));
  if (StartsWith(path, "replay/")) return "replay";
  if (StartsWith(path, "events/")) return "events";
  if (StartsWith(path, "tests/")) return "tests";
  if (StartsWith(path, "bench/")) return "bench";
  return {};
}

std::string ModuleOfInclude(std::string_view include_path) {
  if (StartsWith(include_path, "batchlog/events/")) return "events";
  return ModuleOfPath(include_path);
}

bool DependencyAllowed(std::string_view from, std::string_view to) {
  if (to.empty() || from == to || from == "tests" || from == "bench") return true;
  const ModuleDeps* entry = FindModule(from);
  // A file outside the table is reported once as unknown-module, not per include.
  if (entry == nullptr) return true;
  return std::find(entry->may_use.begin(), entry->may_use.end(), to) != entry->may_use.end();
}

bool IsCheckedFile(std::string_view path) {
  return IsCppFile(path) || EndsWith(path, ".proto") || FileName(path) == "CMakeLists.txt";
}

std::vector<Finding> CheckFile(std::string_view path, std::string_view contents) {
  std::vector<Finding> findings;
  if (!IsCheckedFile(path)) return findings;
  FileChecker checker(path, findings);
  checker.CheckModuleKnown();
  checker.CheckColumns(SplitLines(contents));
  if (IsCppFile(path)) checker.CheckCpp(contents);
  std::stable_sort(findings.begin(), findings.end(),
                   [](const Finding& a, const Finding& b) { return a.line < b.line; });
  return findings;
}

std::vector<Finding> CheckFiles(const std::vector<SourceFile>& files) {
  std::vector<Finding> findings;
  for (const SourceFile& file : files) {
    std::vector<Finding> file_findings = CheckFile(file.path, file.contents);
    findings.insert(findings.end(), std::make_move_iterator(file_findings.begin()),
                    std::make_move_iterator(file_findings.end()));
  }
  std::stable_sort(findings.begin(), findings.end(), [](const Finding& a, const Finding& b) {
    return std::tie(a.path, a.line) < std::tie(b.path, b.line);
  });
  return findings;
}

std::vector<SourceFile> CollectTree(const std::filesystem::path& root,
                                    std::vector<std::string>& errors) {
  namespace fs = std::filesystem;
  std::vector<SourceFile> files;
  for (const std::string_view top : kCheckedRoots) {
    const fs::path dir = root / top;
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) continue;
    fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec);
    if (ec) {
      errors.push_back(dir.string() + ": " + ec.message());
      continue;
    }
    for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (ec) {
        errors.push_back(dir.string() + ": " + ec.message());
        break;
      }
      const std::string name = it->path().filename().string();
      if (it->is_directory(ec)) {
        if (StartsWith(name, "build") || StartsWith(name, "cmake-build") ||
            StartsWith(name, ".")) {
          it.disable_recursion_pending();
        }
        continue;
      }
      const std::string relative = it->path().lexically_relative(root).generic_string();
      if (!it->is_regular_file(ec) || !IsCheckedFile(relative)) continue;
      std::ifstream in(it->path(), std::ios::binary);
      if (!in) {
        errors.push_back(relative + ": cannot be read");
        continue;
      }
      std::ostringstream contents;
      contents << in.rdbuf();
      files.push_back(SourceFile{relative, std::move(contents).str()});
    }
  }
  std::sort(files.begin(), files.end(),
            [](const SourceFile& a, const SourceFile& b) { return a.path < b.path; });
  return files;
}

}  // namespace batchlog::tidy
