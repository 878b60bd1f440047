#!/usr/bin/env python3
"""Runs a benchmark command and adds to its JSON how busy the rest of the machine was.

    python measured.py OUT.json -- COMMAND [ARGS...]

COMMAND prints one JSON object on stdout (bench_load, load_peers.py). This writes it to OUT.json
with `other_cpu_cores`: the CPU time that processes other than COMMAND used while it ran
(all CPUs' busy time from /proc/stat minus COMMAND's own user + system time), over its wall
time. Near 0 the numbers are clean; near 1 another process took a whole core from the
benchmark (a build running beside it, say), and its times are not comparable.
"""

import json
import os
import resource
import subprocess
import sys
import time


def busy_seconds():
    with open("/proc/stat") as f:
        fields = f.readline().split()[1:]
    # user nice system idle iowait irq softirq steal ...
    values = [int(v) for v in fields]
    busy = values[0] + values[1] + values[2] + values[5] + values[6] + (values[7] if len(values) > 7 else 0)
    return busy / os.sysconf("SC_CLK_TCK")


def main():
    out, sep, command = sys.argv[1], sys.argv[2], sys.argv[3:]
    if sep != "--" or not command:
        sys.exit(__doc__)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy0, wall0 = busy_seconds(), time.perf_counter()
    result = subprocess.run(command, stdout=subprocess.PIPE, check=False)
    busy1, wall1 = busy_seconds(), time.perf_counter()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    own = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if result.returncode != 0:
        sys.exit(result.returncode)
    report = json.loads(result.stdout)
    report["other_cpu_cores"] = round(max(0.0, (busy1 - busy0) - own) / (wall1 - wall0), 3)
    with open(out, "w") as f:
        json.dump(report, f)
        f.write("\n")


if __name__ == "__main__":
    main()
