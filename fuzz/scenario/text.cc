// The text form of a Scenario (grammar in scenario.h). The parser is strict:
// it accepts canonical scenarios only and stops at the first mistake with
// FILE:LINE:COL, because a seed that silently means something other than
// what its author wrote is worse than one that does not load. It never
// throws and never trusts its input: tokens are views into the text, every
// number is range-checked before it is narrowed, and whatever it echoes back
// is escaped and truncated.
#include <algorithm>
#include <array>
#include <charconv>
#include <limits>
#include <span>

#include <fmt/format.h>

#include "fuzz/scenario/scenario.h"

namespace pf {
namespace {

constexpr std::string_view kOrderHint =
    "statements go in this order: pinfuzz-scenario, design, free_pages, vpn, thread, memory, schedule";

// ---- tokens ---------------------------------------------------------------------

struct Token {
  enum Kind : uint8_t { kWord, kEol, kEof };
  std::string_view text;
  size_t line = 1;
  size_t col = 1;
  Kind kind = kWord;

  // The part of a word from byte `pos` on, as a token of its own (the value
  // of "seed=5", the thread of "3:1"), so that errors point inside the word.
  Token sub(size_t pos, size_t len = std::string_view::npos) const {
    return Token{text.substr(pos, len), line, col + pos, kWord};
  }
};

// What an error message echoes: printable ASCII as is, everything else as
// \xNN, at most 40 bytes. Input may be binary garbage or one huge line.
std::string shown(std::string_view s, size_t max = 40) {
  std::string out;
  for (size_t i = 0; i < s.size() && i < max; ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f) out += static_cast<char>(c);
    else out += fmt::format("\\x{:02x}", c);
  }
  if (s.size() > max) out += "...";
  return out;
}

std::string shown(const Token& t) {
  switch (t.kind) {
    case Token::kEol: return "end of line";
    case Token::kEof: return "end of input";
    case Token::kWord: break;
  }
  return "'" + shown(t.text) + "'";
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

struct Line {
  std::vector<Token> words;
  Token end;  // where the line's statement ends (its comment or newline)
};

// Splits one line (without its '\n') into words; '#' ends the statement.
Line tokenize(std::string_view text, size_t line) {
  Line l;
  size_t stop = text.find('#');
  if (stop == std::string_view::npos) stop = text.size();
  size_t i = 0;
  while (i < stop) {
    if (is_space(text[i])) {
      ++i;
      continue;
    }
    size_t start = i;
    while (i < stop && !is_space(text[i])) ++i;
    l.words.push_back(Token{text.substr(start, i - start), line, start + 1, Token::kWord});
  }
  l.end = Token{{}, line, stop + 1, Token::kEol};
  return l;
}

// ---- numbers --------------------------------------------------------------------

struct Decimal {
  bool digits = false;    // only [0-9], at least one
  bool overflow = false;  // more than fits in 64 bits
  uint64_t value = 0;
};

Decimal decimal(std::string_view s) {
  Decimal d;
  if (s.empty()) return d;
  for (char c : s)
    if (c < '0' || c > '9') return d;
  d.digits = true;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), d.value);
  d.overflow = ec != std::errc() || p != s.data() + s.size();
  return d;
}

// ---- names ----------------------------------------------------------------------

std::string op_names() {
  std::string s;
  for (int i = 0; i < kNumOps; ++i)
    s += fmt::format("{}{}", i ? ", " : "", op_name(static_cast<OpKind>(i)));
  return s;
}

std::string flag_names(uint8_t mask) {
  std::string s;
  for (int bit = 0; bit < 4; ++bit)
    if (mask & (1u << bit)) s += fmt::format("{}{}", s.empty() ? "" : " ", kOpFlagNames[bit]);
  return s.empty() ? "none" : s;
}

// A vpn whose PTE is read-only whatever the text says (WorldSpec::canonical()).
bool implied_ro(const VpnSpec& v) {
  return !v.vm_write || v.backing == Backing::kFilePrivate || v.backing == Backing::kThp;
}

