// Tests of the results parser's line scanner (src/providers/results_line_scanner.h) against
// the parser's simdjson path (ResultsParserOptions::line_scanner off), which is the
// reference: on generated lines of both providers (escapes, unicode, blanks, permuted keys,
// the parser's key names nested where they must not be taken, Responses-API bodies), on
// mutations of them, and on whole files. The scanner may decline a line; when it accepts
// one, simdjson must accept it too and read the same ResultLine.
#include "src/providers/results_line_scanner.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "src/base/random.h"
#include "src/base/status.h"
#include "src/providers/result_line.h"
#include "src/providers/results_parser.h"
#include "tests/providers/parsing/owned_line.h"
#include "tests/support/event_sequence_generator.h"
#include "tests/support/temp_dir.h"

namespace batchlog::providers {
namespace {

// ---- The two readers of one line ----

struct Reading {
  bool ok = false;
  OwnedLine line;
};

// The scanner on `line` (no newline): the line, its newline, then padding.
Reading Scan(ProviderKind kind, std::string_view line) {
  std::string buffer(line);
  buffer += '\n';
  buffer.append(kResultsPaddingBytes, 'x');
  std::size_t start = 0;
  while (buffer[start] == ' ' || buffer[start] == '\t' || buffer[start] == '\r') ++start;
  ResultLine result;
  result.line_number = 1;
  const char* newline = ScanResultLine(kind, buffer.data() + start, result);
  Reading reading;
  if (newline == nullptr) return reading;
  CHECK(newline == buffer.data() + line.size());
  reading.ok = true;
  reading.line = Own(result);
  return reading;
}

// The parser with simdjson only on `line` as a one-line file.
Reading Simdjson(ProviderKind kind, std::string_view line) {
  const std::string text = std::string(line) + "\n" + std::string(kResultsPaddingBytes, ' ');
  ResultsParserOptions options;
  options.line_scanner = false;
  ResultsParser parser(kind, options);
  Reading reading;
  int calls = 0;
  base::Result<ParseSummary> result = parser.ParseBuffer(
      std::string_view(text.data(), line.size() + 1), "line", [&](const ResultLine& read) {
        reading.line = Own(read);
        ++calls;
        return base::Status::Ok();
      });
  reading.ok = result.ok() && calls == 1;
  return reading;
}

// Checks the scanner's reading of `line` against simdjson's; returns whether it accepted.
bool Agree(ProviderKind kind, std::string_view line) {
  const Reading fast = Scan(kind, line);
  if (!fast.ok) return false;
  const Reading reference = Simdjson(kind, line);
  CAPTURE(line);
  REQUIRE(reference.ok);
  CHECK(fast.line == reference.line);
  return true;
}

// ---- Generated lines ----

constexpr std::string_view kWords[] = {"the",           "sum",    "of",   "two",       "is",
                                       "four",          "answer", "step", "custom_id", "usage",
                                       "finish_reason", "error"};

// Writes one result line of either provider with random layout and content. `plain` says
// whether the scanner must accept it: true unless the line holds an escape in a string the
// parser returns, or a count simdjson cannot read as an unsigned integer.
class LineWriter {
 public:
  explicit LineWriter(base::Random& random) : random_(random) {}

  std::string OpenAi(bool& plain) {
    plain = true;
    Members top;
    if (Chance(90)) top.push_back({"id", Quote("batch_req_" + Word())});
    top.push_back({"custom_id", Quote(ReturnedText(plain))});
    switch (random_.Below(4)) {
      case 0:
        top.push_back({"response", "null"});
        top.push_back({"error", ErrorObject(plain, /*with_type=*/false)});
        break;
      case 1:
        top.push_back({"response", Response(plain)});
        if (Chance(70)) top.push_back({"error", "null"});
        break;
      case 2:
        top.push_back({"response", Response(plain)});
        top.push_back({"error", ErrorObject(plain, /*with_type=*/false)});
        break;
      default:
        top.push_back({"response", Response(plain)});
        break;
    }
    AddDecoys(top);
    return Object(top);
  }

