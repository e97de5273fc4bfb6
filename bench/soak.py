#!/usr/bin/env python3
"""Overnight evidence: run `pinfuzz campaign --all-designs` for hours and
sample what an overnight run must keep flat.

Every --interval seconds it records, from /proc, the campaign's progress
lines and its campaign.json:
  rss_mb       resident memory of the campaign and all its descendants,
               split into rss_campaign_mb (the campaign process),
               rss_native_mb / rss_libfuzzer_mb (its workers, by kind: a
               native random/PCT search, or libFuzzer; a -merge=1 distill
               counts as libFuzzer) and rss_workers_children_mb (what the
               workers started, e.g. an llvm-symbolizer)
  execs        executions so far (the campaign's progress line)
  exec_per_s   executions per wall second since the last sample
  exec_per_cpu executions per CPU second of the campaign's process tree
               since the last sample: the rate with other load on the
               machine factored out (the soak shares the machine)
  corpus       files in the campaign's corpora
  rotation     how many times every design has been through the whole
               --search-mix (the least slices any design has had, divided
               by the mix's length)
and writes samples.csv, summary.json and soak.svg (RSS and exec/s against
time) into --out.

A campaign's workers are not alike: a libFuzzer worker holds about 30 MiB
(libFuzzer's feature tables), a native one about 7 MiB, and each design's
slices rotate through the mix. So the tree's RSS and exec/s follow which
kinds happen to run, and are compared a whole rotation at a time, like with
like. The verdict, after the first --settle seconds (10 minutes):
  RSS flat:        the campaign process: max <= 1.10 x its RSS at settle;
                   the tree: the peak of every later rotation <= 1.10 x the
                   peak of the first rotation (its samples after settle);
                   each worker kind: the largest single worker of every
                   later rotation <= 1.10 x the first rotation's
  no decay:        mean exec/CPU-s of the last complete rotation >= 0.80 x
                   that of the first rotation (after settle)
  correct clean:   no finding on a correct design (campaign.json)
At least two complete rotations are needed: with 300 s slices a rotation of
the whole catalog takes hours, so the soak passes --slice (60 s by default).
Exit 0 if all hold, 1 if not, 2 on bad arguments.

  bench/soak.py --pinfuzz build/campaign/fuzz/pinfuzz --hours 2 --jobs 2 --out /tmp/soak
"""
import argparse
import csv
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

CLK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
PROGRESS = re.compile(r"\] (\d+) execs")


def descendants_of(pid):
    """All descendants of pid as (pid, parent pid), from /proc/*/stat."""
    parent = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                parent[int(d)] = int(f.read().rsplit(")", 1)[1].split()[1])
        except OSError:
            pass
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        kids = [c for c, pp in parent.items() if pp == p]
        out += [(c, p) for c in kids]
        todo += kids
    return out


def stat_of(pid):
    """(rss bytes, cpu seconds of pid and its reaped children)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0, 0.0
    # fields[0] is state (stat field 3): utime is field 14 -> index 11.
    utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
    rss = int(fields[21]) * PAGE
    return rss, (utime + stime + cutime + cstime) / CLK


def worker_kind(pid):
    """'native' for a --search=random|pct|mix worker, else 'libfuzzer'."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            args = f.read().split(b"\0")
    except OSError:
        return "libfuzzer"
    return "native" if any(a.startswith(b"--search=") for a in args) else "libfuzzer"


def tree_sample(root):
    """RSS of root, of its children by kind (sum and largest), of deeper
    descendants; cpu seconds of the whole tree."""
    rss_root, cpu = stat_of(root)
    out = {"root": rss_root, "deeper": 0, "native": 0, "libfuzzer": 0,
           "native_max": 0, "libfuzzer_max": 0}
    for pid, parent in descendants_of(root):
        r, t = stat_of(pid)
        cpu += t
        if parent == root:
            k = worker_kind(pid)
            out[k] += r
            out[k + "_max"] = max(out[k + "_max"], r)
        else:
            out["deeper"] += r
    return out, cpu


def rotation_of(campaign_json, mix_len):
    """Complete passes of every design through the mix, from campaign.json
    (None before the campaign has written it)."""
    try:
        with open(campaign_json) as f:
            c = json.load(f)
        return min(cfg.get("slices", 0) for cfg in c["configs"]) // mix_len
    except (OSError, ValueError, KeyError, TypeError):
        return None