std::optional<Backing> parse_backing(std::string_view name) {
  for (int i = 1; i < kNumBackings; ++i)  // 0 is kNone: not written, not read
    if (name == backing_name(static_cast<Backing>(i))) return static_cast<Backing>(i);
  return std::nullopt;
}

std::string backing_names() {
  std::string s;
  for (int i = 1; i < kNumBackings; ++i)
    s += fmt::format("{}{}", i > 1 ? " " : "", backing_name(static_cast<Backing>(i)));
  return s;
}

// What may follow an op's arguments.
std::string flags_or_end(uint8_t allowed) {
  return allowed ? fmt::format("a flag ({}) or end of line", flag_names(allowed)) : "end of line";
}

bool is_anon(Backing b) { return b == Backing::kAnon || b == Backing::kAnonMovable; }

// ---- the parser -----------------------------------------------------------------

// How far the statements have got; each statement may only move it forward.
enum class Stage : uint8_t { kStart, kHeader, kDesign, kFreePages, kVpn, kThreads, kMemory, kSchedule };

class Parser {
 public:
  explicit Parser(std::string_view file) : file_(file) {}

  TextParse run(std::string_view text) {
    size_t line = 1, pos = 0;
    for (;;) {
      size_t nl = text.find('\n', pos);
      std::string_view content = text.substr(pos, nl == std::string_view::npos ? nl : nl - pos);
      Line l = tokenize(content, line);
      if (!l.words.empty() && !statement(l)) return {std::nullopt, error_};
      if (nl == std::string_view::npos) {
        if (!finish(Token{{}, line, content.size() + 1, Token::kEof}))
          return {std::nullopt, error_};
        return {std::move(s_), ""};
      }
      pos = nl + 1;
      ++line;
    }
  }

 private:
  bool fail(const Token& at, std::string_view what) {
    error_ = fmt::format("{}:{}:{}: error: {}", file_, at.line, at.col, what);
    return false;
  }
  bool expected(const Token& at, std::string_view what) {
    return fail(at, fmt::format("expected {}, got {}", what, shown(at)));
  }
  // The words of `l` from `i` on must not exist.
  bool done(const Line& l, size_t i) {
    return i >= l.words.size() || expected(l.words[i], "end of line");
  }
  const Token& word(const Line& l, size_t i) const {
    return i < l.words.size() ? l.words[i] : l.end;
  }

  // A decimal in lo..hi. `what` names it in errors: "vpn 9 is out of range 0..7".
  bool number(const Token& t, std::string_view what, uint64_t lo, uint64_t hi, uint64_t& out) {
    Decimal d = t.kind == Token::kWord ? decimal(t.text) : Decimal{};
    if (!d.digits) return expected(t, fmt::format("{} {}..{}", what, lo, hi));
    if (d.overflow || d.value < lo || d.value > hi)
      return fail(t, fmt::format("{} {} is out of range {}..{}", what, shown(t.text), lo, hi));
    out = d.value;
    return true;
  }
  template <typename T>
  bool number(const Token& t, std::string_view what, uint64_t lo, uint64_t hi, T& out) {
    uint64_t v = 0;
    if (!number(t, what, lo, hi, v)) return false;
    out = static_cast<T>(v);
    return true;
  }