  std::string Anthropic(bool& plain) {
    plain = true;
    Members result;
    std::string type;
    switch (random_.Below(6)) {
      case 0:
        type = "expired";
        break;
      case 1:
        type = "canceled";
        break;
      case 2:
        type = "errored";
        result.push_back({"error", AnthropicError(plain)});
        break;
      case 3:
        type = Chance(50) ? "paused" : "errored";
        break;
      default:
        type = "succeeded";
        result.push_back({"message", AnthropicMessage(plain)});
        break;
    }
    result.push_back({"type", Quote(type)});
    AddDecoys(result);
    Members top = {{"custom_id", Quote(ReturnedText(plain))}, {"result", Object(result)}};
    AddDecoys(top);
    return Object(top);
  }

 private:
  using Members = std::vector<std::pair<std::string, std::string>>;

  bool Chance(std::uint64_t percent) { return random_.Below(100) < percent; }

  std::string Word() { return std::string(kWords[random_.Below(std::size(kWords))]); }

  // Blanks between tokens: none most of the time.
  std::string Blank() {
    switch (random_.Below(12)) {
      case 0:
        return " ";
      case 1:
        return "  ";
      case 2:
        return "\t";
      case 3:
        return " \r ";
      default:
        return "";
    }
  }

  static std::string Quote(std::string_view text) { return "\"" + std::string(text) + "\""; }

  // String content (JSON-escaped as written) with escapes, \u escapes and raw UTF-8.
  std::string Text(std::size_t words) {
    static constexpr std::string_view kPieces[] = {"\\n",
                                                   "\\\"",
                                                   "\\\\",
                                                   "\\/",
                                                   "\\t",
                                                   "\\u00e9",
                                                   "\\ud83d\\ude00",
                                                   "caf\xC3\xA9",
                                                   "\xE9\x9B\xAA",
                                                   "\xF0\x9F\x98\x80",
                                                   "{\\\"usage\\\":1}",
                                                   "\\\"custom_id\\\": \\\"x\\\""};
    std::string text;
    for (std::size_t i = 0; i < words; ++i) {
      if (i > 0) text += ' ';
      text += Chance(15) ? std::string(kPieces[random_.Below(std::size(kPieces))]) : Word();
    }
    return text;
  }

  // A string the parser returns: plain ASCII most of the time, sometimes raw UTF-8
  // (accepted), sometimes with an escape (declined: simdjson unescapes it).
  std::string ReturnedText(bool& plain) {
    std::string text = Word() + "-" + std::to_string(random_.Below(100000));
    if (Chance(5)) text += "\xC3\xA9\xE2\x82\xAC";
    if (Chance(4)) {
      text += Chance(50) ? "\\u005f" : "\\\"q\\\"";
      plain = false;
    }
    return text;
  }

  // A token count: an integer mostly; null or a string (ignored); a fraction or a
  // negative number (simdjson fails the line, so the scanner must decline it); a count of
  // more than 15 digits (declined, read by simdjson).
  std::string Count(bool& plain) {
    switch (random_.Below(20)) {
      case 0:
        return "null";
      case 1:
        return "\"12\"";
      case 2:
        plain = false;
        return "1.5";
      case 3:
        plain = false;
        return "-3";
      case 4:
        return "0";
      case 5:
        return "184467440737095";  // 15 digits: read
      case 6:
        plain = false;  // simdjson reads 16 to 20 digits; the scanner leaves them to it
        return "18446744073709551";
      default:
        return std::to_string(random_.Below(100000));
    }
  }

  // Any JSON value, holding the parser's key names at depths where they mean nothing.
  std::string Decoy(int depth) {
    switch (random_.Below(depth > 3 ? 6 : 9)) {
      case 0:
        return Quote(Text(1 + random_.Below(4)));
      case 1:
        return std::to_string(random_.Below(1000));
      case 2:
        return Chance(50) ? "-12.5e+3" : "0.25";
      case 3:
        return "true";
      case 4:
        return "false";
      case 5:
        return "null";
      case 6:
      case 7: {
        static constexpr std::string_view kKeys[] = {
            "custom_id", "usage",   "finish_reason", "stop_reason",  "error",
            "type",      "message", "prompt_tokens", "input_tokens", "status_code",
            "body",      "result",  "choices"};
        Members members;
        const std::uint64_t count = random_.Below(4);
        for (std::uint64_t i = 0; i < count; ++i) {
          members.push_back(
              {std::string(kKeys[random_.Below(std::size(kKeys))]) + (Chance(10) ? "\\u0021" : ""),
               Decoy(depth + 1)});
        }
        return Object(members, /*shuffle=*/false);
      }
      default: {
        std::string array = "[" + Blank();
        const std::uint64_t count = random_.Below(4);
        for (std::uint64_t i = 0; i < count; ++i) {
          if (i > 0) array += Blank() + "," + Blank();
          array += Decoy(depth + 1);
        }
        return array + Blank() + "]";
      }
    }
  }

