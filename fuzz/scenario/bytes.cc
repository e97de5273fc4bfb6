// The byte form of a Scenario (layout in scenario.h), the schedule's
// strategy, and scenario files on disk.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <fmt/format.h>

#include "fuzz/scenario/scenario.h"

namespace pf {

// ---- schedule -----------------------------------------------------------------

std::string format_versions_read() {
  return kOldestFormatVersion == kFormatVersion
             ? fmt::format("this build reads version {}", kFormatVersion)
             : fmt::format("this build reads versions {} to {}", kOldestFormatVersion,
                           kFormatVersion);
}

const char* schedule_kind_name(ScheduleKind k) {
  switch (k) {
    case ScheduleKind::kInput: return "input";
    case ScheduleKind::kRandom: return "random";
    case ScheduleKind::kPct: return "pct";
  }
  return "?";
}

std::optional<sync::Memory> parse_memory(std::string_view name) {
  for (int i = 0; i < sync::kNumMemoryModels; ++i)
    if (name == sync::memory_name(static_cast<sync::Memory>(i))) return static_cast<sync::Memory>(i);
  return std::nullopt;
}

std::optional<ScheduleKind> parse_schedule_kind(std::string_view name) {
  for (int i = 0; i < kNumScheduleKinds; ++i)
    if (name == schedule_kind_name(static_cast<ScheduleKind>(i)))
      return static_cast<ScheduleKind>(i);
  return std::nullopt;
}

std::unique_ptr<sched::Strategy> Schedule::make_strategy() const {
  switch (kind) {
    case ScheduleKind::kInput:
      return std::make_unique<sched::InputStrategy>(points);
    case ScheduleKind::kRandom:
      return std::make_unique<sched::RandomStrategy>(
          seed, sched::RandomOptions{1.0 / std::max<int>(one_in, 1)});
    case ScheduleKind::kPct: {
      sched::PctOptions o;
      o.depth = std::clamp<uint32_t>(depth, 1, kMaxPctDepth);
      o.steps_estimate = std::max<uint16_t>(k, 1);
      return std::make_unique<sched::PctStrategy>(seed, o);
    }
  }
  return nullptr;
}

std::string Schedule::to_string() const {
  switch (kind) {
    case ScheduleKind::kInput: {
      std::string s = "input";
      for (const auto& p : points) s += fmt::format(" {}:{}", p.after_steps, p.thread);
      return s;
    }
    case ScheduleKind::kRandom:
      return fmt::format("random seed={} one_in={}", seed, one_in);
    case ScheduleKind::kPct:
      return fmt::format("pct seed={} depth={} k={}", seed, depth, k);
  }
  return "?";
}

// ---- bytes ------------------------------------------------------------------------

namespace {

sync::Memory memory_of_bits(int bits) {
  return bits == 1 ? sync::Memory::kTso : bits == 2 ? sync::Memory::kArm : sync::Memory::kSc;
}

// The smallest byte that decodes to the schedule's kind and memory model:
// the kind itself under sc, so a sc scenario's bytes are what version 5 wrote.
uint8_t kind_byte(const Schedule& sc) {
  for (int b = 0; b < 256; ++b)
    if (b % kNumScheduleKinds == static_cast<int>(sc.kind) &&
        memory_of_bits((b >> 2) & 3) == sc.memory)
      return static_cast<uint8_t>(b);
  std::abort();  // every (kind, memory) pair has a byte
}

// Reads bytes front to back; past the end every read is 0 (the contract of
// FuzzedDataProvider's "always returns min").
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> b) : b_(b) {}
  uint8_t u8() {
    if (i_ < b_.size()) return b_[i_++];
    short_ = true;
    return 0;
  }
  uint64_t u64() {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= uint64_t{u8()} << (8 * i);
    return v;
  }
  uint16_t u16() { return static_cast<uint16_t>(u8() | (u8() << 8)); }
  std::span<const uint8_t> take(size_t n) {
    if (n > left()) {
      short_ = true;
      n = left();
    }
    auto s = b_.subspan(std::min(i_, b_.size()), n);
    i_ += n;
    return s;
  }
  std::span<const uint8_t> rest() { return take(left()); }
  // Names the first part read past the end: call after reading `part`.
  void end_of(std::string_view part, std::string* first_short) {
    if (short_ && first_short->empty()) *first_short = part;
  }

