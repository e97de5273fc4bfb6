// Scenario: everything one deterministic run needs - the design (optional:
// whoever runs it may choose), the initial world, 1..4 model threads each
// with a short op program, and the schedule. Two forms, one value:
//
//   text  (people, corpus/seeds/):  parse_text() / print_text()
//   bytes (libFuzzer):              decode_bytes() / encode_bytes()
//
// Contracts:
// - decode_bytes() is total: every byte string yields a Scenario or a
//   rejection with a reason, never UB, and sizes are bounded by the model's
//   limits (kMaxThreads, kMaxOpsPerThread, kMaxVpn, ...).
// - encode_bytes(decode_bytes(b)) is a fixed point: decoding it again gives
//   the same Scenario. parse_text(print_text(s)) == s, and
//   print_text(decode_bytes(encode_bytes(s))) == print_text(s).
// - Both forms carry kFormatVersion. An input of another version is
//   rejected with both versions named, never replayed into a different run:
//   bump kFormatVersion when a change to the codec or to the model's
//   scheduling points changes what an old input means.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/scenario/op.h"
#include "fuzz/sched/strategy.h"
#include "model/design.h"

namespace pf {

// Version 2 (issue 16) added the file_private backing, `prot=r` and the ops
// poke, madvise_dontneed, mprotect and vmsplice. A version-1 input is still read, with
// the meaning it had: its byte form decodes with version 1's tables (9
// backings, 22 ops, spec bit 7 ignored, op kinds 22..31 dropped), and its
// text form is a subset of version 2's. Version 3 (issue 16) added the op
// uffd_continue; a version-2 input's op kind 26 is still dropped. Version 4
// (issue 17) added split; a version-3 input's op kind 27 is still dropped.
// Version 5 (issue 17) lets a `file` vpn be a large page-cache folio
// (order=K); a version-4 input's file vpn keeps order 0 whatever its
// order bits say, as it did.
// Version 6 (issue 19) adds the memory model: the `memory` statement, and in
// the byte form bits 2-3 of the schedule kind byte (a version-5 input runs
// under sc whatever they say).
// Version 7 (issue 19) added the op ksm; a version-6 input's op kind 28 is
// still dropped.
inline constexpr int kFormatVersion = 8;
inline constexpr int kMemoryVersion = 6;
// The first format with the `thp` backing.
inline constexpr int kThpVersion = 8;
inline constexpr int kOldestFormatVersion = 1;
// "this build reads versions 1 to 3": for the errors that reject a version.
std::string format_versions_read();
inline constexpr size_t kMaxDesignBytes = 1024;

enum class ScheduleKind : uint8_t { kInput, kRandom, kPct };
inline constexpr int kNumScheduleKinds = 3;
const char* schedule_kind_name(ScheduleKind k);  // "input", "random", "pct"
std::optional<ScheduleKind> parse_schedule_kind(std::string_view name);

inline constexpr uint32_t kMaxPctDepth = 8;

struct Schedule {
  ScheduleKind kind = ScheduleKind::kInput;
  std::vector<sched::Preemption> points;  // input: at most sched::kMaxPreemptions
  uint64_t seed = 0;                      // random, pct
  uint8_t one_in = 8;    // random: switch at a step with probability 1/one_in (1..255)
  uint8_t depth = 3;     // pct: bug depth d (1..kMaxPctDepth)
  uint16_t k = 200;      // pct: steps estimate (1..65535)
  // The memory model the run uses (format 6): under tso and arm a flush of a
  // buffered store is a choice of the schedule (sched::kFlushBase).
  sync::Memory memory = sync::Memory::kSc;

