#!/usr/bin/env python3
"""Regenerates the `pinfuzz repro` blocks of docs/designs.md from the regression corpus.

    scripts/update-designs-doc.py PINFUZZ           rewrite docs/designs.md in place
    scripts/update-designs-doc.py --check PINFUZZ   exit 1, with a diff, if it is out of date

A generated block sits between two marker lines:

    <!-- BEGIN repro NAME [rows=N] [entry=FILE.txt] -->
    <!-- END repro NAME -->

NAME is a catalog row, i.e. a directory corpus/regressions/NAME/ holding one
scenario (FILE.txt; `entry=` picks one when there are several). Between the
markers the script puts a fenced code block with the command and what it prints:
`pinfuzz repro --rows N corpus/regressions/NAME/FILE.txt` (the violation line,
the scenario and the swimlane timeline; N defaults to DEFAULT_ROWS, 0 = every
row). Everything outside the markers is hand-written and left byte for byte.

Contract: the output is a function of the pinfuzz binary and the corpus only.
pinfuzz runs with the repository as its working directory and repo-relative
paths, without any PINFUZZ_* variable of the caller's environment, and trailing
blanks are cut from every line, so the text does not depend on the checkout,
the shell or the editor. Every corpus row must have exactly one block and every
block must name a corpus row; an entry that no longer reproduces is an error.
The file is written atomically (temporary file in the same directory, renamed
over the target).

Exit status: 0 up to date (or rewritten), 1 out of date (--check), 2 error.
"""

import argparse
import difflib
import os
import re
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = "docs/designs.md"
CORPUS = "corpus/regressions"
# Timelines longer than this many rows print in pinfuzz's compact form: the
# last rows before the violation after a "... K earlier rows" line that names
# the op each thread is in.
DEFAULT_ROWS = 60
REPRO_TIMEOUT = 60  # seconds per entry; a replay takes milliseconds

BEGIN = re.compile(r"^<!-- BEGIN repro ([a-z0-9_]+)((?: [a-z]+=[^ ]+)*) -->$")
END = re.compile(r"^<!-- END repro ([a-z0-9_]+) -->$")
ANY_MARKER = re.compile(r"^<!-- (BEGIN|END) repro\b")


class Error(Exception):
    """A problem the user must fix; printed without a traceback, exit 2."""


def parse_options(text, lineno):
    opts = {"rows": DEFAULT_ROWS, "entry": None}
    for word in text.split():
        key, _, value = word.partition("=")
        if key == "rows":
            if not value.isdigit():
                raise Error(f"{DOC}:{lineno}: rows= takes a number, not '{value}'")
            opts["rows"] = int(value)
        elif key == "entry":
            opts["entry"] = value
        else:
            raise Error(f"{DOC}:{lineno}: unknown marker option '{key}' (known: rows, entry)")
    return opts


def split_blocks(lines):
    """Yields ("text", lines) and ("block", name, opts, begin_line, end_line) in order."""
    out, plain, i = [], [], 0
    while i < len(lines):
        m = BEGIN.match(lines[i])
        if not m:
            if ANY_MARKER.match(lines[i]):
                raise Error(f"{DOC}:{i + 1}: malformed or unpaired marker: {lines[i]}")
            plain.append(lines[i])
            i += 1
            continue
        name, opts = m.group(1), parse_options(m.group(2), i + 1)
        j = i + 1
        while j < len(lines) and not END.match(lines[j]):
            if ANY_MARKER.match(lines[j]):
                raise Error(f"{DOC}:{j + 1}: marker inside the block opened at line {i + 1}")
            j += 1
        if j == len(lines):
            raise Error(f"{DOC}:{i + 1}: BEGIN repro {name} has no END")
        if END.match(lines[j]).group(1) != name:
            raise Error(f"{DOC}:{j + 1}: END repro {END.match(lines[j]).group(1)} "
                        f"closes BEGIN repro {name} (line {i + 1})")
        out.append(("text", plain))
        plain = []
        out.append(("block", name, opts, lines[i], lines[j]))
        i = j + 1
    out.append(("text", plain))
    return out