  bool statement(const Line& l) {
    const Token& kw = l.words[0];
    if (stage_ == Stage::kStart) {
      if (kw.text != "pinfuzz-scenario")
        return fail(kw, fmt::format("missing 'pinfuzz-scenario {}' header, got {}",
                                    kFormatVersion, shown(kw)));
      return header(l);
    }
    if (kw.text == "design") return in_order(kw, Stage::kDesign) && design(l);
    if (kw.text == "free_pages") return in_order(kw, Stage::kFreePages) && free_pages(l);
    if (kw.text == "vpn") return in_order(kw, Stage::kVpn) && vpn(l);
    if (kw.text == "thread") return in_order(kw, Stage::kThreads) && thread(l);
    if (kw.text == "memory") return in_order(kw, Stage::kMemory) && memory(l);
    if (kw.text == "schedule") return in_order(kw, Stage::kSchedule) && schedule(l);
    if (stage_ == Stage::kThreads) return op(l);
    if (stage_ < Stage::kThreads && parse_op_kind(kw.text))
      return fail(kw, fmt::format("op {} outside a thread: expected 'thread 0' before it",
                                  shown(kw)));
    if (kw.text == "pinfuzz-scenario") return in_order(kw, Stage::kHeader);
    return expected(kw, allowed_now());
  }

  std::string allowed_now() const {
    switch (stage_) {
      case Stage::kStart: return "'pinfuzz-scenario'";
      case Stage::kHeader: return "design, free_pages, vpn or thread";
      case Stage::kDesign: return "free_pages, vpn or thread";
      case Stage::kFreePages:
      case Stage::kVpn: return "vpn or thread";
      case Stage::kThreads: return "an op, thread, memory or schedule";
      case Stage::kMemory: return "schedule";
      case Stage::kSchedule: return "end of input after the schedule";
    }
    return "?";
  }

  // Statements come in grammar order; vpn and thread may repeat; a schedule
  // needs a thread before it.
  bool in_order(const Token& kw, Stage s) {
    bool repeats = s == Stage::kVpn || s == Stage::kThreads;
    bool ok = stage_ < s || (repeats && stage_ == s);
    if (s == Stage::kMemory) ok = stage_ == Stage::kThreads;
    if (s == Stage::kSchedule) ok = stage_ == Stage::kThreads || stage_ == Stage::kMemory;
    if (!ok)
      return fail(kw, fmt::format("expected {}, got {} ({})", allowed_now(), shown(kw), kOrderHint));
    stage_ = s;
    return true;
  }

  bool header(const Line& l) {
    const Token& v = word(l, 1);
    Decimal d = v.kind == Token::kWord ? decimal(v.text) : Decimal{};
    if (!d.digits) return expected(v, "a format version number");
    if (d.overflow || d.value < static_cast<uint64_t>(kOldestFormatVersion) ||
        d.value > static_cast<uint64_t>(kFormatVersion))
      return fail(v, fmt::format("scenario format version {}; {}", shown(v.text),
                                 format_versions_read()));
    stage_ = Stage::kHeader;
    version_ = static_cast<int>(d.value);
    return done(l, 2);
  }

  bool design(const Line& l) {
    const Token& t = word(l, 1);
    if (t.kind != Token::kWord)
      return expected(t, "a design (e.g. folio_pincount or pin_bias,counter_bits=12)");
    DesignParse d = parse_design(t.text);
    if (!d.design) return fail(t, "design: " + shown(d.error, 1000));
    s_.design = d.design;
    return done(l, 2);
  }

  bool free_pages(const Line& l) {
    return number(word(l, 1), "free_pages", 0, kMaxFreePages, s_.program.world.free_pages) &&
           done(l, 2);
  }

  // memory sc|tso|arm (format 6)
  bool memory(const Line& l) {
    const Token& t = word(l, 1);
    auto m = t.kind == Token::kWord ? parse_memory(t.text) : std::nullopt;
    if (!m) return expected(t, "a memory model (sc, tso or arm)");
    if (version_ < kMemoryVersion)
      return fail(l.words[0], fmt::format("the memory statement needs scenario format {} or later",
                                          kMemoryVersion));
    s_.schedule.memory = *m;
    return done(l, 2);
  }
  bool vpn(const Line& l);
  bool thread(const Line& l);
  bool op(const Line& l);
  bool op_arg(const Token& t, OpArgs shape, int which, int8_t& out);
  bool schedule(const Line& l);
  bool point(const Token& t);
  struct Option {
    std::string_view key;
    uint64_t lo, hi;
    uint64_t value;
    bool seen = false;
  };
  bool options(const Line& l, size_t from, std::span<Option> opts);