def count_files(path):
    n = 0
    for _, _, files in os.walk(path):
        n += len(files)
    return n


def svg_plot(rows, path):
    """Stacked line charts against minutes (no deps): RSS (the tree, the
    campaign process, the largest worker of each kind) and exec/s; dashed
    lines where a rotation of the search mix begins."""
    w, h, pad = 900, 260, 50
    mins = [r["t"] / 60 for r in rows]
    panels = [("RSS (MiB)", [("tree", "rss_mb", "#c0392b"),
                             ("campaign", "rss_campaign_mb", "#7d3c98"),
                             ("largest libFuzzer worker", "rss_libfuzzer_max_mb", "#d68910"),
                             ("largest native worker", "rss_native_max_mb", "#229954")]),
              ("exec per CPU-second", [("", "exec_per_cpu", "#2471a3")]),
              ("exec per wall second", [("", "exec_per_s", "#7f8c8d")])]
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{len(panels) * h}" '
             'font-family="sans-serif" font-size="12">']
    tmax = max(mins) or 1
    x_of = lambda x: pad + (x / tmax) * (w - 2 * pad)  # noqa: E731
    starts = [m for m, prev, r in zip(mins[1:], rows, rows[1:])
              if r.get("rotation") is not None and prev.get("rotation") is not None
              and r["rotation"] != prev["rotation"]]
    for i, (label, series) in enumerate(panels):
        y0 = i * h
        vals = [r[k] or 0 for _, k, _ in series for r in rows]
        # exec/s: a sample can see a worker's executions before its CPU time
        # (soak.py's verdict says why); the scale stops at the 99th percentile.
        top = sorted(vals)[int(0.99 * (len(vals) - 1))] if i else max(vals)
        ymax = top * 1.1 or 1
        y_of = lambda y: y0 + h - pad - (min(y, ymax) / ymax) * (h - 2 * pad)  # noqa: E731
        parts.append(f'<text x="{pad}" y="{y0 + 20}">{label} over {tmax:.0f} minutes'
                     + "".join(f' <tspan fill="{c}">&#9632; {name}</tspan>'
                               for name, _, c in series if name) + '</text>')
        parts.append(f'<line x1="{pad}" y1="{y0 + h - pad}" x2="{w - pad}" y2="{y0 + h - pad}" '
                     'stroke="#000"/>')
        parts.append(f'<line x1="{pad}" y1="{y0 + pad}" x2="{pad}" y2="{y0 + h - pad}" '
                     'stroke="#000"/>')
        parts.append(f'<text x="{pad - 45}" y="{y0 + pad + 4}">{ymax:.0f}</text>')
        parts.append(f'<text x="{pad - 15}" y="{y0 + h - pad + 4}">0</text>')
        parts.append(f'<text x="{w - pad - 20}" y="{y0 + h - pad + 16}">{tmax:.0f} min</text>')
        for m in starts:
            parts.append(f'<line x1="{x_of(m):.1f}" y1="{y0 + pad}" x2="{x_of(m):.1f}" '
                         f'y2="{y0 + h - pad}" stroke="#aaa" stroke-dasharray="4 3"/>')
        for _, key, color in series:
            pts = " ".join(f"{x_of(x):.1f},{y_of(r[key] or 0):.1f}" for x, r in zip(mins, rows))
            parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.5" '
                         f'points="{pts}"/>')
    parts.append("</svg>")
    write_atomic(path, "\n".join(parts) + "\n")