  // Adds up to two unknown members holding decoys.
  void AddDecoys(Members& members) {
    const std::uint64_t count = random_.Below(3);
    for (std::uint64_t i = 0; i < count; ++i) {
      members.push_back({"x_" + Word(), Decoy(1)});
    }
  }

  std::string Object(Members members, bool shuffle = true) {
    if (shuffle) {
      for (std::size_t k = members.size(); k > 1; --k) {
        std::swap(members[k - 1], members[random_.Below(k)]);
      }
    }
    std::string out = "{" + Blank();
    for (std::size_t i = 0; i < members.size(); ++i) {
      if (i > 0) out += Blank() + "," + Blank();
      out += Quote(members[i].first) + Blank() + ":" + Blank() + members[i].second;
    }
    return out + Blank() + "}";
  }

  std::string ErrorObject(bool& plain, bool with_type) {
    Members error = {{"message", Quote(ReturnedText(plain))}};
    if (Chance(80)) error.push_back({"code", Chance(20) ? "null" : Quote(ReturnedText(plain))});
    if (with_type && Chance(90)) error.push_back({"type", Quote(ReturnedText(plain))});
    if (Chance(50)) error.push_back({"param", Chance(50) ? "null" : Decoy(2)});
    return Object(error);
  }

  std::string Response(bool& plain) {
    Members response = {{"status_code", std::to_string(random_.Below(2) == 0 ? 200 : 429)}};
    if (Chance(80)) response.push_back({"request_id", Quote("req_" + Word())});
    switch (random_.Below(7)) {
      case 0:
        response.push_back({"body", "null"});
        break;
      case 1:
        response.push_back({"body", Chance(50) ? "\"Timed out\"" : "[1, {\"usage\": 2}]"});
        break;
      case 2:
        response.push_back({"body", Object({{"error", ErrorObject(plain, true)}})});
        break;
      case 3:
        response.push_back({"body", ResponsesBody(plain)});
        break;
      case 4:
        break;
      default:
        response.push_back({"body", ChatBody(plain)});
        break;
    }
    return Object(response);
  }

  std::string Usage(bool& plain, bool chat) {
    Members usage = {{chat ? "prompt_tokens" : "input_tokens", Count(plain)},
                     {chat ? "completion_tokens" : "output_tokens", Count(plain)},
                     {"total_tokens", std::to_string(random_.Below(5000))}};
    if (Chance(60)) {
      usage.push_back({chat ? "prompt_tokens_details" : "input_tokens_details",
                       Object({{"cached_tokens", Count(plain)}, {"audio_tokens", "0"}})});
    }
    if (Chance(30)) usage.push_back({"completion_tokens_details", Decoy(2)});
    return Object(usage);
  }

  std::string ChatBody(bool& plain) {
    Members message = {{"role", "\"assistant\""}, {"content", Quote(Text(random_.Below(40)))}};
    if (Chance(30)) {
      message.push_back(
          {"tool_calls",
           "[{\"id\":\"call_1\",\"function\":{\"name\":\"f\",\"arguments\":{\"custom_id\":\"no\","
           "\"usage\":{\"prompt_tokens\":999},\"finish_reason\":\"nested\"}}}]"});
    }
    AddDecoys(message);
    Members choice = {{"index", "0"}, {"message", Object(message)}};
    if (Chance(85)) {
      choice.push_back(
          {"finish_reason", Chance(10) ? "null" : Quote(Chance(80) ? "stop" : "length")});
    }
    std::string choices = "[" + Object(choice);
    if (Chance(20)) choices += ",{\"index\":1,\"finish_reason\":\"second\"}";
    choices += "]";
    Members body = {{"id", "\"chatcmpl-1\""},
                    {"object", "\"chat.completion\""},
                    {"created", "1767228000"},
                    {"choices", choices}};
    if (Chance(90)) body.push_back({"usage", Chance(5) ? "null" : Usage(plain, true)});
    if (Chance(10)) body.push_back({"incomplete_details", "{\"reason\":\"ignored\"}"});
    AddDecoys(body);
    return Object(body);
  }