  bool finish(const Token& eof) {
    if (stage_ == Stage::kStart)
      return fail(eof, fmt::format("missing 'pinfuzz-scenario {}' header, got {}",
                                   kFormatVersion, shown(eof)));
    if (stage_ < Stage::kThreads)
      return fail(eof, fmt::format("no thread: a scenario needs 1 to {}", kMaxThreads));
    return true;
  }

  // Which line declared the folio covering each vpn (0: none yet).
  struct Claim {
    size_t line = 0;
    int head = -1;
    int order = 0;
  };

  std::string_view file_;
  std::string error_;
  Stage stage_ = Stage::kStart;
  int version_ = kFormatVersion;
  Scenario s_;
  std::array<Claim, kMaxVpn> claim_{};
};

// vpn V BACKING [order=K] [ro] [prot=r]
bool Parser::vpn(const Line& l) {
  const Token& vt = word(l, 1);
  int v = 0;
  if (!number(vt, "vpn", 0, kMaxVpn - 1, v)) return false;
  const Token& bt = word(l, 2);
  auto backing = bt.kind == Token::kWord ? parse_backing(bt.text) : std::nullopt;
  if (!backing) return expected(bt, fmt::format("a backing ({})", backing_names()));
  VpnSpec spec{*backing, 0, true};
  const Token* order_at = nullptr;
  const Token* ro_at = nullptr;
  const Token* prot_at = nullptr;
  for (size_t i = 3; i < l.words.size(); ++i) {
    const Token& t = l.words[i];
    if (t.text == "ro") {
      if (ro_at) return fail(t, "'ro' given twice");
      ro_at = &t;
      spec.writable = false;
    } else if (t.text == "prot=r") {
      if (prot_at) return fail(t, "'prot=r' given twice");
      prot_at = &t;
      spec.vm_write = false;
    } else if (t.text.substr(0, 6) == "order=") {
      if (order_at) return fail(t, "order given twice");
      order_at = &t;
      if (!is_anon(spec.backing) && spec.backing != Backing::kFile)
        return fail(t, fmt::format("order applies only to anon, anon_movable and file, not {}",
                                   backing_name(spec.backing)));
      if (!number(t.sub(6), "order", 0, kMaxOrder, spec.order)) return false;
    } else {
      return expected(t, "order=K, ro, prot=r or end of line");
    }
  }
  // Read-only PTEs that need no `ro`: a private file mapping maps the page
  // cache's page read-only, and a mapping without VM_WRITE has no writable PTE.
  if (implied_ro(spec)) spec.writable = false;
  if (spec.backing == Backing::kThp) {
    if (version_ < kThpVersion)
      return fail(bt, fmt::format("the thp backing needs scenario format {} or later", kThpVersion));
    // One whole PMD (WorldSpec::canonical()).
    if (v % kVpnPerPmd != 0)
      return fail(vt, fmt::format("a thp range covers one PMD, vpns {}k..{}k+{}: it must start "
                                  "at an even vpn, not {}",
                                  kVpnPerPmd, kVpnPerPmd, kVpnPerPmd - 1, v));
    spec.order = kCollapseOrder;
    order_at = &bt;  // what covers the next vpns: the backing itself
  }
  const int span = 1 << spec.order;
  if (v + span > kMaxVpn)
    return fail(*order_at, fmt::format("an order-{} folio at vpn {} does not fit: it would "
                                       "cover vpns {}..{}, past vpn {}",
                                       spec.order, v, v, v + span - 1, kMaxVpn - 1));
  const Claim& c = claim_[static_cast<size_t>(v)];
  if (c.line != 0 && c.head == v)
    return fail(vt, fmt::format("vpn {} is already declared on line {}", v, c.line));
  if (c.line != 0)
    return fail(vt, fmt::format("vpn {} is inside the order-{} folio at vpn {} (line {})", v,
                                c.order, c.head, c.line));
  for (int u = v + 1; u < v + span; ++u) {
    const Claim& o = claim_[static_cast<size_t>(u)];
    if (o.line != 0)
      return fail(*order_at, fmt::format("the order-{} folio at vpn {} would cover vpn {}, "
                                         "declared on line {}",
                                         spec.order, v, u, o.line));
  }
  for (int u = v; u < v + span; ++u) claim_[static_cast<size_t>(u)] = {vt.line, v, spec.order};
  s_.program.world.vpn[static_cast<size_t>(v)] = spec;
  return true;
}

