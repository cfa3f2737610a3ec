"""The markdown report of tools/bench.py: the timing table, the instruction table, the machine line.
Each function takes the Bench whose results it reports as `self`."""
import os
import platform
import statistics
import subprocess
from pathlib import Path

from bench_common import OPS, SIZES, compare


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
    return "\n".join(lines + ["", machine()])


def report(self):
    if self.args.instructions:
        return instruction_report(self)
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
        med = {t: medians(self, op, t) for t in tools}
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
    lines.append(machine())
    return "\n".join(lines)


def medians(self, op, tool):
    rows = self.results[(op, tool)]
    return (statistics.median(r[0] for r in rows), statistics.median(r[1] for r in rows),
            max(r[2] for r in rows), statistics.median(r[3] for r in rows))


def zip_version():
    out = subprocess.run(["zip", "-v"], capture_output=True, text=True).stdout.splitlines()
    line = next((l for l in out if l.startswith("This is Zip")), "zip ?")
    return line.split(" by ")[0].replace("This is ", "").rstrip(",")


def machine():
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
            f"{first_line(['borg', '--version'])}; {zip_version()}; "
            f"{first_line(['g++', '--version'])}.")