  std::string ResponsesBody(bool& plain) {
    Members body = {
        {"object", "\"response\""},
        {"status", "\"incomplete\""},
        {"output", "[{\"type\":\"message\",\"content\":[{\"text\":" + Quote(Text(5)) + "}]}]"},
        {"usage", Usage(plain, false)}};
    if (Chance(80)) {
      body.push_back(
          {"incomplete_details",
           Object({{"reason", Quote(Chance(50) ? "content_filter" : "max_output_tokens")}})});
    }
    return Object(body);
  }

  std::string AnthropicMessage(bool& plain) {
    Members content = {{"type", "\"text\""}, {"text", Quote(Text(random_.Below(40)))}};
    Members usage = {{"input_tokens", Count(plain)}, {"output_tokens", Count(plain)}};
    if (Chance(60)) usage.push_back({"cache_read_input_tokens", Count(plain)});
    if (Chance(60)) usage.push_back({"cache_creation_input_tokens", Count(plain)});
    Members message = {{"id", "\"msg_01\""},
                       {"type", "\"message\""},
                       {"content", "[" + Object(content) + "]"},
                       {"usage", Object(usage)}};
    if (Chance(90)) {
      message.push_back(
          {"stop_reason", Chance(10) ? "null" : Quote(Chance(80) ? "end_turn" : "refusal")});
    }
    if (Chance(30)) {
      message.push_back({"content_2",
                         "[{\"type\":\"tool_use\",\"input\":{\"custom_id\":\"no\","
                         "\"usage\":{\"input_tokens\":5},\"stop_reason\":\"x\"}}]"});
    }
    AddDecoys(message);
    return Object(message);
  }

  std::string AnthropicError(bool& plain) {
    static constexpr std::string_view kTypes[] = {"overloaded_error", "api_error",
                                                  "invalid_request_error", "new_error"};
    const std::string type = Quote(kTypes[random_.Below(std::size(kTypes))]);
    if (Chance(15)) return Object({{"type", type}, {"message", Quote(ReturnedText(plain))}});
    Members inner = {{"type", type}, {"message", Quote(ReturnedText(plain))}};
    return Object(
        {{"type", "\"error\""}, {"error", Object(inner)}, {"request_id", "\"req_011C\""}});
  }

  base::Random& random_;
};

std::string GeneratedLine(LineWriter& writer, ProviderKind kind, bool& plain) {
  return kind == ProviderKind::kOpenAi ? writer.OpenAi(plain) : writer.Anthropic(plain);
}

std::uint64_t Seed(std::uint64_t offset) {
  const std::uint64_t seed = testing::SeedFromEnvironment(20261128) + offset;
  std::fprintf(stderr, "results_line_scanner_test: BATCHLOG_SEED base %llu (+%llu)\n",
               static_cast<unsigned long long>(seed - offset),
               static_cast<unsigned long long>(offset));
  return seed;
}

// Runs the rest of the scope with the scanner's AVX2 loop on or off, then restores it.
class Avx2Choice {
 public:
  explicit Avx2Choice(bool use) { UseAvx2ForTesting(use); }
  ~Avx2Choice() { UseAvx2ForTesting(true); }
  Avx2Choice(const Avx2Choice&) = delete;
  Avx2Choice& operator=(const Avx2Choice&) = delete;
};

TEST_CASE(
    "the scanner reads every generated line as simdjson does, and declines only escapes "
    "in returned strings and counts that are not unsigned integers",
    "[providers][results_line_scanner]") {
  const std::uint64_t seed = Seed(10);
  base::SeededRandom random(seed);
  LineWriter writer(random);
  const bool avx2 = GENERATE(true, false);
  const Avx2Choice choice(avx2);
  CAPTURE(avx2);
  for (const ProviderKind kind : {ProviderKind::kOpenAi, ProviderKind::kAnthropic}) {
    int accepted = 0;
    int plain_lines = 0;
    for (int i = 0; i < 3000; ++i) {
      bool plain = true;
      const std::string line = GeneratedLine(writer, kind, plain);
      CAPTURE(seed, i, line, plain);
      const bool fast = Agree(kind, line);
      if (plain) {
        CHECK(fast);
        ++plain_lines;
      }
      if (fast) ++accepted;
    }
    // The generator keeps most lines plain, so the scanner is exercised.
    CHECK(plain_lines > 1500);
    CHECK(accepted == plain_lines);
  }
}

TEST_CASE("keys with the parser's names are taken only at their own depth",
          "[providers][results_line_scanner]") {
  const std::string openai =
      R"({"id":"b","x":{"custom_id":"outer-decoy","response":{"status_code":500}},)"
      R"("custom_id":"real","response":{"status_code":200,"meta":{"body":{"usage":{"prompt_to)"
      R"(kens":1}}},"body":{"choices":[{"message":{"content":"{\"finish_reason\":\"s\"}","fin)"
      R"(ish_reason":"deep","usage":{"prompt_tokens":99}},"finish_reason":"stop"},{"finish_r)"
      R"(eason":"second"}],"data":[{"usage":{"prompt_tokens":98}}],"usage":{"prompt_tokens":)"
      R"(7,"x":{"cached_tokens":5},"completion_tokens":3}}},"error":null})";
  REQUIRE(Agree(ProviderKind::kOpenAi, openai));
  const Reading read = Scan(ProviderKind::kOpenAi, openai);
  CHECK(read.line.custom_id == "real");
  CHECK(read.line.http_status == 200);
  CHECK(read.line.finish_reason == "stop");
  CHECK(read.line.usage == TokenUsage{7, 3, 0});

  const std::string anthropic =
      R"({"result":{"message":{"content":[{"type":"tool_use","input":{"stop_reason":"no","usa)"
      R"(ge":{"input_tokens":50},"custom_id":"nested"}}],"usage":{"output_tokens":4},"x":{"s)"
      R"(top_reason":"deep"}},"type":"succeeded","x":{"type":"errored"}},"custom_id":"top"})";
  REQUIRE(Agree(ProviderKind::kAnthropic, anthropic));
  const Reading anthropic_read = Scan(ProviderKind::kAnthropic, anthropic);
  CHECK(anthropic_read.line.custom_id == "top");
  CHECK(anthropic_read.line.outcome == ResultOutcome::kResponded);
  CHECK(anthropic_read.line.finish_reason.empty());
  CHECK(anthropic_read.line.usage == TokenUsage{0, 4, 0});
}