// thread T: T is the number of threads so far.
bool Parser::thread(const Line& l) {
  const Token& t = word(l, 1);
  const size_t next = s_.program.threads.size();
  Decimal d = t.kind == Token::kWord ? decimal(t.text) : Decimal{};
  if (!d.digits) return expected(t, fmt::format("a thread number 0..{}", kMaxThreads - 1));
  if (next == static_cast<size_t>(kMaxThreads))
    return fail(t, fmt::format("a scenario has at most {} threads (0..{}), got thread {}",
                               kMaxThreads, kMaxThreads - 1, shown(t.text)));
  if (d.overflow || d.value != next)
    return fail(t, fmt::format("thread {} expected, got thread {}", next, shown(t.text)));
  s_.program.threads.emplace_back();
  return done(l, 2);
}

// OP ARGS... FLAGS...: the args are the words before the first flag word.
bool Parser::op(const Line& l) {
  const Token& name = l.words[0];
  auto kind = parse_op_kind(name.text);
  if (!kind) return fail(name, fmt::format("unknown op {} (valid ops: {})", shown(name), op_names()));
  auto& ops = s_.program.threads.back();
  if (ops.size() == static_cast<size_t>(kMaxOpsPerThread))
    return fail(name, fmt::format("more than {} ops in thread {}", kMaxOpsPerThread,
                                  s_.program.threads.size() - 1));
  auto flag_bit = [](std::string_view w) -> int {
    for (int bit = 0; bit < 4; ++bit)
      if (w == kOpFlagNames[bit]) return bit;
    return -1;
  };
  const OpArgs shape = op_args(*kind);
  const size_t want = shape == OpArgs::kNone                                  ? 0
                      : (shape == OpArgs::kVpnN || shape == OpArgs::kMmVpn) ? 2
                                                                              : 1;
  size_t nargs = 0;
  while (1 + nargs < l.words.size() && flag_bit(l.words[1 + nargs].text) < 0) ++nargs;
  if (nargs > want && !decimal(l.words[1 + want].text).digits && l.words[1 + want].text != "all")
    return expected(l.words[1 + want], flags_or_end(op_flags_allowed(*kind)));  // a misspelt flag
  if (nargs != want) {
    std::string takes = want == 0 ? "no arguments"
                                  : fmt::format("{} argument{} ({})", want, want == 1 ? "" : "s",
                                                op_args_text(shape));
    return fail(nargs > want ? l.words[1 + want] : name,
                fmt::format("op '{}' takes {}, got {}", op_name(*kind), takes, nargs));
  }
  Op o;
  o.kind = *kind;
  o.a = 0;
  o.b = 0;
  o.flags = 0;
  for (size_t i = 0; i < want; ++i)
    if (!op_arg(l.words[1 + i], shape, static_cast<int>(i), i == 0 ? o.a : o.b)) return false;
  const uint8_t allowed = op_flags_allowed(*kind);
  for (size_t i = 1 + want; i < l.words.size(); ++i) {
    const Token& t = l.words[i];
    int bit = flag_bit(t.text);
    if (bit < 0) return expected(t, flags_or_end(allowed));
    if (!(allowed & (1u << bit)))
      return fail(t, fmt::format("flag '{}' is not allowed for '{}' (allowed: {})",
                                 kOpFlagNames[bit], op_name(*kind), flag_names(allowed)));
    if (o.flags & (1u << bit)) return fail(t, fmt::format("flag '{}' given twice", t.text));
    o.flags = static_cast<uint8_t>(o.flags | (1u << bit));
  }
  ops.push_back(o);
  return true;
}

