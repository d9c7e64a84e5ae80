#include "replay/id_table.h"

#include <string>

#include <catch2/catch.hpp>

namespace batchlog::replay {
namespace {

TEST_CASE("interned ids get dense indices in first-seen order", "[replay][id_table]") {
  IdTable table;
  CHECK(table.Intern(0, "b") == std::pair<std::uint32_t, bool>{0, true});
  CHECK(table.Intern(0, "a") == std::pair<std::uint32_t, bool>{1, true});
  CHECK(table.Intern(0, "b") == std::pair<std::uint32_t, bool>{0, false});
  CHECK(table.size() == 2);
  CHECK(table.id(1) == "a");
  CHECK(table.Find(0, "a") == 1);
  CHECK(table.Find(0, "c") == IdTable::kNone);
}

TEST_CASE("the same id in two scopes is two entries", "[replay][id_table]") {
  IdTable table;
  CHECK(table.Intern(3, "x").first == 0);
  CHECK(table.Intern(4, "x").first == 1);
  CHECK(table.Find(3, "x") == 0);
  CHECK(table.Find(4, "x") == 1);
  CHECK(table.Find(5, "x") == IdTable::kNone);
  CHECK(table.scope(1) == 4);
}

TEST_CASE("every id is found again after the table grew many times", "[replay][id_table]") {
  IdTable table;
  for (int i = 0; i < 50'000; ++i) {
    REQUIRE(table.Intern(static_cast<std::uint32_t>(i % 3), "id-" + std::to_string(i)).second);
  }
  for (int i = 0; i < 50'000; ++i) {
    REQUIRE(table.Find(static_cast<std::uint32_t>(i % 3), "id-" + std::to_string(i)) ==
            static_cast<std::uint32_t>(i));
  }
  CHECK(table.Find(1, "id-0") == IdTable::kNone);
  CHECK(table.id(123) == "id-123");
}

TEST_CASE("appended ids are found once the index catches up", "[replay][id_table]") {
  IdTable table;
  table.Intern(0, "first");
  for (int i = 0; i < 1'000; ++i) table.Append(0, "appended-" + std::to_string(i));
  CHECK(table.Find(0, "appended-999") == 1'000);
  CHECK(table.Intern(0, "appended-5") == std::pair<std::uint32_t, bool>{6, false});
  CHECK(table.Intern(0, "new") == std::pair<std::uint32_t, bool>{1'001, true});
  CHECK(table.IndexAll());
}

TEST_CASE("indexing reports an appended id that was already there", "[replay][id_table]") {
  IdTable table;
  table.Append(0, "same");
  table.Append(1, "same");
  CHECK(table.IndexAll());
  table.Append(0, "same");
  CHECK_FALSE(table.IndexAll());
}

// Past a few thousand entries an empty index is built in slot order (the snapshot decode
// path). 6,144 and 12,288 entries fill their slot arrays to 3/4, where clusters run past
// the end of the array and wrap to its front.
TEST_CASE("an index built in bulk finds every id and nothing else", "[replay][id_table]") {
  for (const int count : {4'096, 6'144, 12'288, 100'000}) {
    CAPTURE(count);
    IdTable table;
    for (int i = 0; i < count; ++i) {
      table.Append(static_cast<std::uint32_t>(i % 5), "bulk-" + std::to_string(i));
    }
    REQUIRE(table.IndexAll());
    CHECK(table.TakeFirstDuplicate() == IdTable::kNone);
    for (int i = 0; i < count; ++i) {
      REQUIRE(table.Find(static_cast<std::uint32_t>(i % 5), "bulk-" + std::to_string(i)) ==
              static_cast<std::uint32_t>(i));
      REQUIRE(table.Find(static_cast<std::uint32_t>((i + 1) % 5), "bulk-" + std::to_string(i)) ==
              IdTable::kNone);
    }
    CHECK(table.Find(0, "absent") == IdTable::kNone);
    const auto added = table.Intern(0, "after-bulk");
    CHECK(added == std::pair<std::uint32_t, bool>{static_cast<std::uint32_t>(count), true});
    CHECK(table.Intern(3, "bulk-3") == std::pair<std::uint32_t, bool>{3, false});
  }
}

TEST_CASE("an index built in bulk reports the first repeated id and keeps the earliest",
          "[replay][id_table]") {
  IdTable table;
  for (int i = 0; i < 10'000; ++i) {
    const int name = i == 9'000 ? 20 : i == 7'000 ? 10 : i;
    table.Append(0, "id-" + std::to_string(name));
  }
  CHECK_FALSE(table.IndexAll());
  CHECK(table.TakeFirstDuplicate() == 7'000);
  CHECK(table.Find(0, "id-10") == 10);
  CHECK(table.Find(0, "id-20") == 20);
  CHECK(table.Find(0, "id-9999") == 9'999);
}

TEST_CASE("tables with equal entries compare equal whatever their index", "[replay][id_table]") {
  IdTable interned;
  IdTable appended;
  interned.Intern(0, "a");
  interned.Intern(2, "b");
  appended.Append(0, "a");
  appended.Append(2, "b");
  CHECK(interned == appended);
  appended.Append(2, "c");
  CHECK_FALSE(interned == appended);
}

}  // namespace
}  // namespace batchlog::replay