 private:
  size_t left() const { return b_.size() - std::min(i_, b_.size()); }

  std::span<const uint8_t> b_;
  size_t i_ = 0;
  bool short_ = false;  // a read went past the end
};

class Writer {
 public:
  void u8(uint64_t x) { out.push_back(static_cast<uint8_t>(x)); }
  void u16(uint16_t x) { u8(x & 0xff), u8(x >> 8); }
  void u64(uint64_t x) {
    for (int i = 0; i < 8; ++i) u8(x >> (8 * i));
  }
  std::vector<uint8_t> out;
};

constexpr uint8_t kSpecRo = 1u << 6;

constexpr uint8_t kSpecProtRead = 1u << 7;  // version 2: no VM_WRITE
// Each version's tables, which an input of that version keeps meaning: the
// number of backings and of ops (ops.def rows) it knew. Op kinds beyond
// them are dropped, as they were when the input was written.
constexpr std::array<int, kFormatVersion + 1> kBackingsInVersion = {0, 9, 10, 10, 10, 10, 10, 10,
                                                                    kNumBackings};
constexpr std::array<int, kFormatVersion + 1> kOpsInVersion = {0, 22, 26, 27, 28, 28, 28, 29, kNumOps};
static_assert(kOpsInVersion[kFormatVersion] >= kOpsInVersion[kFormatVersion - 1]);
// The first version whose `file` vpns may be large folios.
constexpr int kLargeFileVersion = 5;

uint8_t spec_byte(const VpnSpec& v) {
  return static_cast<uint8_t>(static_cast<uint8_t>(v.backing) | (v.order & 3) << 4 |
                              (v.writable ? 0 : kSpecRo) | (v.vm_write ? 0 : kSpecProtRead));
}

VpnSpec spec_of(uint8_t x, int version) {
  VpnSpec v;
  v.backing = static_cast<Backing>((x & 15) % kBackingsInVersion[static_cast<size_t>(version)]);
  v.order = static_cast<uint8_t>((x >> 4) & 3);
  if (version < kLargeFileVersion && v.backing == Backing::kFile) v.order = 0;
  v.writable = !(x & kSpecRo);
  v.vm_write = version == 1 || !(x & kSpecProtRead);
  return v;
}

}  // namespace

