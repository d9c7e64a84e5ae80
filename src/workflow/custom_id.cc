#include "src/workflow/custom_id.h"

#include <array>
#include <charconv>

namespace batchlog::workflow {
namespace {

constexpr std::uint64_t kFnvOffsetBasis = 14695981039346656037ull;
constexpr std::uint64_t kFnvPrime = 1099511628211ull;

bool IsCustomIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

std::uint64_t FnvAppend(std::uint64_t hash, std::string_view bytes) {
  for (const char c : bytes) {
    hash ^= static_cast<unsigned char>(c);
    hash *= kFnvPrime;
  }
  return hash;
}

std::string_view EpochText(std::uint32_t epoch, char (&buffer)[16]) {
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), epoch);
  return std::string_view(buffer, static_cast<std::size_t>(result.ptr - buffer));
}

void SanitizedAppend(std::string& out, std::string_view text, std::size_t limit) {
  const std::size_t n = text.size() < limit ? text.size() : limit;
  const std::size_t start = out.size();
  out.append(text.data(), n);
  for (std::size_t i = start; i < out.size(); ++i) {
    if (!IsCustomIdChar(out[i])) out[i] = '-';
  }
}

}  // namespace

bool IsValidCustomId(std::string_view custom_id) {
  if (custom_id.empty() || custom_id.size() > kCustomIdBytesMax) return false;
  for (const char c : custom_id) {
    if (!IsCustomIdChar(c)) return false;
  }
  return true;
}

std::uint64_t CustomIdHash(std::string_view id, std::string_view variant, std::uint32_t epoch) {
  char buffer[16];
  std::uint64_t hash = FnvAppend(kFnvOffsetBasis, id);
  hash = FnvAppend(hash, std::string_view("\0", 1));
  hash = FnvAppend(hash, variant);
  hash = FnvAppend(hash, std::string_view("\0", 1));
  return FnvAppend(hash, EpochText(epoch, buffer));
}

std::string_view CustomIdFormat::DefaultFormat(bool has_variants) {
  return has_variants ? "{id}_{variant}_e{epoch}_{hash6}" : "{id}_e{epoch}_{hash6}";
}

base::Result<CustomIdFormat> CustomIdFormat::Parse(std::string_view format,
                                                   std::size_t variant_count,
                                                   std::uint32_t epochs) {
  if (format.empty()) return base::InvalidArgumentError("the custom_id format is empty");
  CustomIdFormat parsed;
  parsed.format_ = std::string(format);
  bool has_variant = false;
  bool has_epoch = false;
  std::size_t i = 0;
  while (i < format.size()) {
    const char c = format[i];
    if (c == '{') {
      const std::size_t close = format.find('}', i);
      if (close == std::string_view::npos) {
        return base::InvalidArgumentError("'{' at offset " + std::to_string(i) + " is not closed");
      }
      const std::string_view name = format.substr(i + 1, close - i - 1);
      Piece piece;
      if (name == "id") {
        piece.kind = PieceKind::kId;
        ++parsed.id_count_;
      } else if (name == "variant") {
        piece.kind = PieceKind::kVariant;
        has_variant = true;
      } else if (name == "epoch") {
        piece.kind = PieceKind::kEpoch;
        has_epoch = true;
      } else if (name == "hash6") {
        piece.kind = PieceKind::kHash6;
        parsed.has_hash6_ = true;
      } else {
        return base::InvalidArgumentError("unknown placeholder '{" + std::string(name) +
                                          "}' (allowed: {id}, {variant}, {epoch}, {hash6})");
      }
      parsed.pieces_.push_back(std::move(piece));
      i = close + 1;
      continue;
    }
    if (!IsCustomIdChar(c)) {
      return base::InvalidArgumentError(
          std::string("character '") + c +
          "' is not allowed in a custom_id (allowed: letters, digits, '_' and '-')");
    }
    if (parsed.pieces_.empty() || parsed.pieces_.back().kind != PieceKind::kLiteral) {
      parsed.pieces_.push_back(Piece{});
    }
    parsed.pieces_.back().literal += c;
    ++i;
  }
  if (parsed.id_count_ == 0) {
    return base::InvalidArgumentError("'" + parsed.format_ +
                                      "' omits {id}, so two samples can get the same custom_id");
  }
  if (variant_count > 1 && !has_variant) {
    return base::InvalidArgumentError(
        "'" + parsed.format_ + "' omits {variant} while the workflow has " +
        std::to_string(variant_count) + " variants, so they can get the same custom_id");
  }
  if (variant_count == 0 && has_variant) {
    return base::InvalidArgumentError("'" + parsed.format_ +
                                      "' uses {variant} but the workflow has no variants");
  }
  if (epochs > 1 && !has_epoch) {
    return base::InvalidArgumentError("'" + parsed.format_ + "' omits {epoch} while epochs is " +
                                      std::to_string(epochs) +
                                      ", so the epochs of a sample can get the same custom_id");
  }
  return parsed;
}