TEST_CASE("a mutated line is accepted by the scanner only when simdjson reads it the same",
          "[providers][results_line_scanner]") {
  const std::uint64_t seed = Seed(11);
  base::SeededRandom random(seed);
  LineWriter writer(random);
  const bool avx2 = GENERATE(true, false);
  const Avx2Choice choice(avx2);
  CAPTURE(avx2);
  static constexpr std::string_view kNoise =
      "\"{}[],:\\ \t\r\x01\x7f\xff\xc3\x80"
      "a0-.eEnul";
  int accepted = 0;
  int mutations = 0;
  for (const ProviderKind kind : {ProviderKind::kOpenAi, ProviderKind::kAnthropic}) {
    for (int i = 0; i < 1500; ++i) {
      bool plain = true;
      std::string line = GeneratedLine(writer, kind, plain);
      for (std::uint64_t edits = 1 + random.Below(2); edits > 0 && !line.empty(); --edits) {
        const std::size_t at = random.Below(line.size());
        const char noise = kNoise[random.Below(kNoise.size())];
        switch (random.Below(4)) {
          case 0:
            line.erase(at, 1);
            break;
          case 1:
            line.insert(at, 1, noise);
            break;
          case 2:
            line.resize(at);  // cut short
            break;
          default:
            line[at] = noise;
            break;
        }
      }
      if (line.empty()) continue;
      CAPTURE(seed, i, line);
      ++mutations;
      if (Agree(kind, line)) ++accepted;
    }
  }
  // Some mutations are harmless (inside a skipped string, blanks); most are not.
  CHECK(accepted > 0);
  CHECK(accepted < mutations);
}

