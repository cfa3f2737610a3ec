"""Memory table mode of tools/bench.py (`--memory`): the peak RSS of every command of ours at one or
more sizes, one run each, no timing and no peers (RSS does not depend on what else the machine does;
wall time does). Writes one markdown table with a column per size.

Every command runs on the data of the size in one scratch dir, in an order where each finds what it
needs: backup, a second backup with no change, snapshots, ls, find, verify (plain and --read-data),
export (full and one task), verify -f of the dump, restore (full and one run), import into an empty
dir, into the restored copy (every row and file a conflict or a merge) and into a data dir of another seed
with a new store (its pre-import snapshot a full backup; generated data only), one simulated day of work
and the incremental backup, diff of the two backups and of the last one with the data dir, stats,
copy of every snapshot to a new store, then prune.
"""
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import bench_common as b

LIMIT_MIB = 64

# (name, what it measures) in the order they run.
COMMANDS = [
    ("backup-initial", "first backup into an empty store"),
    ("backup-nochange", "second backup, nothing changed"),
    ("snapshots", "list the snapshots"),
    ("ls", "list every entry of the backup"),
    ("find", "find 'data/runs/**/agent_data.json'"),
    ("verify", "verify the store"),
    ("verify-read-data", "verify --read-data"),
    ("export-full", "export everything"),
    ("export-one-task", "export -tn of the largest run's task"),
    ("verify-dump", "verify -f of the full dump"),
    ("restore-full", "restore the backup into an empty dir"),
    ("restore-one-run", "restore --only the largest run"),
    ("import-empty", "import the full dump into an empty dir"),
    ("import-conflicts", "import the full dump into the restored copy of its source"),
    ("import-new-store", "import the full dump into a data dir of another seed, into a new store (the pre-import "
                         "snapshot is a full backup)"),
    ("backup-incremental", "backup after one simulated day of work"),
    ("diff-day", "diff of the backups before and after the day"),
    ("diff-now", "diff of the last backup with the data dir"),
    ("stats", "stats of the store"),
    ("copy", "copy --to a new local store, every snapshot"),
    ("prune", "prune --keep-last 1 --keep-auto 0"),
]


