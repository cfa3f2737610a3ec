#!/usr/bin/env python3
"""Benchmark our `mephisto db` commands against the tools users would otherwise use.

Generates a data dir with mephisto-sample, then for each operation runs ours and each peer
on identical inputs, alternating the order between runs (A B A B), and reports medians:
wall s, CPU s, peak RSS MB, repo/output MB, MB/s, files/s, and our ratio to each peer.
Timing comes from /usr/bin/time of the child process; preparation is never timed.
"""
import argparse
import os
import shutil
import sys
from pathlib import Path

import bench_common
import bench_report
from bench_common import (OPS, SAMPLE, SIZES, count_files, discard, du_mb, fresh, instructions, ours, sh,
                          timed)



class Bench:
    def __init__(self, args):
        self.args = args
        self.work = Path(args.workdir or f"/tmp/mdb-bench-{args.size}")
        self.src = self.work / "src" / "data"
        self.results = {}  # (op, tool) -> list of (wall, cpu, rss, size_mb)
        # Caches in the scratch dir, removed with it: an encrypted store keeps its index there
        # (docs/SECURITY.md), restic its own; both warm, as after a backup on the same host.
        os.environ["XDG_CACHE_HOME"] = str(self.work / "cache")
        bench_common.trash_dir = self.work / "trash"

    # ---- dataset -------------------------------------------------------------------------
    def generate(self, out, seed):
        if out.exists():
            discard(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        sh([SAMPLE, "--out", out, "--seed", str(seed)] + SIZES[self.args.size])

    def prepare_dataset(self):
        self.generate(self.src, 1)
        self.data_mb = du_mb(self.src)
        self.data_files = count_files(self.src)
        # Room for the trees a few operations discard (each tool's copy, restored tree, repository),
        # but never more than half of what was free: a small disk still runs the small sizes.
        free = shutil.disk_usage(self.work).free
        bench_common.trash_min_free = min(free // 2, max(16 * 2**30, 24 * self.data_mb * 2**20))
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
        tools = self.with_encrypted(op, self.with_baseline(tools))
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

    def with_encrypted(self, op, tools):
        """With --encrypted, ours also runs backup-initial and restore-full on an encrypted store
        (--encrypt, MEPHISTO_PASSWORD): the same command with the store (and snapshot) swapped.
        backup-incremental's encrypted tool is second_backup_tools' own (its first backup differs)."""
        if not self.args.encrypted or op not in ("backup-initial", "restore-full"):
            return tools
        out = []
        for name, prepare in tools:
            out.append((name, prepare))
            if name != "ours":
                continue

            def encrypted(prepare=prepare):
                cmd, cwd, size_path = prepare()
                store = Path(cmd[cmd.index("--store") + 1])
                enc = store.parent / (store.name + "-enc")
                if op == "backup-initial" and enc.exists():
                    discard(enc)
                swap = {str(store): str(enc), **getattr(self, "_enc_snapshot", {})}
                cmd = [cmd[0], "--encrypt"] + [swap.get(str(c), c) for c in cmd[1:]]
                return cmd, cwd, enc if size_path == store else size_path
            out.append(("encrypted", encrypted))
        return out

    def with_baseline(self, tools):
        """With --baseline, another build of ours runs each operation right after ours, so a change
        is compared with its parent in one run. Each build prepares for itself (the first backup
        before an incremental, ...): a store one build wrote may be one the other reads otherwise
        (a build ignores file cache records of a newer layout and reads every file again)."""
        if not self.args.baseline:
            return tools
        out = []
        for name, prepare in tools:
            out.append((name, prepare))
            if name == "ours":
                def baseline(prepare=prepare):
                    mine = bench_common.MEPHISTO
                    bench_common.MEPHISTO = Path(self.args.baseline).resolve()
                    try:
                        return prepare()
                    finally:
                        bench_common.MEPHISTO = mine
                out.append(("baseline", baseline))
        return out

    def backup_tools(self, source, tag):
        """Prepare functions for a first backup of `source` by each tool into fresh repos."""
        w = self.work / "repos"

        def mine():
            store = w / f"ours-{tag}"
            if store.exists():
                discard(store)
            return ours("backup", data=source, store=store), None, store

        def restic():
            repo = w / f"restic-{tag}"
            if repo.exists():
                discard(repo)
            sh(["restic", "-q", "init", "--repo", repo, "--repository-version", "2"])
            return ["restic", "-q", "--repo", repo, "backup", "."], source, repo

        def borg():
            repo = w / f"borg-{tag}"
            if repo.exists():
                discard(repo)
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
                discard(dest)
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
                discard(base)
            base.parent.mkdir(parents=True, exist_ok=True)
            sh(["cp", "-a", self.src, base])

        def after_first():
            if mutate:
                sh([SAMPLE, "--mutate", base, "--seed", "7"])

        def mine(encrypt=False):
            setup()
            store = repos / ("ours-incr-enc" if encrypt else "ours-incr")
            if store.exists():
                discard(store)
            sh(ours(*(["--encrypt"] if encrypt else []), "backup", data=base, store=store))
            after_first()
            return ours("backup", data=base, store=store), None, store

        def restic():
            setup()
            repo = repos / "restic-incr"
            if repo.exists():
                discard(repo)
            sh(["restic", "-q", "init", "--repo", repo, "--repository-version", "2"])
            sh(["restic", "-q", "--repo", repo, "backup", "."], cwd=base)
            after_first()
            return ["restic", "-q", "--repo", repo, "backup", "."], base, repo

        def borg():
            setup()
            repo = repos / "borg-incr"
            if repo.exists():
                discard(repo)
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

        tools = [("ours", mine), ("restic", restic), ("borg", borg), ("zip", zipper)]
        if self.args.encrypted and mutate:  # the encrypted store needs its own first backup
            tools.insert(1, ("encrypted", lambda: mine(encrypt=True)))
        return tools

    def op_backup_incremental(self):
        self.measure("backup-incremental", self.second_backup_tools(mutate=True))

    def op_diff_day(self):
        """`diff` of the backups before and after one simulated day (made once, untimed), against
        restic's `diff` of the same two snapshots."""
        import json
        base = self.work / "diff-src" / "data"
        repos = self.work / "diff-repos"
        fresh(repos)
        if base.exists():
            discard(base)
        base.parent.mkdir(parents=True, exist_ok=True)
        sh(["cp", "-a", self.src, base])
        store, restic = repos / "ours", repos / "restic"
        sh(["restic", "-q", "init", "--repo", restic, "--repository-version", "2"])
        names = []
        for day in (0, 1):
            if day:
                sh([SAMPLE, "--mutate", base, "--seed", "7"])
            names.append(json.loads(sh(ours("--json", "backup", data=base, store=store)).stdout)["snapshot"])
            sh(["restic", "-q", "--repo", restic, "backup", "."], cwd=base)
        ids = sh(["restic", "--repo", restic, "snapshots", "--json"]).stdout
        restic_ids = [s["short_id"] for s in json.loads(ids)]
        self.measure("diff-day", [
            ("ours", lambda: (ours("diff", names[0], names[1], data=base, store=store), None, None)),
            ("restic", lambda: (["restic", "-q", "--repo", restic, "diff", restic_ids[0], restic_ids[1]], None, None)),
        ])

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
        if self.args.encrypted:
            out = sh(ours("--json", "--encrypt", "backup", data=self.src, store=repos / "ours-enc")).stdout
            self._enc_snapshot = {snapshot: json.loads(out).get("snapshot")}
        sh(["restic", "-q", "init", "--repo", repos / "restic", "--repository-version", "2"])
        sh(["restic", "-q", "--repo", repos / "restic", "backup", "."], cwd=self.src)
        sh(["borg", "init", "-e", "none", repos / "borg"])
        sh(["borg", "create", "--compression", "zstd,3", f"{repos / 'borg'}::a", "."], cwd=self.src)
        sh(["zip", "-r", "-q", repos / "backup.zip", "."], cwd=self.src)
        self._restore_src = (store, snapshot, repos)
        return self._restore_src

    def restore_tools(self, only=None):
        store, snapshot, repos = self.restore_sources()
        # A new target for every restore, set aside after the operation (discard): creating files
        # where thousands were just deleted costs ext4 a scan past the recently deleted inodes.
        targets = self.work / "restore-targets"
        targets.mkdir(parents=True, exist_ok=True)

        def new_target():
            return targets / str(sum(1 for _ in targets.iterdir()))

        def mine():
            target = fresh(new_target())
            extra = ["--only", str(only)] if only else []
            return ours("restore", "-f", snapshot, *extra, data=target, store=store), None, target

        def restic():
            target = fresh(new_target())
            extra = ["--include", "/" + str(only)] if only else []
            return ["restic", "-q", "--repo", repos / "restic", "restore", "latest", "--target", target] + extra, None, target

        def borg():
            target = fresh(new_target())
            return ["borg", "extract", f"{repos / 'borg'}::a"] + ([str(only)] if only else []), target, target

        def unzipper():
            target = fresh(new_target())
            return ["unzip", "-q", repos / "backup.zip"] + ([f"{only}/*"] if only else []) + ["-d", target], None, target

        def cp():
            target = new_target()
            src = self.src / only if only else self.src
            if only:
                (target / only).parent.mkdir(parents=True, exist_ok=True)
                return ["cp", "-a", src, target / only], None, target
            return ["cp", "-a", src, target], None, target

        return [("ours", mine), ("restic", restic), ("borg", borg), ("unzip", unzipper), ("cp -a", cp)]

    def op_restore_full(self):
        self.measure("restore-full", self.restore_tools())
        discard(self.work / "restore-targets")

    def op_restore_one_run(self):
        self.measure("restore-one-run", self.restore_tools(only=self.one_run))
        discard(self.work / "restore-targets")

    def export_tools(self, task=None):
        outputs = self.work / "export-out"

        def mine():
            fresh(outputs)
            extra = ["-tn", task] if task else []
            return ours("export", *extra, data=self.src, outputs=outputs), None, outputs

        runs = self.src / "data" / "runs"
        paths = ["."] if not task else [str(p.relative_to(runs)) for p in runs.glob(f"*/{self.one_run.name}")]

        def zipper(level):  # what the original's export does for the files; -1: the floor of issue 16
            def run():
                fresh(outputs)
                return ["zip", "-r", "-q", *level, outputs / "files.zip"] + paths, runs, outputs
            return run

        return [("ours", mine), ("zip", zipper([])), ("zip -1", zipper(["-1"]))]

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

    def import_tools(self, conflicts, warm=False):
        """Import of the full dump into an empty dir, or (conflicts) into a seeded one made by another
        seed. The import snapshots the dir first: into a new store, or (warm) into a store that
        already holds a backup of the seeded dir, as after a daily backup (untimed)."""
        dump = self.dump()
        target = self.work / "import-target" / "data"
        store = self.work / "import-store"
        conflict_src = self.work / "conflict-src" / "data"
        if conflicts and not conflict_src.exists():
            self.generate(conflict_src, 2)

        def mine():
            if target.parent.exists():
                discard(target.parent)
            if conflicts:
                target.parent.mkdir(parents=True)
                sh(["cp", "-a", conflict_src, target])
            else:
                target.mkdir(parents=True)
            if store.exists():
                discard(store)
            if warm:
                sh(ours("backup", data=target, store=store))
            return ours("import", "-f", dump, data=target, store=store), None, target

        def unzipper():
            if target.parent.exists():
                discard(target.parent)
            target.mkdir(parents=True)
            return ["unzip", "-q", dump, "-d", target], None, target

        return [("ours", mine), ("unzip", unzipper)]

    def op_import_empty(self):
        self.measure("import-empty", self.import_tools(conflicts=False))

    def op_import_conflicts(self):
        self.measure("import-conflicts", self.import_tools(conflicts=True))

    def op_import_conflicts_warm(self):
        self.measure("import-conflicts-warm", self.import_tools(conflicts=True, warm=True))

    # ---- report (tools/bench_report.py) ------------------------------------------------
    def report(self):
        return bench_report.report(self)

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
        shutil.rmtree(self.work / "trash", ignore_errors=True)
        if not self.args.keep:
            shutil.rmtree(self.work, ignore_errors=True)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", default="S", help="dataset size: " + ", ".join(SIZES) + " (--memory: several, "
                   "comma-separated)")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--only", help="comma-separated operations: " + ", ".join(OPS))
    p.add_argument("--out", help="also write the markdown table to this file")
    p.add_argument("--workdir", help="scratch directory (default /tmp/mdb-bench-SIZE)")
    p.add_argument("--keep", action="store_true", help="keep the scratch directory")
    p.add_argument("--ours", help="the mephisto binary to measure as ours (default build/cli/mephisto); a copy "
                   "keeps the run steady while the build tree is rebuilt")
    p.add_argument("--baseline", help="another mephisto binary (e.g. the parent commit's build) to run beside ours")
    p.add_argument("--tools", help="comma-separated tools to run (default all), e.g. ours,baseline")
    p.add_argument("--encrypted", action="store_true",
                   help="also run ours on an encrypted store (backup-initial, backup-incremental, restore-full): "
                        "the tool 'encrypted'")
    p.add_argument("--instructions", action="store_true",
                   help="count user-space instructions with callgrind instead of timing (compares builds on a busy machine)")
    p.add_argument("--memory", action="store_true", help="peak RSS of every command of ours at each size, one run, "
                   "no timing (tools/bench_memory.py)")
    p.add_argument("--backend", choices=["local", "s3"], default="local",
                   help="s3: backups and restores on a throw-away radosgw against restic's S3 backend "
                   "(tools/bench_s3.py)")
    p.add_argument("--data", help="with --memory: measure this data dir (it gets one simulated day of work)")
    args = p.parse_args()
    if args.ours:
        bench_common.MEPHISTO = Path(args.ours).resolve()
    if args.backend == "s3":
        import bench_s3
        return bench_s3.run(args)
    if args.memory:
        import bench_memory
        return bench_memory.run(args)
    if args.size not in SIZES:
        sys.exit(f"unknown size {args.size!r}; known: {', '.join(SIZES)}")
    Bench(args).run()


if __name__ == "__main__":
    main()
