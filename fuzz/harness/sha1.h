// SHA-1 of a byte string, as lowercase hex: libFuzzer names a crash
// artifact "crash-" + Sha1(input), so a target can print the exact path of
// the file it is about to crash on. Not for security.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace pf {

std::string sha1_hex(std::span<const uint8_t> data);

}  // namespace pf