// Argument `which` (0 or 1) of an op of `shape`, in its domain (ops.def).
bool Parser::op_arg(const Token& t, OpArgs shape, int which, int8_t& out) {
  switch (shape) {
    case OpArgs::kNone: break;
    case OpArgs::kVpnN:
      return which == 0 ? number(t, "vpn", 0, kMaxVpn - 1, out)
                        : number(t, "n", 1, kMaxGupPages, out);
    case OpArgs::kSlot: {
      if (t.text == "all") {
        out = -1;
        return true;
      }
      Decimal d = decimal(t.text);
      if (!d.digits) return expected(t, fmt::format("a slot 0..{} or 'all'", kMaxHeld - 1));
      return number(t, "slot", 0, kMaxHeld - 1, out);
    }
    case OpArgs::kMmVpn:
      return which == 0 ? number(t, "mm", 0, kNumMmIds - 1, out)
                        : number(t, "vpn", 0, kMaxVpn - 1, out);
    case OpArgs::kIndex: return number(t, "index", 0, kMaxFileIdx - 1, out);
    case OpArgs::kVpn: return number(t, "vpn", 0, kMaxVpn - 1, out);
    case OpArgs::kPgmap: return number(t, "pgmap", 0, kMaxPgmaps - 1, out);
  }
  return fail(t, "internal error: no argument expected");
}

// schedule input [A:T ...] | random seed=S [one_in=N] | pct seed=S [depth=D] [k=K]
bool Parser::schedule(const Line& l) {
  const Token& kt = word(l, 1);
  auto kind = kt.kind == Token::kWord ? parse_schedule_kind(kt.text) : std::nullopt;
  if (!kind) return expected(kt, "a schedule kind (input, random or pct)");
  Schedule& sc = s_.schedule;
  sc = Schedule{.memory = sc.memory};
  sc.kind = *kind;
  constexpr uint64_t kAnyU64 = std::numeric_limits<uint64_t>::max();
  switch (*kind) {
    case ScheduleKind::kInput:
      for (size_t i = 2; i < l.words.size(); ++i)
        if (!point(l.words[i])) return false;
      return true;
    case ScheduleKind::kRandom: {
      Option o[] = {{"seed", 0, kAnyU64, 0}, {"one_in", 1, 255, sc.one_in}};
      if (!options(l, 2, o)) return false;
      sc.seed = o[0].value;
      sc.one_in = static_cast<uint8_t>(o[1].value);
      return true;
    }
    case ScheduleKind::kPct: {
      Option o[] = {{"seed", 0, kAnyU64, 0}, {"depth", 1, kMaxPctDepth, sc.depth},
                    {"k", 1, 65535, sc.k}};
      if (!options(l, 2, o)) return false;
      sc.seed = o[0].value;
      sc.depth = static_cast<uint8_t>(o[1].value);
      sc.k = static_cast<uint16_t>(o[2].value);
      return true;
    }
  }
  return false;
}

// A:T, "after A more steps switch to runnable thread T".
bool Parser::point(const Token& t) {
  auto& points = s_.schedule.points;
  if (points.size() == sched::kMaxPreemptions)
    return fail(t, fmt::format("more than {} preemption points", sched::kMaxPreemptions));
  size_t colon = t.text.find(':');
  if (colon == std::string_view::npos)
    return expected(t, "a preemption point AFTER:THREAD (e.g. 3:1)");
  if (!decimal(t.text.substr(0, colon)).digits || !decimal(t.text.substr(colon + 1)).digits)
    return expected(t, "a preemption point AFTER:THREAD (e.g. 3:1)");
  sched::Preemption p;
  if (!number(t.sub(0, colon), "after", 0, sched::kMaxEncodedAfterSteps, p.after_steps) ||
      !number(t.sub(colon + 1), "thread", 0, 255, p.thread))
    return false;
  points.push_back(p);
  return true;
}