ByteDecode decode_bytes(std::span<const uint8_t> bytes, const DecodeOptions& opt) {
  ByteDecode r;
  if (bytes.empty()) {
    r.error = "empty input";
    return r;
  }
  Reader in(bytes);
  int version = in.u8();
  if (version < kOldestFormatVersion || version > kFormatVersion) {
    r.error = fmt::format("format version {}; {}", version, format_versions_read());
    return r;
  }
  const int nops_known = kOpsInVersion[static_cast<size_t>(version)];
  Scenario s;
  auto design = in.take(std::min<size_t>(in.u16(), kMaxDesignBytes));
  in.end_of("the design field", &r.ended_in);
  if (!design.empty() && !opt.ignore_design) {
    std::string text(design.begin(), design.end());
    auto d = parse_design(text);
    if (!d.design) {
      r.error = fmt::format("design field: {}", d.error);
      return r;
    }
    s.design = d.design;
  }
  WorldSpec& w = s.program.world;
  w.free_pages = in.u8() % (kMaxFreePages + 1);
  int nvpn = in.u8() % (kMaxVpn + 1);
  for (int i = 0; i < nvpn; ++i) {
    int vpn = in.u8() % kMaxVpn;
    w.vpn[static_cast<size_t>(vpn)] = spec_of(in.u8(), version);
  }
  w = w.canonical();
  in.end_of("the world", &r.ended_in);
  int nthreads = 1 + in.u8() % kMaxThreads;
  for (int t = 0; t < nthreads; ++t) {
    auto& ops = s.program.threads.emplace_back();
    int nops = in.u8() % (kMaxOpsPerThread + 1);
    for (int i = 0; i < nops; ++i) {
      uint8_t kind = in.u8() & 31;
      Op op;
      op.a = static_cast<int8_t>(in.u8());
      op.b = static_cast<int8_t>(in.u8());
      op.flags = in.u8();
      if (kind >= nops_known) continue;
      op.kind = static_cast<OpKind>(kind);
      ops.push_back(op.canonical());
    }
    in.end_of(fmt::format("thread {}'s ops", t), &r.ended_in);
  }
  Schedule& sc = s.schedule;
  uint8_t kind_byte = in.u8();
  sc.kind = opt.strategy ? *opt.strategy : static_cast<ScheduleKind>(kind_byte % kNumScheduleKinds);
  if (opt.memory)
    sc.memory = *opt.memory;
  else if (version >= kMemoryVersion)
    sc.memory = memory_of_bits((kind_byte >> 2) & 3);
  switch (sc.kind) {
    case ScheduleKind::kInput:
      sc.points = sched::decode_preemptions(in.rest());
      break;
    case ScheduleKind::kRandom:
      sc.seed = in.u64();
      sc.one_in = std::max<uint8_t>(in.u8(), 1);
      break;
    case ScheduleKind::kPct:
      sc.seed = in.u64();
      sc.depth = static_cast<uint8_t>(1 + in.u8() % kMaxPctDepth);
      sc.k = std::max<uint16_t>(in.u16(), 1);
      break;
  }
  in.end_of("the schedule", &r.ended_in);
  r.scenario = std::move(s);
  return r;
}

std::vector<uint8_t> encode_bytes(const Scenario& s) {
  Writer out;
  out.u8(kFormatVersion);
  std::string design = s.design ? s.design->name() : "";
  if (design.size() > kMaxDesignBytes) std::abort();  // a design name this long is a model bug
  out.u16(static_cast<uint16_t>(design.size()));
  for (char c : design) out.u8(static_cast<uint8_t>(c));
  const WorldSpec w = s.program.world.canonical();
  out.u8(w.free_pages);
  int nvpn = 0;
  for (const auto& v : w.vpn) nvpn += v.backing != Backing::kNone;
  out.u8(nvpn);
  for (int v = 0; v < kMaxVpn; ++v) {
    const VpnSpec& spec = w.vpn[static_cast<size_t>(v)];
    if (spec.backing == Backing::kNone) continue;
    out.u8(v);
    out.u8(spec_byte(spec));
  }
  size_t nthreads = std::clamp<size_t>(s.program.threads.size(), 1, kMaxThreads);
  out.u8(nthreads - 1);
  for (size_t t = 0; t < nthreads; ++t) {
    static const std::vector<Op> kNoOps;
    const auto& ops = t < s.program.threads.size() ? s.program.threads[t] : kNoOps;
    size_t n = std::min<size_t>(ops.size(), kMaxOpsPerThread);
    out.u8(n);
    for (size_t i = 0; i < n; ++i) {
      Op c = ops[i].canonical();
      out.u8(static_cast<uint8_t>(c.kind));
      out.u8(static_cast<uint8_t>(c.a));
      out.u8(static_cast<uint8_t>(c.b));
      out.u8(c.flags);
    }
  }
  const Schedule& sc = s.schedule;
  out.u8(kind_byte(sc));
  switch (sc.kind) {
    case ScheduleKind::kInput: {
      auto points = std::span(sc.points).first(std::min(sc.points.size(), sched::kMaxPreemptions));
      auto b = sched::encode_preemptions(points);
      out.out.insert(out.out.end(), b.begin(), b.end());
      break;
    }
    case ScheduleKind::kRandom:
      out.u64(sc.seed);
      out.u8(std::max<uint8_t>(sc.one_in, 1));
      break;
    case ScheduleKind::kPct:
      out.u64(sc.seed);
      out.u8(std::clamp<uint8_t>(sc.depth, 1, kMaxPctDepth) - 1);
      out.u16(std::max<uint16_t>(sc.k, 1));
      break;
  }
  return std::move(out.out);
}