base::Result<std::string> CustomIdFormat::Format(std::string_view id, std::string_view variant,
                                                 std::uint32_t epoch) const {
  std::string out;
  BATCHLOG_RETURN_IF_ERROR(FormatTo(id, variant, epoch, out));
  return out;
}

base::Status CustomIdFormat::FormatTo(std::string_view id, std::string_view variant,
                                      std::uint32_t epoch, std::string& out) const {
  BATCHLOG_CHECK(!pieces_.empty());
  char epoch_buffer[16];
  const std::string_view epoch_text = EpochText(epoch, epoch_buffer);
  char hash_text[6] = {};
  if (has_hash6_) {
    static constexpr char kHex[] = "0123456789abcdef";
    const std::uint64_t top = CustomIdHash(id, variant, epoch) >> 40;  // top 24 bits
    for (int k = 0; k < 6; ++k) hash_text[k] = kHex[(top >> (20 - 4 * k)) & 0xF];
  }
  // Everything but {id} has a fixed length; the id gets what is left when it must shrink.
  std::size_t fixed = 0;
  for (const Piece& piece : pieces_) {
    switch (piece.kind) {
      case PieceKind::kLiteral:
        fixed += piece.literal.size();
        break;
      case PieceKind::kId:
        break;
      case PieceKind::kVariant:
        fixed += variant.size();
        break;
      case PieceKind::kEpoch:
        fixed += epoch_text.size();
        break;
      case PieceKind::kHash6:
        fixed += 6;
        break;
    }
  }
  std::size_t id_limit = id.size();
  if (fixed + id_count_ * id.size() > kCustomIdBytesMax) {
    const std::size_t room = fixed < kCustomIdBytesMax ? kCustomIdBytesMax - fixed : 0;
    if (!has_hash6_ || room / id_count_ == 0) {
      return base::InvalidArgumentError(
          "the custom_id of id '" + std::string(id) + "' would be " +
          std::to_string(fixed + id_count_ * id.size()) + " characters, over the limit of " +
          std::to_string(kCustomIdBytesMax) +
          (has_hash6_ ? "" : "; add {hash6} to the format so long ids can be shortened"));
    }
    id_limit = room / id_count_;
  }
  out.clear();
  for (const Piece& piece : pieces_) {
    switch (piece.kind) {
      case PieceKind::kLiteral:
        out += piece.literal;
        break;
      case PieceKind::kId:
        SanitizedAppend(out, id, id_limit);
        break;
      case PieceKind::kVariant:
        SanitizedAppend(out, variant, variant.size());
        break;
      case PieceKind::kEpoch:
        out += epoch_text;
        break;
      case PieceKind::kHash6:
        out.append(hash_text, 6);
        break;
    }
  }
  if (out.empty()) {
    return base::InvalidArgumentError("the custom_id of id '" + std::string(id) + "' is empty");
  }
  return base::Status();
}

}  // namespace batchlog::workflow