// key=value words from `from` on, each key of `opts` at most once; the first
// option is the seed, which is required.
bool Parser::options(const Line& l, size_t from, std::span<Option> opts) {
  std::string keys;
  for (const Option& o : opts) keys += fmt::format("{}=N, ", o.key);
  keys.replace(keys.size() - 2, 2, " ");  // "seed=N, one_in=N or end of line"
  for (size_t i = from; i < l.words.size(); ++i) {
    const Token& t = l.words[i];
    size_t eq = t.text.find('=');
    Option* hit = nullptr;
    for (Option& o : opts)
      if (eq != std::string_view::npos && t.text.substr(0, eq) == o.key) hit = &o;
    if (!hit) return expected(t, fmt::format("{}or end of line", keys));
    if (hit->seen) return fail(t, fmt::format("option '{}' given twice", hit->key));
    hit->seen = true;
    if (!number(t.sub(eq + 1), hit->key, hit->lo, hit->hi, hit->value)) return false;
  }
  if (!opts[0].seen)
    return expected(l.end, fmt::format("{}=S (a {} schedule needs one)", opts[0].key,
                                       shown(word(l, 1).text)));
  return true;
}

}  // namespace

TextParse parse_text(std::string_view text, std::string_view filename) {
  return Parser(filename).run(text);
}

// The canonical form. A scenario outside the limits is printed as
// encode_bytes() would store it (threads 1..kMaxThreads, at most
// kMaxOpsPerThread ops, the world and ops canonical, the schedule clamped),
// so what is printed always parses.
std::string print_text(const Scenario& s) {
  std::string out = fmt::format("pinfuzz-scenario {}\n", kFormatVersion);
  if (s.design) out += fmt::format("design {}\n", s.design->name());
  const WorldSpec w = s.program.world.canonical();
  if (w.free_pages != WorldSpec{}.free_pages) out += fmt::format("free_pages {}\n", w.free_pages);
  for (int v = 0; v < kMaxVpn; ++v) {
    const VpnSpec& spec = w.vpn[static_cast<size_t>(v)];
    if (spec.backing == Backing::kNone) continue;
    out += fmt::format("vpn {} {}", v, backing_name(spec.backing));
    if (spec.order > 0 && spec.backing != Backing::kThp) out += fmt::format(" order={}", spec.order);
    if (!spec.writable && !implied_ro(spec)) out += " ro";
    out += spec.vm_write ? "\n" : " prot=r\n";
  }
  const size_t nthreads = std::clamp<size_t>(s.program.threads.size(), 1, kMaxThreads);
  for (size_t t = 0; t < nthreads; ++t) {
    out += fmt::format("thread {}\n", t);
    if (t >= s.program.threads.size()) continue;
    const auto& ops = s.program.threads[t];
    for (size_t i = 0; i < ops.size() && i < static_cast<size_t>(kMaxOpsPerThread); ++i)
      if (static_cast<int>(ops[i].kind) < kNumOps) out += "  " + ops[i].to_string() + "\n";
  }
  Schedule sc = s.schedule;
  if (sc.points.size() > sched::kMaxPreemptions) sc.points.resize(sched::kMaxPreemptions);
  for (auto& p : sc.points) p.after_steps = std::min(p.after_steps, sched::kMaxEncodedAfterSteps);
  sc.one_in = std::max<uint8_t>(sc.one_in, 1);
  sc.depth = std::clamp<uint8_t>(sc.depth, 1, kMaxPctDepth);
  sc.k = std::max<uint16_t>(sc.k, 1);
  if (sc.memory != sync::Memory::kSc) out += fmt::format("memory {}\n", sync::memory_name(sc.memory));
  out += fmt::format("schedule {}\n", sc.to_string());
  return out;
}

}  // namespace pf