TEST_CASE("lines the scanner declines are read by simdjson, errors worded as before",
          "[providers][results_line_scanner]") {
  struct Case {
    ProviderKind kind;
    std::string line;
  };
  const std::vector<Case> declined = {
      // An escape in a returned string (simdjson unescapes it).
      {ProviderKind::kOpenAi, R"({"custom_id":"a\u005fb","response":null,"error":{"code":"x"}})"},
      {ProviderKind::kAnthropic,
       R"({"custom_id":"a","result":{"type":"errored","error":{"type":"error","error":{"type":")"
       R"(api_error","message":"say \"hi\""}}}})"},
      // An escaped key is not the key it spells, for both readers.
      {ProviderKind::kOpenAi, R"({"custom\u005fid":"a","response":null,"error":{"code":"x"}})"},
      // Invalid UTF-8 in a skipped string; a raw tab in a string; a nul byte.
      {ProviderKind::kOpenAi,
       "{\"custom_id\":\"a\",\"response\":{\"status_code\":200,\"body\":{\"t\":\"\xC3\x28\"}}}"},
      {ProviderKind::kOpenAi,
       "{\"custom_id\":\"a\",\"response\":{\"status_code\":200,\"body\":"
       "{\"t\":\"a\tb\"}}}"},
      {ProviderKind::kOpenAi, std::string(R"({"custom_id":"a","error":{"code":")") + '\0' + "\"}}"},
      // Two values; a status that is not an integer in range; a cut line.
      {ProviderKind::kAnthropic, R"({"custom_id":"a","result":{"type":"expired"}} {})"},
      {ProviderKind::kOpenAi, R"({"custom_id":"a","response":{"status_code":2000}})"},
      {ProviderKind::kOpenAi, R"({"custom_id":"a","response":{"status_code":200.0}})"},
      {ProviderKind::kAnthropic, R"({"custom_id":"a","result":{"type":"expired")"},
      // Deeper than the scanner's 64 levels (simdjson reads it).
      {ProviderKind::kOpenAi, R"({"custom_id":"a","response":null,"error":{"code":"x"},"d":)" +
                                  std::string(70, '[') + std::string(70, ']') + "}"},
      // Not valid JSON where simdjson does not look: the scanner is stricter.
      {ProviderKind::kOpenAi, R"({"custom_id":"a","x":nul,"response":null,"error":{"code":"x"}})"},
  };
  for (const Case& c : declined) {
    CAPTURE(c.line);
    CHECK_FALSE(Scan(c.kind, c.line).ok);
  }
  // The declined lines still parse (or fail) through the default parser as through the
  // simdjson path alone.
  for (const Case& c : declined) {
    CAPTURE(c.line);
    const std::string text =
        "\n" + c.line + "\n" +
        (c.kind == ProviderKind::kOpenAi ? R"({"custom_id":"z","error":{"code":"x"}})"
                                         : R"({"custom_id":"z","result":{"type":"expired"}})") +
        "\n";
    std::vector<OwnedLine> fast_lines;
    std::vector<OwnedLine> slow_lines;
    ResultsParserOptions simdjson_only;
    simdjson_only.line_scanner = false;
    const std::string padded = text + std::string(kResultsPaddingBytes, ' ');
    const std::string_view input(padded.data(), text.size());
    ResultsParser fast(c.kind);
    ResultsParser slow(c.kind, simdjson_only);
    const base::Result<ParseSummary> fast_result =
        fast.ParseBuffer(input, "f", [&](const ResultLine& line) {
          fast_lines.push_back(Own(line));
          return base::Status::Ok();
        });
    const base::Result<ParseSummary> slow_result =
        slow.ParseBuffer(input, "f", [&](const ResultLine& line) {
          slow_lines.push_back(Own(line));
          return base::Status::Ok();
        });
    CHECK(fast_result.status() == slow_result.status());
    CHECK(fast_lines == slow_lines);
    if (!fast_result.ok()) CHECK_THAT(fast_result.status().message(), Catch::Contains("line 2:"));
  }
}

TEST_CASE("a generated file parses the same with and without the scanner",
          "[providers][results_line_scanner]") {
  const std::uint64_t seed = Seed(12);
  base::SeededRandom random(seed);
  LineWriter writer(random);
  for (const ProviderKind kind : {ProviderKind::kOpenAi, ProviderKind::kAnthropic}) {
    std::string text;
    int plain_lines = 0;
    for (int i = 0; i < 2000; ++i) {
      if (random.Below(10) == 0) text += random.Below(2) == 0 ? "\n" : "  \r\n";
      bool plain = true;
      text += GeneratedLine(writer, kind, plain);
      // Counts simdjson cannot read would fail the file: keep only readable lines.
      if (!Simdjson(kind, text.substr(text.rfind('\n') + 1)).ok) {
        text.resize(text.rfind('\n') + 1);
        continue;
      }
      if (plain) ++plain_lines;
      text += random.Below(10) == 0 ? " \r\n" : "\n";
    }
    const std::string padded = text + std::string(kResultsPaddingBytes, ' ');
    const std::string_view input(padded.data(), text.size());
    std::vector<std::vector<OwnedLine>> readings;
    std::vector<ParseSummary> summaries;
    for (const bool line_scanner : {true, false}) {
      ResultsParserOptions options;
      options.line_scanner = line_scanner;
      ResultsParser parser(kind, options);
      std::vector<OwnedLine> lines;
      base::Result<ParseSummary> result =
          parser.ParseBuffer(input, "gen", [&](const ResultLine& line) {
            lines.push_back(Own(line));
            return base::Status::Ok();
          });
      REQUIRE(result.ok());
      readings.push_back(std::move(lines));
      summaries.push_back(*result);
    }
    CAPTURE(seed);
    CHECK(readings[0] == readings[1]);
    CHECK(summaries[0].lines == summaries[1].lines);
    CHECK(summaries[0].lines - summaries[0].simdjson_lines ==
          static_cast<std::uint64_t>(plain_lines));
    CHECK(summaries[1].simdjson_lines == summaries[1].lines);
  }
}