  // The strategy this schedule describes, ready for Scheduler::run().
  std::unique_ptr<sched::Strategy> make_strategy() const;
  // Text form after the `schedule` keyword: "input 3:1 2:0",
  // "random seed=5 one_in=8", "pct seed=7 depth=3 k=200".
  std::string to_string() const;
  friend bool operator==(const Schedule&, const Schedule&) = default;
};

struct Scenario {
  std::optional<Design> design;  // absent: the runner's --design, or the default
  Program program;               // world + threads (1..kMaxThreads)
  Schedule schedule;
  friend bool operator==(const Scenario&, const Scenario&) = default;
};

// ---- text ------------------------------------------------------------------
//
// Line oriented; '#' starts a comment anywhere; blank lines and indentation
// are free. Statements, in this order:
//
//   pinfuzz-scenario 1                 required first statement: the format version
//   design NAME[,knob=value...]        optional (parse_design() syntax)
//   free_pages N                       optional, 0..16, default 8
//   vpn V BACKING [order=K] [ro]       zero or more: what virtual page V (0..7) of
//                                      mm 0 holds. BACKING is a backing_name():
//                                      anon anon_movable zero file dax
//                                      device_private device_coherent p2pdma.
//                                      order (0..3) only for anon / anon_movable;
//                                      a folio covers vpns V..V+2^K-1, which must
//                                      fit in 0..7 and not overlap another vpn line.
//                                      ro: mapped read-only. Each vpn at most once.
//   thread T                           1..4 of them, T = 0, 1, 2, 3 in order;
//     OP ARGS... FLAGS...              0..16 op lines per thread (ops.def): args
//                                      per op_args() ("vpn n": vpn 0..7, n 1..4;
//                                      "slot": 0..7 or `all`; "mm vpn": mm 0..3;
//                                      "index": 0..7; "pgmap": 0..3), then flag
//                                      words (write longterm p2pdma dirty) the op
//                                      allows, each at most once.
//   schedule input [A:T ...]           optional, default `schedule input`:
//   schedule random seed=S [one_in=N]  preemption points "after A more steps switch
//   schedule pct seed=S [depth=D] [k=K] to runnable thread T" (A 0..32767, T 0..255)
//
// print_text() writes the canonical form: the statements above in that
// order, design only if set, free_pages only if not 8, vpn lines ascending,
// ops indented by two spaces, `all` for slot -1, options of the schedule
// always written out, no comments, one trailing newline.

struct TextParse {
  std::optional<Scenario> scenario;
  // "FILE:LINE:COL: error: what was expected, and what was found"
  std::string error;
};
TextParse parse_text(std::string_view text, std::string_view filename = "<text>");
std::string print_text(const Scenario& s);

// ---- bytes -----------------------------------------------------------------
//
// Layout (version 1); a byte past the end of the input reads as 0:
//   u8  version                 must be kFormatVersion
//   u16 L, then L bytes         design text (parse_design()), little endian,
//                               L capped at kMaxDesignBytes; L = 0: none
//   u8  free_pages              mod (kMaxFreePages + 1)
//   u8  nvpn                    mod (kMaxVpn + 1), then nvpn entries of 2 bytes:
//                               vpn (mod kMaxVpn), spec (bits 0-3 backing mod
//                               kNumBackings, bits 4-5 order, bit 6 read-only);
//                               a later entry for the same vpn wins; the world
//                               is then made canonical (WorldSpec::canonical())
//   u8  nthreads                1 + (x mod kMaxThreads)
//   per thread: u8 nops (mod kMaxOpsPerThread + 1), then 4 bytes per op:
//               kind (x & 31; a kind >= kNumOps drops the op), a, b, flags,
//               made canonical (Op::canonical())
//   u8  schedule kind           mod kNumScheduleKinds; version 6: bits 2-3 the
//                               memory model (0 sc, 1 tso, 2 arm, 3 sc), then
//       input:  every remaining byte: sched::decode_preemptions()
//       random: u64 seed (little endian), u8 one_in (0 reads as 1)
//       pct:    u64 seed, u8 depth (1 + x mod kMaxPctDepth), u16 k (0 reads as 1)

struct DecodeOptions {
  // The runner chose the design (--design): the design field is skipped,
  // not parsed, and the Scenario has none.
  bool ignore_design = false;
  // The runner chose the strategy (--strategy): the kind byte is skipped and
  // the schedule body is read as this kind.
  std::optional<ScheduleKind> strategy;
  // The runner chose the memory model (--memory): the scenario's is replaced.
  std::optional<sync::Memory> memory;
};

// "sc", "tso", "arm" -> the model; nullopt for anything else.
std::optional<sync::Memory> parse_memory(std::string_view name);

struct ByteDecode {
  std::optional<Scenario> scenario;
  std::string error;  // why the input was rejected
  // Decoded, but a read went past the end: the first part that did
  // ("thread 1's ops"). The encoder never writes such an input; libFuzzer's
  // byte mutations may, and a truncated file always does.
  std::string ended_in;
};
ByteDecode decode_bytes(std::span<const uint8_t> bytes, const DecodeOptions& opt = {});
std::vector<uint8_t> encode_bytes(const Scenario& s);

// ---- files -----------------------------------------------------------------

// Reads FILE as text or bytes: a byte-form file starts with its version byte
// (< 0x20), a text file with printable text. Errors name the file and what
// is wrong with it (a directory, unreadable, empty, another version, a
// parse error with line and column). A byte file cut short still decodes
// (missing bytes read as 0), as decode_bytes() promises, with a warning
// that names the part it ended in.
struct LoadedScenario {
  std::optional<Scenario> scenario;
  bool was_text = false;
  std::string error;
  std::string warning;  // loaded, but worth telling: "FILE: ..."
};
LoadedScenario load_scenario_file(const std::string& path, const DecodeOptions& opt = {});

// Writes `data` to `path` atomically: a temporary file in the same
// directory, flushed and renamed over `path`. Returns "" or an error naming
// the path (a full disk, a missing or unwritable directory). A `path` that
// exists and is not a regular file (/dev/stdout, a FIFO) is written in place.
std::string write_file_atomic(const std::string& path, std::string_view data);

}  // namespace pf
