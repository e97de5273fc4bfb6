// Relacy (C++20 mode) names std::source_location in default arguments
// (relacy/defs.hpp, base.hpp). The project's compiler, clang++-14, has no
// __builtin_source_location, so libstdc++ 12's <source_location> declares
// nothing and Relacy does not compile. This supplies the four accessors
// Relacy uses, built on clang's older __builtin_FILE/FUNCTION/LINE/COLUMN,
// only when the library lacks the real one. It touches no code path the
// benchmark times: relacy_bench passes its debug info explicitly with ($).
#pragma once

#include <version>
#if __has_include(<source_location>)
#include <source_location>
#endif

#if !defined(__cpp_lib_source_location)
namespace std {
struct source_location {
  static constexpr source_location current(const char* file = __builtin_FILE(),
                                           const char* func = __builtin_FUNCTION(),
                                           unsigned line = __builtin_LINE(),
                                           unsigned column = __builtin_COLUMN()) noexcept {
    source_location s;
    s.file_ = file;
    s.func_ = func;
    s.line_ = line;
    s.column_ = column;
    return s;
  }
  constexpr source_location() noexcept = default;
  constexpr const char* file_name() const noexcept { return file_; }
  constexpr const char* function_name() const noexcept { return func_; }
  constexpr unsigned line() const noexcept { return line_; }
  constexpr unsigned column() const noexcept { return column_; }

 private:
  const char* file_ = "";
  const char* func_ = "";
  unsigned line_ = 0;
  unsigned column_ = 0;
};
}  // namespace std
#endif
