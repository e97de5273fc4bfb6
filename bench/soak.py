#!/usr/bin/env python3
"""Overnight evidence: run `pinfuzz campaign --all-designs` for hours and
sample what an overnight run must keep flat.

Every --interval seconds it records, from /proc and the campaign's own
progress lines:
  rss_mb       resident memory of the campaign and all its descendants,
               split into rss_campaign_mb (the campaign process),
               rss_workers_mb (its workers) and rss_workers_children_mb
               (what the workers started, e.g. an llvm-symbolizer)
  execs        executions so far (the campaign's progress line)
  exec_per_s   executions per wall second since the last sample
  exec_per_cpu executions per CPU second of the campaign's process tree
               since the last sample: the rate with other load on the
               machine factored out (the soak shares the machine)
  corpus       files in the campaign's corpora
and writes samples.csv, summary.json and soak.svg (RSS and exec/s against
time) into --out. The verdict compares the first sample after --settle
(10 minutes) with the rest:
  RSS flat:        max RSS after settle <= 1.10 x RSS at settle
  no decay:        mean exec/CPU-s of the last 10% >= 0.80 x the 10% after settle
  correct clean:   no finding on a correct design (campaign.json)
Exit 0 if all three hold, 1 if not, 2 on bad arguments.

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


def tree_sample(root):
    """(rss of root, of its children, of deeper descendants; cpu seconds)."""
    rss_root, cpu = stat_of(root)
    rss_kids = rss_deeper = 0
    for pid, parent in descendants_of(root):
        r, t = stat_of(pid)
        cpu += t
        if parent == root:
            rss_kids += r
        else:
            rss_deeper += r
    return rss_root, rss_kids, rss_deeper, cpu


def count_files(path):
    n = 0
    for _, _, files in os.walk(path):
        n += len(files)
    return n


def svg_plot(rows, path):
    """Two stacked line charts (RSS, exec/s) against minutes; no deps."""
    w, h, pad = 900, 260, 50
    mins = [r["t"] / 60 for r in rows]
    series = [("RSS (MiB)", [r["rss_mb"] for r in rows], "#c0392b"),
              ("exec per CPU-second", [r["exec_per_cpu"] for r in rows], "#2471a3"),
              ("exec per wall second", [r["exec_per_s"] for r in rows], "#7f8c8d")]
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{3 * h}" '
             'font-family="sans-serif" font-size="12">']
    tmax = max(mins) or 1
    for i, (label, ys, color) in enumerate(series):
        y0 = i * h
        ymax = max(ys) * 1.1 or 1
        pts = " ".join(f"{pad + (x / tmax) * (w - 2 * pad):.1f},"
                       f"{y0 + h - pad - (y / ymax) * (h - 2 * pad):.1f}"
                       for x, y in zip(mins, ys))
        parts.append(f'<text x="{pad}" y="{y0 + 20}">{label} (max {max(ys):.0f}) '
                     f'over {tmax:.0f} minutes</text>')
        parts.append(f'<line x1="{pad}" y1="{y0 + h - pad}" x2="{w - pad}" y2="{y0 + h - pad}" '
                     'stroke="#000"/>')
        parts.append(f'<line x1="{pad}" y1="{y0 + pad}" x2="{pad}" y2="{y0 + h - pad}" '
                     'stroke="#000"/>')
        parts.append(f'<text x="{pad - 45}" y="{y0 + pad + 4}">{ymax:.0f}</text>')
        parts.append(f'<text x="{pad - 15}" y="{y0 + h - pad + 4}">0</text>')
        parts.append(f'<text x="{w - pad - 20}" y="{y0 + h - pad + 16}">{tmax:.0f} min</text>')
        parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.5" points="{pts}"/>')
    parts.append("</svg>")
    write_atomic(path, "\n".join(parts) + "\n")


def write_atomic(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def mean(xs):
    return sum(xs) / len(xs) if xs else 0.0


def verdict(rows, settle, campaign_json):
    after = [r for r in rows if r["t"] >= settle]
    out = {"samples": len(rows), "samples_after_settle": len(after)}
    if len(after) < 10:
        out["error"] = "fewer than 10 samples after the settle time"
        return out, False
    base_rss = after[0]["rss_mb"]
    out["rss_at_settle_mb"] = base_rss
    out["rss_max_after_settle_mb"] = max(r["rss_mb"] for r in after)
    out["rss_growth"] = out["rss_max_after_settle_mb"] / base_rss if base_rss else None
    tenth = max(1, len(after) // 10)
    first = mean([r["exec_per_cpu"] for r in after[:tenth]])
    last = mean([r["exec_per_cpu"] for r in after[-tenth:]])
    out["exec_per_cpu_first_tenth"] = first
    out["exec_per_cpu_last_tenth"] = last
    out["exec_per_cpu_ratio"] = last / first if first else None
    out["exec_per_s_first_tenth"] = mean([r["exec_per_s"] for r in after[:tenth]])
    out["exec_per_s_last_tenth"] = mean([r["exec_per_s"] for r in after[-tenth:]])
    correct_findings = []
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
    ok = (out["rss_growth"] is not None and out["rss_growth"] <= 1.10
          and out["exec_per_cpu_ratio"] is not None and out["exec_per_cpu_ratio"] >= 0.80
          and not correct_findings)
    out["pass"] = ok
    return out, ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--pinfuzz", default="build/campaign/fuzz/pinfuzz")
    ap.add_argument("--hours", type=float, default=2.0)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--interval", type=float, default=30.0, help="seconds between samples")
    ap.add_argument("--settle", type=float, default=600.0, help="seconds before the baseline")
    ap.add_argument("--out", required=True, help="directory for samples and the campaign")
    args = ap.parse_args()
    if args.hours <= 0 or args.jobs <= 0 or args.interval <= 0:
        ap.error("--hours, --jobs and --interval must be positive")
    if not os.access(args.pinfuzz, os.X_OK):
        print(f"soak: {args.pinfuzz}: not an executable (build the campaign preset first)",
              file=sys.stderr)
        return 2
    os.makedirs(args.out, exist_ok=True)
    cdir = os.path.join(args.out, "campaign")
    cmd = [args.pinfuzz, "campaign", "--all-designs", "-j", str(args.jobs),
           "--duration", f"{int(args.hours * 3600)}s", "--dir", cdir, "--plain"]
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
        rss_root, rss_kids, rss_deeper, cpu = tree_sample(proc.pid)
        rss = rss_root + rss_kids + rss_deeper
        e = execs[0]
        row = {"t": round(t, 1), "rss_mb": round(rss / 2**20, 1),
               "rss_campaign_mb": round(rss_root / 2**20, 1),
               "rss_workers_mb": round(rss_kids / 2**20, 1),
               "rss_workers_children_mb": round(rss_deeper / 2**20, 1), "execs": e,
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
              f"{row['rss_campaign_mb']}, workers {row['rss_workers_mb']}, their children "
              f"{row['rss_workers_children_mb']}), {row['exec_per_s']} exec/s, "
              f"{row['exec_per_cpu']} exec/cpu-s, corpus {row['corpus']}", flush=True)
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
