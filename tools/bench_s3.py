"""tools/bench.py --backend s3 (issue 14): our store in a bucket of a throw-away radosgw
(tools/ceph-server, started and stopped here) against restic's S3 backend on the same server, with
our local store in the same run as the reference.

Rows: `ours local` (a store directory), `ours s3` (s3://BUCKET, encrypted: the default on S3, and
restic always encrypts), `ours s3 plain` (the same with --no-encryption), `restic s3`
(`-r s3:http://127.0.0.1:PORT/BUCKET`). Every run of every tool gets a fresh bucket and fresh cache
dirs (ours: XDG_CACHE_HOME; restic: RESTIC_CACHE_DIR), removed after it. restore-full runs cold (the
cache dir deleted first, as on a new host) and warm (the cache the backup or the last restore left).
Preparation (first backups, the simulated day) is never timed.
"""
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
from pathlib import Path

import bench_report
from bench_common import ROOT, SAMPLE, SIZES, compare, count_files, du_mb, fresh, ours, sh, timed

OPS = ["backup-initial", "backup-incremental", "backup-nochange", "restore-full"]
TOOLS = ["ours local", "ours s3", "ours s3 plain", "restic s3"]


class Server:
    """tools/ceph-server in DIR; stopped on exit, also on Ctrl-C, SIGTERM and failures."""

    def __init__(self, work):
        self.dir = work / "ceph"
        self.conf = self.dir / "ceph.conf"

    def __enter__(self):
        if self.dir.exists():
            subprocess.run([ROOT / "tools" / "ceph-server", "stop", self.dir])
        out = sh([ROOT / "tools" / "ceph-server", "start", self.dir])
        self.vars = dict(line.split("=", 1) for line in out.stdout.split())
        self.endpoint = self.vars["AWS_ENDPOINT_URL"]
        return self

    def __exit__(self, *exc):
        subprocess.run([ROOT / "tools" / "ceph-server", "stop", self.dir])

    def admin(self, *args):
        return subprocess.run(["radosgw-admin", "-c", self.conf, *args], capture_output=True, text=True)

    def remove_bucket(self, bucket):
        self.admin("bucket", "rm", "--bucket", bucket, "--purge-objects")
        # A deleted object's data stays in the memstore OSD (2 GiB) until RGW's garbage collection
        # runs: without this, a bench of two runs at S filled it and the next request hung.
        self.admin("gc", "process", "--include-all")

    def bucket_mb(self, bucket):
        out = self.admin("bucket", "stats", "--bucket", bucket)
        try:
            return json.loads(out.stdout)["usage"]["rgw.main"]["size"] / 2**20
        except (ValueError, KeyError):
            return 0.0