def write_atomic(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def mean(xs):
    return sum(xs) / len(xs) if xs else 0.0


def peak_by_rotation(rows, key):
    out = {}
    for r in rows:
        out[r["rotation"]] = max(out.get(r["rotation"], 0), r[key])
    return out


def verdict(rows, settle, campaign_json):
    after = [r for r in rows if r["t"] >= settle and r["rotation"] is not None]
    out = {"samples": len(rows), "samples_after_settle": len(after)}
    if len(after) < 10:
        out["error"] = "fewer than 10 samples after the settle time"
        return out, False
    last_rot = rows[-1]["rotation"]  # still running when the campaign ended
    full = sorted({r["rotation"] for r in after if r["rotation"] != last_rot})
    out["complete_rotations_after_settle"] = len(full)
    if len(full) < 2:
        out["error"] = ("fewer than two complete rotations of the search mix after the "
                        "settle time: run longer or with a shorter --slice")
        return out, False
    first, later = full[0], full[1:]
    ok = True
    # The campaign process: one process, alike all along.
    base = after[0]["rss_campaign_mb"]
    out["campaign_rss_at_settle_mb"] = base
    out["campaign_rss_max_after_settle_mb"] = max(r["rss_campaign_mb"] for r in after)
    out["campaign_rss_growth"] = out["campaign_rss_max_after_settle_mb"] / base if base else None
    ok &= out["campaign_rss_growth"] is not None and out["campaign_rss_growth"] <= 1.10
    # The tree, and each kind's largest worker, peak per rotation.
    for key, name in (("rss_mb", "tree"), ("rss_native_max_mb", "native_worker"),
                      ("rss_libfuzzer_max_mb", "libfuzzer_worker")):
        peaks = peak_by_rotation([r for r in after if r["rotation"] in full], key)
        out[f"{name}_rss_peak_by_rotation_mb"] = {str(k): v for k, v in sorted(peaks.items())}
        growth = max(peaks[k] for k in later) / peaks[first] if peaks[first] else None
        out[f"{name}_rss_growth"] = growth
        ok &= growth is not None and growth <= 1.10
    # For the record: the tree against its value at settle, as one would
    # judge a pool of like workers (it follows the mix here).
    out["tree_rss_at_settle_mb"] = after[0]["rss_mb"]
    out["tree_rss_max_after_settle_mb"] = max(r["rss_mb"] for r in after)
    # A rotation's rate is its executions over its CPU seconds (first to
    # last sample), not a mean of per-sample rates: a worker's CPU time
    # moves to the campaign's only when it is reaped, so one sample can see
    # millions of executions in a fraction of a CPU second and the next
    # one none.
    def rate_of(k):
        rs = [r for r in after if r["rotation"] == k]
        cpu = rs[-1]["cpu_s"] - rs[0]["cpu_s"]
        return (rs[-1]["execs"] - rs[0]["execs"]) / cpu if cpu > 0 else 0.0
    rate = {k: rate_of(k) for k in full}
    out["exec_per_cpu_by_rotation"] = {str(k): round(v, 1) for k, v in rate.items()}
    out["exec_per_cpu_ratio"] = rate[full[-1]] / rate[first] if rate[first] else None
    ok &= out["exec_per_cpu_ratio"] is not None and out["exec_per_cpu_ratio"] >= 0.80
    try:
        with open(campaign_json) as f:
            c = json.load(f)
        correct = {cfg["design"] for cfg in c["configs"] if cfg.get("correct")}
        correct_findings = [x["id"] for x in c.get("findings", []) if x.get("design") in correct]
        out["executions"] = sum(cfg.get("execs", 0) for cfg in c["configs"])
        out["correct_designs"] = sorted(correct)
    except (OSError, ValueError, KeyError) as e:
        out["error"] = f"{campaign_json}: {e}"
        return out, False
    out["correct_design_findings"] = correct_findings
    ok &= not correct_findings
    out["pass"] = bool(ok)
    return out, bool(ok)


def judge(out_dir, cdir, settle):
    """The verdict of an earlier soak, from its samples.csv."""
    try:
        with open(os.path.join(out_dir, "samples.csv"), newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as e:
        print(f"soak: {e}", file=sys.stderr)
        return 2
    for r in rows:
        for k, v in r.items():
            r[k] = None if v == "" else float(v)
        if r["rotation"] is not None:
            r["rotation"] = int(r["rotation"])
    if rows:
        svg_plot(rows, os.path.join(out_dir, "soak.svg"))
    summary, ok = verdict(rows, settle, os.path.join(cdir, "campaign.json"))
    write_atomic(os.path.join(out_dir, "summary.json"), json.dumps(summary, indent=1) + "\n")
    print(json.dumps(summary, indent=1))
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--pinfuzz", default="build/campaign/fuzz/pinfuzz")
    ap.add_argument("--hours", type=float, default=2.0)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--interval", type=float, default=30.0, help="seconds between samples")
    ap.add_argument("--settle", type=float, default=600.0, help="seconds before the baseline")
    ap.add_argument("--slice", type=float, default=60.0, help="the campaign's --slice, seconds")
    ap.add_argument("--search-mix", default="mix,libfuzzer,mix",
                    help="the campaign's --search-mix")
    ap.add_argument("--out", required=True, help="directory for samples and the campaign")
    ap.add_argument("--judge", action="store_true",
                    help="run nothing: judge --out's samples.csv and campaign again")
    args = ap.parse_args()
    if args.hours <= 0 or args.jobs <= 0 or args.interval <= 0 or args.slice < 1:
        ap.error("--hours, --jobs and --interval must be positive, --slice at least 1")
    mix_len = len([k for k in args.search_mix.split(",") if k])
    if mix_len == 0:
        ap.error("--search-mix: empty")
    if not os.access(args.pinfuzz, os.X_OK):
        print(f"soak: {args.pinfuzz}: not an executable (build the campaign preset first)",
              file=sys.stderr)
        return 2
    cdir = os.path.join(args.out, "campaign")
    if args.judge:
        return judge(args.out, cdir, args.settle)
    os.makedirs(args.out, exist_ok=True)
    cmd = [args.pinfuzz, "campaign", "--all-designs", "-j", str(args.jobs),
           "--duration", f"{int(args.hours * 3600)}s", "--slice", f"{args.slice:g}s",
           "--search-mix", args.search_mix, "--dir", cdir, "--plain"]
    print("soak:", " ".join(cmd), flush=True)
    log = open(os.path.join(args.out, "campaign.log"), "w")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    execs = [0]

    def reader():
        for line in proc.stdout:
            log.write(line)
            log.flush()
            m = PROGRESS.search(line)
            if m:
                execs[0] = int(m.group(1))

    threading.Thread(target=reader, daemon=True).start()
    signal.signal(signal.SIGINT, lambda *_: proc.send_signal(signal.SIGINT))
    rows, start = [], time.monotonic()
    last_t, last_execs, last_cpu = 0.0, 0, 0.0
    csv_path = os.path.join(args.out, "samples.csv")
    while proc.poll() is None:
        time.sleep(args.interval)
        if proc.poll() is not None:
            break
        t = time.monotonic() - start
        tree, cpu = tree_sample(proc.pid)
        rss = sum(tree[k] for k in ("root", "native", "libfuzzer", "deeper"))
        e = execs[0]
        mib = lambda b: round(b / 2**20, 1)  # noqa: E731
        row = {"t": round(t, 1), "rss_mb": mib(rss), "rss_campaign_mb": mib(tree["root"]),
               "rss_native_mb": mib(tree["native"]), "rss_libfuzzer_mb": mib(tree["libfuzzer"]),
               "rss_native_max_mb": mib(tree["native_max"]),
               "rss_libfuzzer_max_mb": mib(tree["libfuzzer_max"]),
               "rss_workers_children_mb": mib(tree["deeper"]), "execs": e,
               "rotation": rotation_of(os.path.join(cdir, "campaign.json"), mix_len),
               "exec_per_s": round((e - last_execs) / (t - last_t), 1) if t > last_t else 0.0,
               "exec_per_cpu": round((e - last_execs) / (cpu - last_cpu), 1)
               if cpu > last_cpu else 0.0,
               "cpu_s": round(cpu, 1),
               "corpus": count_files(os.path.join(cdir, "corpus"))}
        if e > last_execs:  # a progress line arrived since the last sample
            rows.append(row)
            last_t, last_execs, last_cpu = t, e, cpu
        with open(csv_path + ".tmp", "w", newline="") as f:
            wr = csv.DictWriter(f, fieldnames=list(row.keys()))
            wr.writeheader()
            wr.writerows(rows)
        os.replace(csv_path + ".tmp", csv_path)
        print(f"soak: {t / 60:6.1f} min rss {row['rss_mb']} MiB (campaign "
              f"{row['rss_campaign_mb']}, native {row['rss_native_mb']}, libFuzzer "
              f"{row['rss_libfuzzer_mb']}, their children "
              f"{row['rss_workers_children_mb']}), {row['exec_per_s']} exec/s, "
              f"{row['exec_per_cpu']} exec/cpu-s, corpus {row['corpus']}, "
              f"rotation {row['rotation']}", flush=True)
    proc.wait()
    if rows:
        svg_plot(rows, os.path.join(args.out, "soak.svg"))
    summary, ok = verdict(rows, args.settle, os.path.join(cdir, "campaign.json"))
    summary["command"] = " ".join(cmd)
    summary["campaign_exit"] = proc.returncode
    write_atomic(os.path.join(args.out, "summary.json"), json.dumps(summary, indent=1) + "\n")
    print(json.dumps(summary, indent=1))
    return 0 if ok and proc.returncode in (0, 1) else 1


if __name__ == "__main__":
    sys.exit(main())
