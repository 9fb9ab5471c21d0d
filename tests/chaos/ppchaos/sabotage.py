"""Deliberate damage, behind the checker's back, to prove the checker is not
vacuous (`run --sabotage KIND,... --expect-violations KIND,...`). Applied
after the workload stopped and every fault was undone, before the checker.

  lose       delete every copy of one acknowledged file's chunks from the
             workers' disks (-> health_not_converged / unreadable)
  lose_live  the same in the middle of the run, on a name then left alone
             (-> chunk_without_copies from the auditor)
  resurrect  put a blob under a name whose last acknowledged write is rm
             (-> deleted_file_returned)
  replace    overwrite an acknowledged file with other content (-> wrong_content)
  crash      SIGSEGV a worker nobody asked to stop (-> process_exited, sanitizer)
"""
import json
import os
import signal

from .history import ABSENT
from .workload import NAMES

KINDS = ("lose", "lose_live", "resurrect", "replace", "crash")
LIVE = ("lose_live",)  # applied mid-run; the others after the workload


def _names_with(workload, pred):
    return [n for n in NAMES if pred(workload.history.allowed(n))]


def apply(kind, cluster, workload, report):
    blobs = workload.blobs
    if kind in ("lose", "lose_live"):
        # content no other name holds first (a pool blob put under another
        # name would upload the lost chunks again and heal the damage),
        # then the smallest non-empty file
        names = _names_with(workload, lambda a: len(a) == 1 and ABSENT not in a)

        def order(n):
            b = blobs[next(iter(workload.history.allowed(n)))]
            return (b.index < workload.pool, b.size or 1 << 40, n)
        names.sort(key=order)
        for name in names:
            with workload.locks[name]:
                if len(workload.history.allowed(name) - {ABSENT}) != 1:
                    continue
                rc, out, _ = cluster.ppctl(["stat", name], json_out=True)
                ids = {c["id"] for c in json.loads(out)["chunks"]} if rc == 0 else set()
                if not ids:
                    continue
                if kind == "lose_live":
                    workload.reserved.add(name)
                gone = 0
                for wid in cluster.workers:
                    for root, _, files in os.walk(f"{cluster.data_dir[wid]}/chunks"):
                        for f in files:
                            if f in ids:
                                os.unlink(f"{root}/{f}")
                                gone += 1
            report.progress(f"sabotage {kind}: {name}: deleted {gone} chunk files")
            return
    elif kind in ("resurrect", "replace"):
        if kind == "resurrect":
            names = _names_with(workload, lambda a: a == {ABSENT})
        else:
            names = _names_with(workload, lambda a: len(a) == 1 and ABSENT not in a)
        for name in names:
            cur = next(iter(workload.history.allowed(name)))
            other = next(b for b in blobs if b.index != cur and b.size > 0)
            if cluster.ppctl(["put", other.path, "--name", name])[0] == 0:
                report.progress(f"sabotage {kind}: put b{other.index} as {name}")
                return
    elif kind == "crash":
        w = cluster.workers[sorted(cluster.workers)[0]]
        w.signal(signal.SIGSEGV)
        w.wait(10)
        report.progress(f"sabotage crash: SIGSEGV to {w.name}")
        return
    report.progress(f"sabotage {kind}: nothing to damage")