// The status and lines of `text` parsed as a file with `options`.
struct FileReading {
  base::Status status;
  std::vector<OwnedLine> lines;
  ParseSummary summary;
};

FileReading ParseAsFile(ProviderKind kind, const std::string& text,
                        const ResultsParserOptions& options) {
  testing::TempDir dir("results-line-scanner-test");
  const std::filesystem::path path = dir / "results.jsonl";
  {
    std::ofstream out(path, std::ios::binary);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
  }
  FileReading reading;
  base::Result<ParseSummary> result = ParseResultsFile(
      kind, path,
      [&](const ResultLine& line) {
        reading.lines.push_back(Own(line));
        return base::Status::Ok();
      },
      options);
  reading.status = result.status();
  if (result.ok()) reading.summary = *result;
  return reading;
}

TEST_CASE(
    "a region whose lines the scanner mostly declines goes to simdjson's stream path, "
    "with the same lines, numbers and errors",
    "[providers][results_line_scanner]") {
  // Escaped custom_ids: every line is declined.
  std::string text;
  for (int i = 0; i < 300; ++i) {
    if (i % 7 == 0) text += "\n";
    text += R"({"id":"b","custom_id":"r\u002d)" + std::to_string(i) +
            R"(","response":null,"error":{"code":"batch_expired","message":"m"}})" + "\n";
  }
  const std::size_t middle = text.find(R"(r\u002d150")");
  const std::size_t middle_line =
      static_cast<std::size_t>(std::count(text.begin(), text.begin() + middle, '\n')) + 1;
  std::string malformed = text;
  malformed.insert(malformed.find(',', middle), ",");  // two commas
  const std::string truncated = text + R"({"id":"b","custom_id":"r\u002dx","resp)" + "\n";
  const std::size_t truncated_line =
      static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) + 1;

  ResultsParserOptions simdjson_only;
  simdjson_only.line_scanner = false;
  ResultsParserOptions small_windows;
  small_windows.chunk_bytes = 4096;
  for (const ResultsParserOptions& options : {ResultsParserOptions{}, small_windows}) {
    CAPTURE(options.chunk_bytes);
    const FileReading fast = ParseAsFile(ProviderKind::kOpenAi, text, options);
    const FileReading slow = ParseAsFile(ProviderKind::kOpenAi, text, simdjson_only);
    REQUIRE(fast.status.ok());
    REQUIRE(slow.status.ok());
    CHECK(fast.lines == slow.lines);
    REQUIRE(fast.lines.size() == 300);
    CHECK(fast.lines[150].custom_id == "r-150");
    CHECK(fast.lines[150].line_number == middle_line);
    CHECK(fast.summary.simdjson_lines == 300);

    const FileReading bad = ParseAsFile(ProviderKind::kOpenAi, malformed, options);
    CHECK(bad.status.code() == base::StatusCode::kInvalidArgument);
    CHECK_THAT(bad.status.message(), Catch::Contains("line " + std::to_string(middle_line) + ":"));
    CHECK(bad.lines.size() <= 150);

    const FileReading cut = ParseAsFile(ProviderKind::kOpenAi, truncated, options);
    CHECK(cut.status.code() == base::StatusCode::kUnavailable);
    CHECK_THAT(cut.status.message(),
               Catch::Contains("line " + std::to_string(truncated_line) + " is truncated"));
  }
}

}  // namespace
}  // namespace batchlog::providers
