#!/usr/bin/env python3
"""Benchmark our `mephisto db` commands against the tools users would otherwise use.

Generates a data dir with mephisto-sample, then for each operation runs ours and each peer
on identical inputs, alternating the order between runs (A B A B), and reports medians:
wall s, CPU s, peak RSS MB, repo/output MB, MB/s, files/s, and our ratio to each peer.
Timing comes from /usr/bin/time of the child process; preparation is never timed.
"""
import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MEPHISTO = ROOT / "build" / "cli" / "mephisto"
SAMPLE = ROOT / "build" / "tools" / "mephisto-sample"

# mephisto-sample flags per dataset size (see `mephisto-sample --help`).
SIZES = {
    "XS": ["--task-runs", "20", "--units-per-run", "30"],
    "S": ["--task-runs", "60", "--units-per-run", "110"],
    "M": ["--task-runs", "200", "--units-per-run", "330", "--media-fraction", "0.02"],
}

OPS = ["backup-initial", "backup-incremental", "backup-nochange", "restore-full", "restore-one-run",
       "export-full", "export-one-task", "import-empty", "import-conflicts"]

PASSWORD_ENV = {"RESTIC_PASSWORD": "bench", "BORG_PASSPHRASE": "", "BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK": "yes",
                "BORG_RELOCATED_REPO_ACCESS_IS_OK": "yes"}


def sh(cmd, cwd=None, env=None, check=True, quiet=True):
    full_env = dict(os.environ, **PASSWORD_ENV, **(env or {}))
    out = subprocess.run(cmd, cwd=cwd, env=full_env, stdout=subprocess.PIPE if quiet else None,
                         stderr=subprocess.PIPE if quiet else None, text=True)
    if check and out.returncode != 0:
        raise RuntimeError(f"command failed ({out.returncode}): {' '.join(map(str, cmd))}\n{out.stdout}\n{out.stderr}")
    return out


def timed(cmd, cwd=None, env=None):
    """Runs cmd under /usr/bin/time; returns (wall s, cpu s, peak rss MB)."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        sh(["/usr/bin/time", "-f", "%e %U %S %M", "-o", tf.name] + [str(c) for c in cmd], cwd=cwd, env=env)
        wall, user, system, rss_kb = tf.read().split()[-4:]
    return float(wall), float(user) + float(system), int(rss_kb) / 1024.0


def instructions(cmd, cwd=None, env=None):
    """Runs cmd under callgrind; returns the instructions it executed in user space. Unlike time,
    the count hardly depends on what else the machine is doing, so two builds compare on a busy
    machine too (the kernel's share of the work is not counted)."""
    out = sh(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"] + [str(c) for c in cmd],
             cwd=cwd, env=env)
    for line in out.stderr.splitlines():
        if "Collected :" in line:
            return int(line.split(":")[-1].strip())
    raise RuntimeError(f"callgrind printed no count for {' '.join(map(str, cmd))}\n{out.stderr}")


def du_mb(path):
    path = Path(path)
    if not path.exists():
        return 0.0
    if path.is_file():
        return path.stat().st_size / 2**20
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink()) / 2**20


def count_files(path):
    return sum(1 for f in Path(path).rglob("*") if f.is_file())


def compare(ours_wall, wall):
    """Our ratio to a peer; /usr/bin/time reports 0.00 s below its 10 ms resolution."""
    if ours_wall <= 0 or wall <= 0:
        return "too fast to compare (under 10 ms)"
    if wall >= ours_wall:
        return f"ours {wall / ours_wall:.1f}x faster"
    return f"ours {ours_wall / wall:.1f}x slower"


def fresh(path):
    path = Path(path)
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def ours(*args, data, store=None, outputs=None):
    cmd = [MEPHISTO, "--data-dir", data, "-y"]
    if store:
        cmd += ["--store", store]
    if outputs:
        cmd += ["--outputs-dir", outputs]
    return cmd + ["db"] + list(args)


