#include "fuzz/harness/run.h"

#include <fmt/format.h>

#include <memory>

#include "model/check.h"
#include "model/memremap.h"

namespace pf {

namespace {
uint64_t mix(uint64_t k) {  // MurmurHash3 fmix64
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdull;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ull;
  k ^= k >> 33;
  return k;
}
}  // namespace

struct Runner::State {
  sched::Scheduler sched;
  // Per run.
  World* world = nullptr;
  const RunOptions* opt = nullptr;
  RunResult* result = nullptr;
  uint64_t step_offset = 0;  // steps of earlier phases (the final check)
  bool stop_requested = false;
  uint64_t violation_step = 0;  // the step after which the first was seen
  bool final_phase = false;     // running the end-of-run check
  std::array<bool, kMaxThreads> unfinished{};  // bodies that did not return

  State() : sched(sched::Options{.after_step = [this] { after_step(); }}) {}

  // After every step, on the fiber that made it: read-only checks, and the
  // end of the run at the first violation.
  void after_step() {
    if (opt->check_each_step) check_invariants_fast(*world);
    if (!stop_requested && world->violated()) {
      stop_requested = true;
      violation_step = step_offset + sched.steps() - 1;
      sched.request_stop();
    }
  }

  // Returns the mark's index, or -1 when not recording.
  ptrdiff_t mark(uint8_t thread, int16_t op) {
    if (opt->recording != sched::Recording::kFullTrace) return -1;
    result->marks.push_back(OpMark{thread, op, step_offset + sched.steps()});
    return static_cast<ptrdiff_t>(result->marks.size()) - 1;
  }
  void effect(ptrdiff_t mark, bool did) {
    if (mark >= 0) result->marks[static_cast<size_t>(mark)].effect = did;
  }

  // Runs one phase; appends its trace and folds its hash into the result.
  sched::Result phase(std::span<const sched::ThreadBody> bodies, sched::Strategy& strategy) {
    sched::Result r = sched.run(bodies, strategy);
    RunResult& out = *result;
    out.trace_hash = step_offset == 0 && out.trace.empty() ? r.trace_hash
                                                           : mix(out.trace_hash ^ r.trace_hash);
    if (opt->recording == sched::Recording::kFullTrace) {
      for (sched::Step& s : r.trace) {
        s.index += step_offset;
        if (final_phase) s.thread = kFinalThread;
        out.objects.push_back(world->describe(s.address));
        out.trace.push_back(s);
      }
    }
    step_offset += r.steps;
    out.steps = step_offset;
    return r;
  }

  // The scheduler ended a phase without a violation of the model's own:
  // a deadlock or an exhausted budget is one. A deadlock that is the
  // kernel's own teardown hang is a limitation instead (model/memremap.h).
  void report_status(sched::Status status, const char* where) {
    if (world->violated()) return;
    if (status == sched::Status::kDeadlock && !final_phase) {
      if (std::string why = teardown_hang_detail(*world, unfinished); !why.empty()) {
        world->report(ViolationKind::teardown_hang, -1, nullptr, "memunmap_pages", why);
        return;
      }
    }
    if (status == sched::Status::kDeadlock)
      world->report(ViolationKind::deadlock, -1, nullptr, where,
                    "every model thread is blocked");
    else if (status == sched::Status::kHang)
      world->report(ViolationKind::hang, -1, nullptr, where,
                    fmt::format("the step budget of {} ran out", opt->step_budget));
  }
};

Runner::Runner() : st_(std::make_unique<State>()) {}
Runner::~Runner() = default;

Design effective_design(const Scenario& s, const Design& fallback) {
  return s.design ? *s.design : fallback;
}

RunResult Runner::run(const Scenario& s, const Design& fallback, const RunOptions& options) {
  auto strategy = s.schedule.make_strategy();
  RunOptions o = options;
  o.memory = s.schedule.memory;
  return run(effective_design(s, fallback), s.program, *strategy, o);
}

RunResult Runner::run(const Design& design, const Program& program, sched::Strategy& strategy,
                      const RunOptions& options) {
  RunResult result;
  auto world = std::make_unique<World>(design, program.world);
  State& st = *st_;
  st.world = world.get();
  st.opt = &options;
  st.result = &result;
  st.step_offset = 0;
  st.stop_requested = false;
  st.final_phase = false;
  st.unfinished.fill(false);
  st.sched.set_step_budget(options.step_budget);
  st.sched.set_observer(options.observer);
  st.sched.set_recording(options.recording);
  st.sched.set_memory(options.memory);
  if (options.observer) options.observer->begin_run(*world);

  size_t nthreads = std::clamp<size_t>(program.threads.size(), 1, kMaxThreads);
  std::vector<sched::ThreadBody> bodies;
  bodies.reserve(nthreads);
  static const std::vector<Op> kNoOps;
  for (size_t t = 0; t < nthreads; ++t) {
    const auto& ops = t < program.threads.size() ? program.threads[t] : kNoOps;
    st.unfinished[t] = true;
    auto ops_of_thread = [&st, &w = *world, &ops, t, mode = options.mode] {
      Task& task = w.tasks[t];
      for (size_t i = 0; i < ops.size(); ++i) {
        if (st.stop_requested) return;  // unwinding: no op begins any more
        const ptrdiff_t m = st.mark(static_cast<uint8_t>(t), static_cast<int16_t>(i));
        st.effect(m, run_op(w, task, ops[i], mode));
      }
      if (mode == OpMode::kWellFormed && !st.stop_requested) {
        st.mark(static_cast<uint8_t>(t), kExitOp);
        release_all(w, task);
      }
    };
    // Cleared on a normal return; a thread unwound from a deadlock never
    // gets there.
    bodies.push_back([&st, ops_of_thread, t] {
      ops_of_thread();
      st.unfinished[t] = false;
    });
  }
  sched::Result r = st.phase(bodies, strategy);
  result.status = r.status;
  st.report_status(r.status, "scheduler");

  if (!world->violated()) {
    // The end-of-run check, as one more thread: never preempted (there is
    // no one to switch to), but a sync that blocks is still a deadlock.
    sched::InputStrategy none({});
    st.final_phase = true;
    const sched::ThreadBody final_body = [&st, &w = *world] {
      st.mark(kFinalThread, 0);
      final_check(w);
    };
    sched::Result f = st.phase(std::span(&final_body, 1), none);
    result.status = f.status;
    st.report_status(f.status, "final_check");
  }
  result.violation = world->violations.first();
  result.limitation = world->limitations.first();
  if (result.violation || options.recording == sched::Recording::kFullTrace)
    result.schedule = strategy.describe();
  if (result.violation)
    result.violation->step = st.stop_requested ? st.violation_step : result.steps;
  result.kinds = world->violations.kinds_seen();
  st.world = nullptr;
  st.opt = nullptr;
  st.result = nullptr;
  return result;
}

}  // namespace pf
