"""What tools/bench.py, bench_report.py and bench_memory.py share: paths, sizes, operations, and
how a command is run, timed and measured."""
import os
import shutil
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
    "80k": ["--task-runs", "120", "--units-per-run", "220", "--media-fraction", "0.02"],
    "M": ["--task-runs", "200", "--units-per-run", "330", "--media-fraction", "0.02"],
    # 10x the sample of issue 16 (20 task runs x 110 units), the size its export goal names
    "L": ["--task-runs", "200", "--units-per-run", "110"],
}

OPS = ["backup-initial", "backup-incremental", "diff-day", "backup-nochange", "restore-full", "restore-one-run",
       "export-full", "export-one-task", "import-empty", "import-conflicts",
       "import-conflicts-warm"]

PASSWORD_ENV = {"RESTIC_PASSWORD": "bench", "MEPHISTO_PASSWORD": "bench", "BORG_PASSPHRASE": "", "BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK": "yes",
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


# Where discard() moves trees; set by a bench to a dir on the same file system as its work dir.
trash_dir = None
# The free space discard() keeps: below it, the trash is emptied first (a three-run bench at L put
# 64 GB in it and filled the disk).
trash_min_free = 0
# How long ext4 without a journal skips recently deleted inodes when it allocates one: 60 s after the
# deletion, 360 s while their inode table block is dirty again, as the next command's first files make
# it (fs/ext4/ialloc.c recently_deleted; profiles of imports right after a deletion spent 30% there).
SETTLE_S = 370


def discard(path):
    """Removes a tree between measurements by moving it into trash_dir, which is emptied only when the
    run ends. Deleting it would charge the next timed command: ext4 scans past recently deleted inodes
    when it creates files (find_inode_bit / recently_deleted, 60 s and up to 300 s), which made a
    restore of S take 1.3 s first and 18-22 s after other tools' trees had been deleted."""
    path = Path(path)
    if not path.exists():
        return
    if trash_dir is None or not path.is_dir():
        shutil.rmtree(path) if path.is_dir() else path.unlink()
        return
    trash_dir.mkdir(parents=True, exist_ok=True)
    if shutil.disk_usage(trash_dir).free < trash_min_free and any(trash_dir.iterdir()):
        empty_trash()
    # The next free number: a kept work dir's trash may have gaps, so counting its entries could
    # name one that is taken.
    taken = {p.name for p in trash_dir.iterdir()}
    n = len(taken)
    while str(n) in taken:
        n += 1
    path.rename(trash_dir / str(n))


def empty_trash():
    """Deletes the trash, then waits out the slowdown that deleting would charge to the next timed
    command (discard())."""
    free_gb = shutil.disk_usage(trash_dir).free / 2**30
    shutil.rmtree(trash_dir, ignore_errors=True)
    trash_dir.mkdir(parents=True)
    os.sync()
    print(f"bench: {free_gb:.1f} GB were free; emptied the trash, waiting {SETTLE_S} s for the file system "
          "to settle", file=sys.stderr)
    time.sleep(SETTLE_S)


def fresh(path):
    path = Path(path)
    discard(path)
    path.mkdir(parents=True)
    return path


def ours(*args, data, store=None, outputs=None):
    cmd = [MEPHISTO, "--data-dir", data, "-y"]
    if store:
        cmd += ["--store", store]
    if outputs:
        cmd += ["--outputs-dir", outputs]
    return cmd + ["db"] + list(args)