// ---- files ------------------------------------------------------------------------

LoadedScenario load_scenario_file(const std::string& path, const DecodeOptions& opt) {
  LoadedScenario r;
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    r.error = fmt::format("{}: is a directory, not a scenario file", path);
    return r;
  }
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    r.error = fmt::format("{}: cannot open: {}", path, std::strerror(errno));
    return r;
  }
  std::string data((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (f.bad()) {
    r.error = fmt::format("{}: read error", path);
    return r;
  }
  if (data.empty()) {
    r.error = fmt::format("{}: empty file", path);
    return r;
  }
  if (static_cast<unsigned char>(data[0]) < 0x20 && data[0] != '\n' && data[0] != '\t' &&
      data[0] != '\r') {
    auto d = decode_bytes(std::span(reinterpret_cast<const uint8_t*>(data.data()), data.size()),
                          opt);
    if (!d.scenario) r.error = fmt::format("{}: {}", path, d.error);
    if (!d.ended_in.empty())
      r.warning = fmt::format(
          "{} ends inside {} ({} bytes) and the rest reads as 0: inputs libFuzzer mutated "
          "often do, but a file that was cut short replays as a different scenario",
          path, d.ended_in, data.size());
    r.scenario = std::move(d.scenario);
    return r;
  }
  r.was_text = true;
  auto t = parse_text(data, path);
  if (!t.scenario) {
    r.error = t.error;
    return r;
  }
  r.scenario = std::move(t.scenario);
  if (opt.ignore_design) r.scenario->design.reset();
  if (opt.strategy && r.scenario->schedule.kind != *opt.strategy) {
    // The runner chose another strategy: keep the seed the text gave.
    Schedule& sc = r.scenario->schedule;
    Schedule forced;
    forced.kind = *opt.strategy;
    forced.seed = sc.seed;
    forced.memory = sc.memory;
    sc = forced;
  }
  if (opt.memory) r.scenario->schedule.memory = *opt.memory;
  return r;
}

namespace {

// Writes all of `data` to `fd`; "" or an error naming `name`.
std::string write_all(int fd, std::string_view data, const std::string& name) {
  const char* p = data.data();
  size_t left = data.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fmt::format("{}: write failed: {}", name, std::strerror(n < 0 ? errno : ENOSPC));
    p += n;
    left -= static_cast<size_t>(n);
  }
  return "";
}

// `path` exists and is not a regular file: a terminal, /dev/stdout, a FIFO,
// /dev/full. Renaming over it would replace the device with a file, so it
// is written in place, and a full device is an error like a full disk.
std::string write_in_place(const std::string& path, std::string_view data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (fd < 0) return fmt::format("{}: cannot open for writing: {}", path, std::strerror(errno));
  std::string err = write_all(fd, data, path);
  if (::close(fd) != 0 && err.empty())
    err = fmt::format("{}: write failed: {}", path, std::strerror(errno));
  return err;
}

}  // namespace

std::string write_file_atomic(const std::string& path, std::string_view data) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
    if (S_ISDIR(st.st_mode)) return fmt::format("{}: is a directory", path);
    return write_in_place(path, data);
  }
  std::string tmp = fmt::format("{}.tmp.{}", path, ::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return fmt::format("{}: cannot create its temporary file {}: {}", path, tmp,
                       std::strerror(errno));
  if (std::string err = write_all(fd, data, tmp); !err.empty()) {
    ::close(fd);
    ::unlink(tmp.c_str());
    return err;
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    std::string err = fmt::format("{}: cannot flush: {}", tmp, std::strerror(errno));
    ::unlink(tmp.c_str());
    return err;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    std::string err = fmt::format("{}: cannot rename into place: {}", path, std::strerror(errno));
    ::unlink(tmp.c_str());
    return err;
  }
  return "";
}

}  // namespace pf