class S3Bench:
    def __init__(self, args, server):
        self.args, self.server = args, server
        self.work = Path(args.workdir or f"/tmp/mdb-bench-s3-{args.size}")
        self.src = self.work / "src" / "data"
        self.results = {}  # (op, tool) -> list of (wall, cpu, rss, size_mb)
        self.buckets = 0

    # ---- environments ------------------------------------------------------------------
    def bucket(self, tag):
        self.buckets += 1
        return f"bench-{self.buckets}-{tag.replace(' ', '-')}"[:63]

    def ours_env(self, bucket):
        v = self.server.vars
        return {"AWS_ENDPOINT_URL": v["AWS_ENDPOINT_URL"], "AWS_ACCESS_KEY_ID": v["AWS_ACCESS_KEY_ID"],
                "AWS_SECRET_ACCESS_KEY": v["AWS_SECRET_ACCESS_KEY"], "AWS_REGION": v["AWS_REGION"],
                "AWS_ENDPOINT_URL_S3": "", "AWS_SESSION_TOKEN": "", "AWS_PROFILE": "",
                "XDG_CACHE_HOME": str(self.work / "cache" / bucket)}

    def restic_env(self, bucket):
        # restic reads the same two variables; the server checks the signature with them.
        v = self.server.vars
        return {"AWS_ACCESS_KEY_ID": v["AWS_ACCESS_KEY_ID"], "AWS_SECRET_ACCESS_KEY": v["AWS_SECRET_ACCESS_KEY"],
                "RESTIC_CACHE_DIR": str(self.work / "cache" / bucket)}

    def repo(self, bucket):
        return f"s3:{self.server.endpoint}/{bucket}"

    def drop(self, bucket):
        self.server.remove_bucket(bucket)
        shutil.rmtree(self.work / "cache" / bucket, ignore_errors=True)

    # ---- one tool's commands -----------------------------------------------------------
    def backup_cmd(self, tool, bucket, data, first):
        """(cmd, cwd, env) of a backup of `data` by `tool` into `bucket`; `first` also creates it."""
        if tool == "restic s3":
            if first:
                sh(["restic", "-q", "-r", self.repo(bucket), "init"], env=self.restic_env(bucket))
            return ["restic", "-q", "-r", self.repo(bucket), "backup", "."], data, self.restic_env(bucket)
        if tool == "ours local":
            return ours("backup", data=data, store=self.work / "local" / bucket), None, {}
        cmd = ours("backup", data=data, store=f"s3://{bucket}")
        if tool == "ours s3 plain" and first:
            cmd = [cmd[0], "--no-encryption"] + cmd[1:]
        return cmd, None, self.ours_env(bucket)

    def size_mb(self, tool, bucket):
        return du_mb(self.work / "local" / bucket) if tool == "ours local" else self.server.bucket_mb(bucket)

    def cleanup(self, tool, bucket):
        if tool == "ours local":
            shutil.rmtree(self.work / "local" / bucket, ignore_errors=True)
        else:
            self.drop(bucket)

    # ---- measuring ---------------------------------------------------------------------
    def tools(self):
        return [t for t in TOOLS if not self.args.tools or t in self.args.tools.split(",")]

    def measure(self, op, rows):
        """rows: list of (name, prepare() -> (cmd, cwd, env, size(), cleanup()))."""
        for r in range(self.args.runs):
            for name, prepare in (rows if r % 2 == 0 else list(reversed(rows))):
                cmd, cwd, env, size, cleanup = prepare()
                os.sync()
                wall, cpu, rss = timed(cmd, cwd=cwd, env=env)
                self.results.setdefault((op, name), []).append((wall, cpu, rss, size()))
                cleanup()
                print(f"  {op:20s} {name:20s} run {r + 1}: {wall:.2f} s", file=sys.stderr)

    def op_backup_initial(self):
        def row(tool):
            def prepare():
                b = self.bucket(tool)
                cmd, cwd, env = self.backup_cmd(tool, b, self.src, first=True)
                return cmd, cwd, env, lambda: self.size_mb(tool, b), lambda: self.cleanup(tool, b)
            return tool, prepare
        self.measure("backup-initial", [row(t) for t in self.tools()])

    def second_backup(self, op, mutate):
        base = self.work / "incr-src" / "data"

        def row(tool):
            def prepare():
                if base.exists():
                    shutil.rmtree(base)
                base.parent.mkdir(parents=True, exist_ok=True)
                sh(["cp", "-a", self.src, base])
                b = self.bucket(tool)
                cmd, cwd, env = self.backup_cmd(tool, b, base, first=True)
                sh(cmd, cwd=cwd, env=env)
                if mutate:
                    sh([SAMPLE, "--mutate", base, "--seed", "7"])
                cmd, cwd, env = self.backup_cmd(tool, b, base, first=False)
                return cmd, cwd, env, lambda: self.size_mb(tool, b), lambda: self.cleanup(tool, b)
            return tool, prepare
        self.measure(op, [row(t) for t in self.tools()])

    def op_backup_incremental(self):
        self.second_backup("backup-incremental", mutate=True)

    def op_backup_nochange(self):
        self.second_backup("backup-nochange", mutate=False)

    def op_restore_full(self):
        """One backup per tool, made once (untimed); then restores into a fresh target."""
        # A new directory for every restore, all removed after the operation: creating files where
        # thousands were just deleted costs ext4 a scan past the recently deleted inodes
        # (find_inode_bit, recently_deleted: 60 s), which would charge whichever tool runs later.
        target = fresh(self.work / "restore-targets")
        rows, made = [], []
        for tool in self.tools():
            b = self.bucket(tool)
            cmd, cwd, env = self.backup_cmd(tool, b, self.src, first=True)
            if tool.startswith("ours"):
                cmd = [cmd[0], "--json"] + cmd[1:]
            out = sh(cmd, cwd=cwd, env=env).stdout
            snapshot = json.loads(out)["snapshot"] if tool.startswith("ours") else "latest"
            made.append((tool, b))
            for cache in ([""] if tool == "ours local" else [" cold", " warm"]):
                rows.append((tool + cache, self.restore_row(tool, b, snapshot, cache.strip(), target)))
        try:
            self.measure("restore-full", rows)
        finally:
            for tool, b in made:
                self.cleanup(tool, b)
            shutil.rmtree(target, ignore_errors=True)

    def restore_row(self, tool, bucket, snapshot, cache, targets):
        def prepare():
            target = targets / str(sum(1 for _ in targets.iterdir()))
            target.mkdir()
            if cache == "cold":
                shutil.rmtree(self.work / "cache" / bucket, ignore_errors=True)
            if tool == "restic s3":
                cmd, env = ["restic", "-q", "-r", self.repo(bucket), "restore", snapshot, "--target", target], \
                    self.restic_env(bucket)
            elif tool == "ours local":
                cmd, env = ours("restore", "-f", snapshot, data=target, store=self.work / "local" / bucket), {}
            else:
                cmd, env = ours("restore", "-f", snapshot, data=target, store=f"s3://{bucket}"), \
                    self.ours_env(bucket)
            return cmd, None, env, lambda: du_mb(target), lambda: None
        return prepare

    # ---- report ------------------------------------------------------------------------
    def report(self):
        lines = [f"Dataset {self.args.size}: {self.data_files} files, {self.data_mb:.1f} MB "
                 f"(mephisto-sample {' '.join(SIZES[self.args.size])}); medians of {self.args.runs} run(s); "
                 f"one radosgw (tools/ceph-server, memstore) on this machine.", "",
                 "| operation | tool | cache | wall s | CPU s | peak RSS MB | stored MB | vs restic s3 | vs ours local |",
                 "|---|---|---|---:|---:|---:|---:|---|---|"]
        for op in OPS:
            tools = [t for (o, t) in self.results if o == op]
            med = {t: medians(self.results[(op, t)]) for t in tools}
            for t in tools:
                wall, cpu, rss, size = med[t]
                cache = "cold" if t.endswith(" cold") else "warm" if t.endswith(" warm") else ""
                name = t[:-len(cache) - 1] if cache else t
                restic = "restic s3" + (" " + cache if cache else "")
                vs_restic = compare(wall, med[restic][0]) if t.startswith("ours s3") and restic in med else ""
                vs_local = compare(wall, med["ours local"][0]) \
                    if t.startswith("ours s3") and "ours local" in med else ""
                lines.append(f"| {op} | {name} | {cache} | {wall:.2f} | {cpu:.2f} | {rss:.0f} | {size:.1f} | "
                             f"{vs_restic} | {vs_local} |")
        lines += ["", "ours s3 is encrypted (the default on S3; restic always encrypts), ours s3 plain is "
                  "--no-encryption, ours local is a plain store directory. Ratios compare wall times. Cold: "
                  "the tool's cache dir deleted before the restore (a new host); warm: the cache left by the "
                  "backup or the previous restore. stored MB: the bucket's size (radosgw-admin bucket stats) "
                  "or the store directory's; for restores the restored tree.", "", bench_report.machine()]
        return "\n".join(lines)

    def run(self):
        fresh(self.work / "src")
        sh([SAMPLE, "--out", self.src, "--seed", "1"] + SIZES[self.args.size])
        self.data_mb, self.data_files = du_mb(self.src), count_files(self.src)
        print(f"dataset: {self.data_files} files, {self.data_mb:.1f} MB; S3 at {self.server.endpoint}",
              file=sys.stderr)
        for op in (self.args.only.split(",") if self.args.only else OPS):
            if op not in OPS:
                sys.exit(f"unknown operation {op!r} with --backend s3; known: {', '.join(OPS)}")
            getattr(self, "op_" + op.replace("-", "_"))()
        return self.report()


def medians(rows):
    return (statistics.median(r[0] for r in rows), statistics.median(r[1] for r in rows),
            max(r[2] for r in rows), statistics.median(r[3] for r in rows))


def run(args):
    if args.size not in SIZES:
        sys.exit(f"unknown size {args.size!r}; known: {', '.join(SIZES)}")
    work = Path(args.workdir or f"/tmp/mdb-bench-s3-{args.size}")
    work.mkdir(parents=True, exist_ok=True)
    # SIGTERM ends the run like Ctrl-C does, so the server is stopped on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        with Server(work) as server:
            text = S3Bench(args, server).run()
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