def entry_path(name, opts):
    d = os.path.join(CORPUS, name)
    if not os.path.isdir(os.path.join(REPO, d)):
        raise Error(f"{DOC}: block 'repro {name}' names no directory {d}/")
    txts = sorted(f for f in os.listdir(os.path.join(REPO, d)) if f.endswith(".txt"))
    if opts["entry"] is not None:
        if opts["entry"] not in txts:
            raise Error(f"{DOC}: block 'repro {name}': no {d}/{opts['entry']}")
        return f"{d}/{opts['entry']}"
    if len(txts) != 1:
        raise Error(f"{DOC}: block 'repro {name}': {d}/ holds {len(txts)} scenarios; "
                    "pick one with entry=FILE.txt")
    return f"{d}/{txts[0]}"


def repro(pinfuzz, path, rows):
    args = ["repro", "--rows", str(rows), path]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PINFUZZ_")}
    try:
        r = subprocess.run([pinfuzz] + args, cwd=REPO, env=env, capture_output=True,
                           timeout=REPRO_TIMEOUT)
    except OSError as e:
        raise Error(f"cannot run {pinfuzz}: {e}")
    except subprocess.TimeoutExpired:
        raise Error(f"pinfuzz repro {path}: no answer after {REPRO_TIMEOUT} s")
    out = r.stdout.decode("utf-8")
    if r.returncode == 0:
        raise Error(f"{path} no longer reproduces (pinfuzz says: {out.splitlines()[0]}); "
                    "fix the model or re-record the entry before regenerating the doc")
    if r.returncode != 1:
        raise Error(f"pinfuzz repro {path} exited {r.returncode}: "
                    f"{r.stderr.decode('utf-8', 'replace').strip()}")
    body = [line.rstrip() for line in out.split("\n")]
    while body and not body[-1]:
        body.pop()
    return ["$ pinfuzz " + " ".join(args)] + body


def render(pinfuzz, text):
    lines = text.split("\n")
    parts = split_blocks(lines)
    names = [p[1] for p in parts if p[0] == "block"]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise Error(f"{DOC}: more than one block for {', '.join(dupes)}")
    rows = sorted(d for d in os.listdir(os.path.join(REPO, CORPUS))
                  if os.path.isdir(os.path.join(REPO, CORPUS, d)))
    missing = [r for r in rows if r not in names]
    if missing:
        raise Error(f"{DOC}: no block for {', '.join(missing)}: add a section with "
                    f"'<!-- BEGIN repro NAME -->' and '<!-- END repro NAME -->' lines")
    out = []
    for p in parts:
        if p[0] == "text":
            out.extend(p[1])
            continue
        _, name, opts, begin, end = p
        body = repro(pinfuzz, entry_path(name, opts), opts["rows"])
        fence = "```"
        while any(line.startswith(fence) for line in body):
            fence += "`"
        out += [begin, fence + "text"] + body + [fence, end]
    return "\n".join(out)


def write_atomic(path, text):
    d = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(dir=d, prefix="." + os.path.basename(path) + ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, os.stat(path).st_mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true",
                    help="change nothing; exit 1 and print a diff if the doc is out of date")
    ap.add_argument("pinfuzz", help="path to the pinfuzz binary (e.g. build/dev/fuzz/pinfuzz)")
    a = ap.parse_args()
    pinfuzz = os.path.abspath(a.pinfuzz)
    path = os.path.join(REPO, DOC)
    try:
        with open(path, encoding="utf-8", newline="") as f:
            old = f.read()
        new = render(pinfuzz, old)
    except (Error, OSError, UnicodeDecodeError) as e:
        print(f"update-designs-doc: {e}", file=sys.stderr)
        return 2
    if new == old:
        return 0
    if a.check:
        sys.stdout.writelines(difflib.unified_diff(
            old.splitlines(True), new.splitlines(True), DOC, DOC + " (regenerated)"))
        print(f"update-designs-doc: {DOC} is out of date; regenerate it with\n"
              f"  python3 scripts/update-designs-doc.py {a.pinfuzz}", file=sys.stderr)
        return 1
    write_atomic(path, new)
    print(f"update-designs-doc: rewrote {DOC}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