def peak_rss_mib(cmd, env_extra=None):
    """Runs cmd under /usr/bin/time; returns its peak RSS in MiB (KB / 1024), or raises."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        out = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", tf.name] + [str(c) for c in cmd],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if out.returncode != 0:
            raise RuntimeError(f"command failed ({out.returncode}): {' '.join(map(str, cmd))}\n{out.stderr[-2000:]}")
        return int(tf.read().split()[-1]) / 1024.0, out.stdout


class MemoryRun:
    """One size: generates (or reuses) the data and measures every command once."""

    def __init__(self, size, work, data=None):
        self.size = size
        self.work = Path(work)
        self.src = Path(data) if data else self.work / "src" / "data"
        self.generated = data is None
        self.rss = {}

    def run_one(self, name, cmd):
        rss, out = peak_rss_mib(cmd)
        self.rss[name] = rss
        print(f"  {self.size:4s} {name:20s} {rss:7.1f} MiB", file=sys.stderr)
        return out

    def prepare(self):
        if self.generated:
            if self.src.exists():
                shutil.rmtree(self.src)
            self.src.parent.mkdir(parents=True, exist_ok=True)
            b.sh([b.SAMPLE, "--out", self.src, "--seed", "1"] + b.SIZES[self.size])
        self.files = b.count_files(self.src)
        self.mb = b.du_mb(self.src)
        runs = [p for p in (self.src / "data" / "runs").glob("*/*") if p.is_dir()]
        self.one_run = max(runs, key=lambda p: b.count_files(p)).relative_to(self.src)
        out = b.sh(["sqlite3", self.src / "database.db", "SELECT task_name FROM tasks JOIN task_runs "
                         f"USING (task_id) WHERE task_run_id = {int(self.one_run.name)}"])
        self.one_task = out.stdout.strip()

    def measure(self):
        ours, fresh = b.ours, b.fresh
        store = self.work / "store"
        if store.exists():
            shutil.rmtree(store)
        outputs = self.work / "outputs"
        data = dict(data=self.src, store=store)
        out = self.run_one("backup-initial", ours("--json", "backup", **data))
        snapshot = json.loads(out)["snapshot"]
        self.run_one("backup-nochange", ours("backup", **data))
        self.run_one("snapshots", ours("snapshots", **data))
        self.run_one("ls", ours("ls", snapshot, **data))
        self.run_one("find", ours("find", "data/runs/**/agent_data.json", **data))
        self.run_one("verify", ours("verify", **data))
        self.run_one("verify-read-data", ours("verify", "--read-data", **data))
        fresh(outputs)
        self.run_one("export-full", ours("export", **data, outputs=outputs))
        dump = next((outputs / "export").glob("*.zip"))
        one = fresh(self.work / "outputs-one")
        self.run_one("export-one-task", ours("export", "-tn", self.one_task, **data, outputs=one))
        shutil.rmtree(one)
        self.run_one("verify-dump", ours("verify", "-f", dump, **data, outputs=outputs))
        restored = fresh(self.work / "restored")
        self.run_one("restore-full", ours("restore", "-f", snapshot, data=restored, store=store))
        partial = fresh(self.work / "partial")
        self.run_one("restore-one-run", ours("restore", "-f", snapshot, "--only", self.one_run, data=partial,
                                             store=store))
        shutil.rmtree(partial)
        imported = fresh(self.work / "imported")
        self.run_one("import-empty", ours("import", "-f", dump, data=imported, store=store))
        shutil.rmtree(imported)
        self.run_one("import-conflicts", ours("import", "-f", dump, data=restored, store=store))
        shutil.rmtree(restored)
        if self.generated:
            other = self.work / "other" / "data"
            b.sh([b.SAMPLE, "--out", other, "--seed", "2"] + b.SIZES[self.size])
            self.run_one("import-new-store", ours("import", "-f", dump, data=other, store=self.work / "other-store"))
            shutil.rmtree(other.parent)
            shutil.rmtree(self.work / "other-store")
        shutil.rmtree(outputs)
        b.sh([b.SAMPLE, "--mutate", self.src, "--seed", "7"])
        out = self.run_one("backup-incremental", ours("--json", "backup", **data))
        after = json.loads(out)["snapshot"]
        self.run_one("diff-day", ours("diff", snapshot, after, **data))
        self.run_one("diff-now", ours("diff", after, "now", **data))
        self.run_one("stats", ours("stats", **data))
        copied = self.work / "copied-store"
        if copied.exists():
            shutil.rmtree(copied)
        self.run_one("copy", ours("copy", "--to", copied, **data))
        shutil.rmtree(copied)
        self.run_one("prune", ours("prune", "--keep-last", "1", "--keep-auto", "0", **data))


def table(runs):
    sizes = [r for r in runs]
    lines = ["| command | what | " + " | ".join(f"{r.size} ({r.files} files, {r.mb / 1024:.1f} GB)"
                                                 for r in sizes) + " |",
             "|---|---|" + "---:|" * len(sizes)]
    for name, what in COMMANDS:
        cells = []
        for r in sizes:
            v = r.rss.get(name)
            cells.append("" if v is None else (f"**{v:.1f}**" if v > LIMIT_MIB else f"{v:.1f}"))
        lines.append(f"| {name} | {what} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(f"Peak RSS in MiB (`/usr/bin/time -f %M` KB / 1024), one run each; bold: over {LIMIT_MIB} MiB.")
    return "\n".join(lines)


def run(args):
    sizes = args.size.split(",")
    for s in sizes:
        if s not in b.SIZES:
            sys.exit(f"unknown size {s!r}; known: {', '.join(sorted(b.SIZES))}")
    if args.data and len(sizes) != 1:
        sys.exit("--data takes one size")
    base = Path(args.workdir or "/tmp/mdb-bench-memory")
    runs = []
    for s in sizes:
        r = MemoryRun(s, base / s, args.data)
        r.work.mkdir(parents=True, exist_ok=True)
        r.prepare()
        print(f"{s}: {r.files} files, {r.mb:.1f} MB at {r.src}", file=sys.stderr)
        r.measure()
        runs.append(r)
        if not args.keep:
            shutil.rmtree(r.work, ignore_errors=True)
    text = table(runs)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
