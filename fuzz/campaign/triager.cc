// The Triager thread (triage.h's triage() on each crash file in turn) and
// the campaign's side of it: crash files queued, results published.
#include "fuzz/campaign/campaign_impl.h"
#include "fuzz/harness/bugs.h"

#include <fmt/format.h>

namespace pf::campaign::detail {

Triager::Triager(std::string crash_dir) : crash_dir_(std::move(crash_dir)) {
  thread_ = std::thread([this] { loop(); });
}

Triager::~Triager() {
  {
    std::lock_guard lk(mu_);
    quit_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void Triager::add_known(const std::string& line) {
  std::lock_guard lk(mu_);
  known_.insert(line);
}

void Triager::push(TriageInput in) {
  {
    std::lock_guard lk(mu_);
    if (!queued_.insert(in.path).second) return;
    queue_.push_back(std::move(in));
  }
  cv_.notify_all();
}

std::vector<std::pair<TriageInput, TriageResult>> Triager::take() {
  std::lock_guard lk(mu_);
  return std::exchange(done_, {});
}

size_t Triager::pending() {
  std::lock_guard lk(mu_);
  return queue_.size() + busy_;
}

void Triager::loop() {
  std::unique_lock lk(mu_);
  for (;;) {
    cv_.wait(lk, [this] { return quit_ || !queue_.empty(); });
    if (quit_) return;
    TriageInput in = std::move(queue_.front());
    queue_.pop_front();
    ++busy_;
    lk.unlock();
    mark_triaging(crash_dir_, in.path);
    TriageResult r = triage(in, crash_dir_, [this](const std::string& line) {
      std::lock_guard g(mu_);
      return known_.count(line) > 0;
    });
    unmark_triaging(crash_dir_);
    lk.lock();
    if (r.kind == TriageResult::Kind::kNew) known_.insert(r.finding.line);
    --busy_;
    done_.emplace_back(std::move(in), std::move(r));
  }
}

std::optional<sync::Memory> Campaign::memory_of(const Config& c) const {
  if (worker_.given(RunFlag::memory)) return worker_.memory;
  // The worker defaulted the same way (pinfuzz_fuzzer's --memory).
  const DesignParse d = parse_design(c.design);
  return d.design ? default_memory(*d.design) : sync::Memory::kSc;
}

TriageInput Campaign::triage_input(const Config& c, std::string path) const {
  TriageInput in;
  in.path = std::move(path);
  in.design = c.design;
  in.slug = c.slug;
  in.strategy = worker_.strategy;
  in.memory = memory_of(c);
  // A native worker's schedules are of its --search kind, whatever the
  // campaign's --strategy: its files carry the kind in their name
  // (<kind>-crash-<sha1>, workers.cc), so they decode as they ran, now and
  // at a --resume. A mix worker's runs are of either kind: its files are
  // read by the kind byte they hold.
  const std::string name = fs::path(in.path).filename().string();
  for (ScheduleKind k : {ScheduleKind::kRandom, ScheduleKind::kPct})
    if (name.rfind(std::string(schedule_kind_name(k)) + "-", 0) == 0) in.strategy = k;
  if (name.rfind(std::string(search_strategy_name(SearchStrategy::kMix)) + "-", 0) == 0)
    in.strategy = std::nullopt;
  in.step_budget = worker_.step_budget;
  in.seen_at = t();
  return in;
}

// Every crash file in crashes/incoming/ (of one design, or all).
void Campaign::queue_incoming(size_t only) {
  std::error_code ec;
  for (size_t i = 0; i < st_.configs.size(); ++i) {
    if (only != SIZE_MAX && i != only) continue;
    const Config& c = st_.configs[i];
    for (const auto& e : fs::directory_iterator(incoming_dir_ / c.slug, ec)) {
      const std::string name = e.path().filename().string();
      if (e.path().extension() == ".txt" || name.rfind(".tmp", 0) == 0 ||
          name.find(".tmp.") != std::string::npos)  // write_file_atomic()'s
        continue;
      if (!e.is_regular_file()) continue;
      triager_->push(triage_input(c, e.path().string()));
    }
  }
}

void Campaign::collect_triage() {
  bool changed = false;
  for (auto& [in, r] : triager_->take()) {
    std::error_code ec;
    switch (r.kind) {
      case TriageResult::Kind::kNew: {
        st_.findings.push_back(r.finding);
        changed = true;
        event(fmt::format("new violation #{} at {}: {}\n    -> crashes/{}/ (replay: pinfuzz "
                          "repro {}/crashes/{}/scenario.txt)",
                          st_.findings.size(), format_duration(t()), r.message, r.finding.id,
                          dir_.string(), r.finding.id));
        break;
      }
      case TriageResult::Kind::kKnown:
        if (Finding* f = st_.finding(r.finding.line)) ++f->count;
        break;
      case TriageResult::Kind::kUnreproducible:
      case TriageResult::Kind::kBadInput: {
        const fs::path keep = crash_dir_ / "unreproducible";
        fs::create_directories(keep, ec);
        fs::rename(in.path, keep / fs::path(in.path).filename(), ec);
        problem(fmt::format("{} (kept in crashes/unreproducible/)", r.message));
        break;
      }
      case TriageResult::Kind::kError:
        fatal("triage: " + r.message);
        continue;  // keep the crash file for --resume
    }
    if (r.kind == TriageResult::Kind::kNew || r.kind == TriageResult::Kind::kKnown) {
      // Published (or a duplicate): the worker's file has done its job.
      if (changed) {
        if (auto e = write_known(); !e.empty()) return fatal(e);
        if (auto e = save(); !e.empty()) return fatal(e);
        changed = false;
      }
      fs::remove(in.path, ec);
      fs::remove(in.path + ".txt", ec);
    }
  }
}

}  // namespace pf::campaign::detail