class Bench:
    def __init__(self, args):
        self.args = args
        self.work = Path(args.workdir or f"/tmp/mdb-bench-{args.size}")
        self.src = self.work / "src" / "data"
        self.results = {}  # (op, tool) -> list of (wall, cpu, rss, size_mb)

    # ---- dataset -------------------------------------------------------------------------
    def generate(self, out, seed):
        if out.exists():
            shutil.rmtree(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        sh([SAMPLE, "--out", out, "--seed", str(seed)] + SIZES[self.args.size])

    def prepare_dataset(self):
        self.generate(self.src, 1)
        self.data_mb = du_mb(self.src)
        self.data_files = count_files(self.src)
        runs = [p for p in (self.src / "data" / "runs").glob("*/*") if p.is_dir()]
        self.one_run = max(runs, key=lambda p: du_mb(p)).relative_to(self.src)
        self.one_task = self.task_name_of(self.one_run.name)
        print(f"dataset: {self.data_files} files, {self.data_mb:.1f} MB at {self.src}", file=sys.stderr)

    def task_name_of(self, run_id):
        out = sh(["sqlite3", self.src / "database.db",
                  f"SELECT task_name FROM tasks JOIN task_runs USING (task_id) WHERE task_run_id = {int(run_id)}"])
        return out.stdout.strip()

    # ---- measuring -----------------------------------------------------------------------
    def measure(self, op, tools):
        """tools: list of (name, prepare() -> (cmd, cwd, size_path))."""
        tools = self.with_baseline(tools)
        if self.args.tools:
            tools = [t for t in tools if t[0] in self.args.tools.split(",")]
        for r in range(self.args.runs):
            order = tools if r % 2 == 0 else list(reversed(tools))
            for name, prepare in order:
                cmd, cwd, size_path = prepare()
                # The preparation's writes (a copied data dir, a restored store) are flushed
                # first, so their writeback is not charged to whichever tool runs next.
                os.sync()
                if self.args.instructions:
                    count = instructions(cmd, cwd=cwd)
                    self.results.setdefault((op, name), []).append((count,))
                    print(f"  {op:20s} {name:8s} run {r + 1}: {count / 1e6:.1f} M instructions", file=sys.stderr)
                    continue
                wall, cpu, rss = timed(cmd, cwd=cwd)
                size = du_mb(size_path) if size_path else 0.0
                self.results.setdefault((op, name), []).append((wall, cpu, rss, size))
                print(f"  {op:20s} {name:8s} run {r + 1}: {wall:.2f} s", file=sys.stderr)

    def with_baseline(self, tools):
        """With --baseline, another build of ours runs each operation right after ours, with the
        same preparation, so a change is compared with its parent in one run."""
        if not self.args.baseline:
            return tools
        out = []
        for name, prepare in tools:
            out.append((name, prepare))
            if name == "ours":
                def baseline(prepare=prepare):
                    cmd, cwd, size_path = prepare()
                    return [Path(self.args.baseline).resolve()] + list(cmd[1:]), cwd, size_path
                out.append(("baseline", baseline))
        return out

    def backup_tools(self, source, tag):
        """Prepare functions for a first backup of `source` by each tool into fresh repos."""
        w = self.work / "repos"

        def mine():
            store = w / f"ours-{tag}"
            if store.exists():
                shutil.rmtree(store)
            return ours("backup", data=source, store=store), None, store

        def restic():
            repo = w / f"restic-{tag}"
            if repo.exists():
                shutil.rmtree(repo)
            sh(["restic", "-q", "init", "--repo", repo, "--repository-version", "2"])
            return ["restic", "-q", "--repo", repo, "backup", "."], source, repo

        def borg():
            repo = w / f"borg-{tag}"
            if repo.exists():
                shutil.rmtree(repo)
            w.mkdir(parents=True, exist_ok=True)
            sh(["borg", "init", "-e", "none", repo])
            return ["borg", "create", "--compression", "zstd,3", f"{repo}::a", "."], source, repo

        def zipper():
            out = w / f"zip-{tag}.zip"
            out.unlink(missing_ok=True)
            w.mkdir(parents=True, exist_ok=True)
            return ["zip", "-r", "-q", out, "."], source, out

        return [("ours", mine), ("restic", restic), ("borg", borg), ("zip", zipper)]

    def op_backup_initial(self):
        tools = self.backup_tools(self.src, "initial")
        dest = self.work / "floor-cp"

        def cp():
            if dest.exists():
                shutil.rmtree(dest)
            return ["cp", "-a", self.src, dest], None, dest

        tools += [("cp -a", cp), ("tar", lambda: (["sh", "-c", f"tar cf - -C '{self.src}' . | cat > /dev/null"], None, None))]
        self.measure("backup-initial", tools)

    def second_backup_tools(self, mutate):
        """Backups of a dir that already has one backup in the same repo; with `mutate`, one
        simulated day of work happens in between."""
        base = self.work / "incr-src" / "data"
        repos = self.work / "repos"

        def setup():
            if base.exists():
                shutil.rmtree(base)
            base.parent.mkdir(parents=True, exist_ok=True)
            sh(["cp", "-a", self.src, base])

        def after_first():
            if mutate:
                sh([SAMPLE, "--mutate", base, "--seed", "7"])

        def mine():
            setup()
            store = repos / "ours-incr"
            if store.exists():
                shutil.rmtree(store)
            sh(ours("backup", data=base, store=store))
            after_first()
            return ours("backup", data=base, store=store), None, store

        def restic():
            setup()
            repo = repos / "restic-incr"
            if repo.exists():
                shutil.rmtree(repo)
            sh(["restic", "-q", "init", "--repo", repo, "--repository-version", "2"])
            sh(["restic", "-q", "--repo", repo, "backup", "."], cwd=base)
            after_first()
            return ["restic", "-q", "--repo", repo, "backup", "."], base, repo

        def borg():
            setup()
            repo = repos / "borg-incr"
            if repo.exists():
                shutil.rmtree(repo)
            sh(["borg", "init", "-e", "none", repo])
            sh(["borg", "create", "--compression", "zstd,3", f"{repo}::a", "."], cwd=base)
            after_first()
            return ["borg", "create", "--compression", "zstd,3", f"{repo}::b", "."], base, repo

        def zipper():  # the original zips everything again
            setup()
            after_first()
            out = repos / "zip-incr.zip"
            out.unlink(missing_ok=True)
            return ["zip", "-r", "-q", out, "."], base, out

        return [("ours", mine), ("restic", restic), ("borg", borg), ("zip", zipper)]

    def op_backup_incremental(self):
        self.measure("backup-incremental", self.second_backup_tools(mutate=True))

    def op_backup_nochange(self):
        self.measure("backup-nochange", self.second_backup_tools(mutate=False))

    def restore_sources(self):
        """One backup per tool of the source, made once (untimed)."""
        if hasattr(self, "_restore_src"):
            return self._restore_src
        repos = self.work / "restore-repos"
        fresh(repos)
        store = repos / "ours"
        out = sh(ours("--json", "backup", data=self.src, store=store)).stdout
        import json
        snapshot = json.loads(out).get("snapshot")
        sh(["restic", "-q", "init", "--repo", repos / "restic", "--repository-version", "2"])
        sh(["restic", "-q", "--repo", repos / "restic", "backup", "."], cwd=self.src)
        sh(["borg", "init", "-e", "none", repos / "borg"])
        sh(["borg", "create", "--compression", "zstd,3", f"{repos / 'borg'}::a", "."], cwd=self.src)
        sh(["zip", "-r", "-q", repos / "backup.zip", "."], cwd=self.src)
        self._restore_src = (store, snapshot, repos)
        return self._restore_src

    def restore_tools(self, only=None):
        store, snapshot, repos = self.restore_sources()
        target = self.work / "restore-target"

        def mine():
            fresh(target)
            extra = ["--only", str(only)] if only else []
            return ours("restore", "-f", snapshot, *extra, data=target, store=store), None, target

        def restic():
            fresh(target)
            extra = ["--include", "/" + str(only)] if only else []
            return ["restic", "-q", "--repo", repos / "restic", "restore", "latest", "--target", target] + extra, None, target

        def borg():
            fresh(target)
            return ["borg", "extract", f"{repos / 'borg'}::a"] + ([str(only)] if only else []), target, target

        def unzipper():
            fresh(target)
            return ["unzip", "-q", repos / "backup.zip"] + ([f"{only}/*"] if only else []) + ["-d", target], None, target

        def cp():
            if target.exists():
                shutil.rmtree(target)
            target.parent.mkdir(parents=True, exist_ok=True)
            src = self.src / only if only else self.src
            if only:
                (target / only).parent.mkdir(parents=True, exist_ok=True)
                return ["cp", "-a", src, target / only], None, target
            return ["cp", "-a", src, target], None, target

        return [("ours", mine), ("restic", restic), ("borg", borg), ("unzip", unzipper), ("cp -a", cp)]

    def op_restore_full(self):
        self.measure("restore-full", self.restore_tools())

    def op_restore_one_run(self):
        self.measure("restore-one-run", self.restore_tools(only=self.one_run))

    def export_tools(self, task=None):
        outputs = self.work / "export-out"

        def mine():
            fresh(outputs)
            extra = ["-tn", task] if task else []
            return ours("export", *extra, data=self.src, outputs=outputs), None, outputs

        runs = self.src / "data" / "runs"
        paths = ["."] if not task else [str(p.relative_to(runs)) for p in runs.glob(f"*/{self.one_run.name}")]

        def zipper():  # what the original's export does for the files
            fresh(outputs)
            return ["zip", "-r", "-q", outputs / "files.zip"] + paths, runs, outputs

        return [("ours", mine), ("zip", zipper)]

    def op_export_full(self):
        self.measure("export-full", self.export_tools())

    def op_export_one_task(self):
        self.measure("export-one-task", self.export_tools(task=self.one_task))

    def dump(self):
        if not hasattr(self, "_dump"):
            outputs = fresh(self.work / "dump-out")
            sh(ours("export", data=self.src, outputs=outputs))
            self._dump = next((outputs / "export").glob("*.zip"))
        return self._dump

    def import_tools(self, conflicts):
        dump = self.dump()
        target = self.work / "import-target" / "data"
        store = self.work / "import-store"
        conflict_src = self.work / "conflict-src" / "data"
        if conflicts and not conflict_src.exists():
            self.generate(conflict_src, 2)

        def mine():
            if target.parent.exists():
                shutil.rmtree(target.parent)
            if conflicts:
                target.parent.mkdir(parents=True)
                sh(["cp", "-a", conflict_src, target])
            else:
                target.mkdir(parents=True)
            if store.exists():
                shutil.rmtree(store)
            return ours("import", "-f", dump, data=target, store=store), None, target

        def unzipper():
            if target.parent.exists():
                shutil.rmtree(target.parent)
            target.mkdir(parents=True)
            return ["unzip", "-q", dump, "-d", target], None, target

        return [("ours", mine), ("unzip", unzipper)]

    def op_import_empty(self):
        self.measure("import-empty", self.import_tools(conflicts=False))

    def op_import_conflicts(self):
        self.measure("import-conflicts", self.import_tools(conflicts=True))

    # ---- report --------------------------------------------------------------------------
    def instruction_report(self):
        lines = [f"Dataset {self.args.size}: {self.data_files} files, {self.data_mb:.1f} MB "
                 f"(mephisto-sample {' '.join(SIZES[self.args.size])}); user-space instructions counted by "
                 f"callgrind, medians of {self.args.runs} run(s).", "",
                 "| operation | tool | instructions (M) | ours vs this |", "|---|---|---:|---|"]
        for op in OPS:
            tools = [t for (o, t) in self.results if o == op]
            med = {t: statistics.median(r[0] for r in self.results[(op, t)]) for t in tools}
            for t in tools:
                ratio = "" if t == "ours" or "ours" not in med else f"ours / this = {med['ours'] / med[t]:.3f}"
                lines.append(f"| {op} | {t} | {med[t] / 1e6:.1f} | {ratio} |")
        return "\n".join(lines + ["", self.machine()])

    def report(self):
        if self.args.instructions:
            return self.instruction_report()
        lines = []
        lines.append(f"Dataset {self.args.size}: {self.data_files} files, {self.data_mb:.1f} MB "
                     f"(mephisto-sample {' '.join(SIZES[self.args.size])}); medians of {self.args.runs} run(s).")
        lines.append("")
        lines.append("| operation | tool | wall s | CPU s | peak RSS MB | repo/output MB | MB/s | files/s | ours vs this |")
        lines.append("|---|---|---:|---:|---:|---:|---:|---:|---|")
        for op in OPS:
            tools = [t for (o, t) in self.results if o == op]
            if not tools:
                continue
            med = {t: self.medians(op, t) for t in tools}
            ours_wall = med["ours"][0] if "ours" in med else None
            for t in tools:
                wall, cpu, rss, size = med[t]
                mbps = self.data_mb / wall if wall > 0 else float("inf")
                fps = self.data_files / wall if wall > 0 else float("inf")
                ratio = "" if t == "ours" or ours_wall is None else compare(ours_wall, wall)
                lines.append(f"| {op} | {t} | {wall:.2f} | {cpu:.2f} | {rss:.0f} | {size:.1f} | {mbps:.0f} | "
                             f"{fps:.0f} | {ratio} |")
        lines.append("")
        lines.append("MB/s and files/s are the dataset's size and file count divided by wall time "
                     "(for one-run/one-task operations they only compare tools with each other).")
        lines.append("")
        lines.append(self.machine())
        return "\n".join(lines)

    def medians(self, op, tool):
        rows = self.results[(op, tool)]
        return (statistics.median(r[0] for r in rows), statistics.median(r[1] for r in rows),
                max(r[2] for r in rows), statistics.median(r[3] for r in rows))

    @staticmethod
    def zip_version():
        out = subprocess.run(["zip", "-v"], capture_output=True, text=True).stdout.splitlines()
        line = next((l for l in out if l.startswith("This is Zip")), "zip ?")
        return line.split(" by ")[0].replace("This is ", "").rstrip(",")

    def machine(self):
        def first_line(cmd):
            try:
                return subprocess.run(cmd, capture_output=True, text=True).stdout.splitlines()[0]
            except Exception:
                return "?"
        cpu = "?"
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
        return (f"Machine: {os.cpu_count()} cores ({cpu}), {int(mem) // 1024 // 1024} GiB RAM, "
                f"{platform.system()} {platform.release()}. Versions: {first_line(['restic', 'version'])}; "
                f"{first_line(['borg', '--version'])}; {self.zip_version()}; "
                f"{first_line(['g++', '--version'])}.")

    def run(self):
        self.work.mkdir(parents=True, exist_ok=True)
        self.prepare_dataset()
        ops = self.args.only.split(",") if self.args.only else OPS
        for op in ops:
            if op not in OPS:
                sys.exit(f"unknown operation {op!r}; known: {', '.join(OPS)}")
            getattr(self, "op_" + op.replace("-", "_"))()
        text = self.report()
        print(text)
        if self.args.out:
            Path(self.args.out).write_text(text + "\n")
        if not self.args.keep:
            shutil.rmtree(self.work, ignore_errors=True)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", default="S", choices=sorted(SIZES))
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--only", help="comma-separated operations: " + ", ".join(OPS))
    p.add_argument("--out", help="also write the markdown table to this file")
    p.add_argument("--workdir", help="scratch directory (default /tmp/mdb-bench-SIZE)")
    p.add_argument("--keep", action="store_true", help="keep the scratch directory")
    p.add_argument("--ours", help="the mephisto binary to measure as ours (default build/cli/mephisto); a copy "
                   "keeps the run steady while the build tree is rebuilt")
    p.add_argument("--baseline", help="another mephisto binary (e.g. the parent commit's build) to run beside ours")
    p.add_argument("--tools", help="comma-separated tools to run (default all), e.g. ours,baseline")
    p.add_argument("--instructions", action="store_true",
                   help="count user-space instructions with callgrind instead of timing (compares builds on a busy machine)")
    args = p.parse_args()
    if args.ours:
        global MEPHISTO
        MEPHISTO = Path(args.ours).resolve()
    Bench(args).run()


if __name__ == "__main__":
    main()
