// Custom ids: the stable name of one request across every attempt and every stage
// (docs/workflow-file.md, "custom_id").
//
// A format is literal characters from [A-Za-z0-9_-] and the placeholders {id}, {variant},
// {epoch} (0-based decimal) and {hash6}. The default is "{id}_{variant}_e{epoch}_{hash6}",
// or "{id}_e{epoch}_{hash6}" when the workflow has no variants.
//
// {hash6} is the first 6 lowercase hex digits (the top 24 bits) of the 64-bit FNV-1a hash
// of the bytes: id, 0x00, variant, 0x00, epoch in decimal — computed from the *original*
// id and variant, so it is stable across runs, machines and versions and tells apart ids
// that sanitizing made equal.
//
// A rendered custom_id always matches ^[a-zA-Z0-9_-]{1,64}$ (Anthropic's rule, which also
// suits OpenAI): in {id} and {variant}, every byte outside [A-Za-z0-9_-] becomes '-'. When
// the result is longer than 64 characters and the format has {hash6}, the sanitized id is
// cut short so the whole fits (the hash keeps it distinct); without {hash6} it is refused.
// Collisions that remain (e.g. "a.b" and "a/b" under a format without {hash6}) are found
// by the request builder, which refuses the plan naming both samples.
//
// Thread-safety: immutable after Parse; safe to share.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "src/base/result.h"

namespace batchlog::workflow {

inline constexpr std::size_t kCustomIdBytesMax = 64;

// Whether `custom_id` matches ^[a-zA-Z0-9_-]{1,64}$.
bool IsValidCustomId(std::string_view custom_id);

// FNV-1a 64 of (id, 0x00, variant, 0x00, decimal epoch); {hash6} is its top 24 bits.
std::uint64_t CustomIdHash(std::string_view id, std::string_view variant, std::uint32_t epoch);

class CustomIdFormat {
 public:
  // The format used when the file gives none.
  static std::string_view DefaultFormat(bool has_variants);

  // Parses `format` and refuses one that can collide: without {id}; without {variant}
  // while there is more than one variant; without {epoch} while epochs > 1; with {variant}
  // while there are no variants (variant_count 0). Messages carry no location; the caller
  // prefixes the place of the custom_id key.
  static base::Result<CustomIdFormat> Parse(std::string_view format, std::size_t variant_count,
                                            std::uint32_t epochs);

  CustomIdFormat() = default;

  // The custom_id of (id, variant, epoch); InvalidArgument when it cannot fit in 64
  // characters (see above). `variant` is empty when the workflow has no variants.
  base::Result<std::string> Format(std::string_view id, std::string_view variant,
                                   std::uint32_t epoch) const;
  // The same into `out` (replaced), for hot loops.
  base::Status FormatTo(std::string_view id, std::string_view variant, std::uint32_t epoch,
                        std::string& out) const;

  const std::string& format() const { return format_; }
  bool has_hash6() const { return has_hash6_; }

 private:
  enum class PieceKind : std::uint8_t { kLiteral, kId, kVariant, kEpoch, kHash6 };
  struct Piece {
    PieceKind kind = PieceKind::kLiteral;
    std::string literal;
  };

  std::string format_;
  std::vector<Piece> pieces_;
  bool has_hash6_ = false;
  std::size_t id_count_ = 0;  // occurrences of {id}
};

}  // namespace batchlog::workflow
