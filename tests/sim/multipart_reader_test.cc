// MultipartReader: the upload parser that accepts what Node 18's fetch sends (no CRLF after
// the closing boundary) and still refuses a truncated body.
#include "src/sim/multipart_reader.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

namespace batchlog::sim {
namespace {

struct Collected {
  std::vector<MultipartPartHeader> parts;
  std::vector<std::string> contents;
};

// Feeds `body` in chunks of `chunk` bytes; returns whether Feed and Finish both succeeded.
bool ParseInChunks(const std::string& body, std::size_t chunk, Collected& out,
                   std::string* error = nullptr) {
  MultipartReader reader(
      "XyZ",
      [&](const MultipartPartHeader& header) {
        out.parts.push_back(header);
        out.contents.emplace_back();
        return true;
      },
      [&](std::string_view data) {
        out.contents.back().append(data);
        return true;
      });
  bool ok = true;
  for (std::size_t at = 0; ok && at < body.size(); at += chunk) {
    ok = reader.Feed(std::string_view(body).substr(at, chunk));
  }
  ok = ok && reader.Finish();
  if (error != nullptr) *error = reader.error();
  return ok;
}

const std::string kFileContent =
    "{\"custom_id\":\"a\"}\r\n--XyQ-not-a-delimiter\r\n--Xy\n{\"b\":1}\n";

std::string TwoPartBody(std::string_view closing) {
  return "--XyZ\r\n"
         "Content-Disposition: form-data; name=\"purpose\"\r\n\r\n"
         "batch\r\n"
         "--XyZ\r\n"
         "Content-Disposition: form-data; name=\"file\"; filename=\"in.jsonl\"\r\n"
         "Content-Type: application/jsonl\r\n\r\n" +
         kFileContent + "\r\n--XyZ" + std::string(closing);
}

TEST_CASE("a multipart body is parsed whatever the chunking, with or without the final CRLF",
          "[sim][multipart]") {
  const auto closing = GENERATE(as<std::string>{}, "--\r\n", "--", "--\r\nepilogue");
  const std::string body = TwoPartBody(closing);
  for (std::size_t chunk = 1; chunk <= body.size(); ++chunk) {
    CAPTURE(closing, chunk);
    Collected collected;
    std::string error;
    const bool parsed = ParseInChunks(body, chunk, collected, &error);
    CHECK(error == "");
    REQUIRE(parsed);
    REQUIRE(collected.parts.size() == 2);
    CHECK(collected.parts[0].name == "purpose");
    CHECK(collected.contents[0] == "batch");
    CHECK(collected.parts[1].name == "file");
    CHECK(collected.parts[1].filename == "in.jsonl");
    CHECK(collected.parts[1].content_type == "application/jsonl");
    CHECK(collected.contents[1] == kFileContent);
  }
}

TEST_CASE("a multipart body cut before its closing boundary is refused", "[sim][multipart]") {
  const std::string body = TwoPartBody("--");
  // Every proper prefix, including one that ends inside the closing delimiter.
  for (std::size_t length = 0; length + 2 < body.size(); ++length) {
    CAPTURE(length);
    Collected collected;
    std::string error;
    CHECK_FALSE(ParseInChunks(body.substr(0, length), 7, collected, &error));
    CHECK_FALSE(error.empty());
  }
}

TEST_CASE("malformed multipart parts are refused with a reason", "[sim][multipart]") {
  const auto [body, reason] = GENERATE(table<std::string, std::string>({
      {"--XyZ\r\nno colon here\r\n\r\nx\r\n--XyZ--", "no ':'"},
      {"--XyZ\r\nContent-Type: text/plain\r\n\r\nx\r\n--XyZ--", "no Content-Disposition"},
      {"--XyZ\r\n\r\nx\r\n--XyZ--", "no headers"},
      {"--XyZgarbage\r\n", "malformed"},
  }));
  CAPTURE(body);
  Collected collected;
  std::string error;
  CHECK_FALSE(ParseInChunks(body, 5, collected, &error));
  CHECK_THAT(error, Catch::Contains(reason));
}

TEST_CASE("the boundary is read from the Content-Type header", "[sim][multipart]") {
  CHECK(MultipartReader::BoundaryOf("multipart/form-data; boundary=abc") == "abc");
  CHECK(MultipartReader::BoundaryOf("Multipart/Form-Data;boundary=\"a b\"") == "a b");
  CHECK_FALSE(MultipartReader::BoundaryOf("multipart/form-data").has_value());
  CHECK_FALSE(MultipartReader::BoundaryOf("application/json; boundary=abc").has_value());
  CHECK_FALSE(MultipartReader::BoundaryOf("multipart/form-data; boundary=").has_value());
}

}  // namespace
}  // namespace batchlog::sim
