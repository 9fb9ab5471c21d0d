"""The final verdict, once the workload and the nemesis have stopped and
every fault was undone: the cluster must heal (health converges to zero
under-replicated and lost chunks), every name must hold a value its history
allows and read back byte-exact, ls must list nothing else, no process may
crash on the final SIGTERM, and no log may hold a sanitizer report.

Reads are repeated after a further wait of two inventory + GC periods, so a
late delete (GC, trim, inventory reconciliation) that removes a live copy
after the first convergence is caught too."""
import glob
import json
import os
import time

from .cluster import SANITIZER_MARKERS, sha256_file
from .history import ABSENT, show
from .workload import NAMES

SETTLE_S = 12  # two inventory periods (3 s) + GC grace (3 s) + margin
READ_RETRIES = 4


class Checker:
    def __init__(self, cluster, workload, report, tmp, watch, converge_s):
        """watch(): reports (and restarts) processes that exited unasked."""
        self.c, self.w, self.report, self.tmp = cluster, workload, report, tmp
        self.watch, self.converge_s = watch, converge_s
        self.last_health = None
        self.healthy = False
        self.reported = set()  # (kind, name): each reported once across both passes

    def wait_nodes_up(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.c.nodes_up() == len(self.c.workers):
                return True
            time.sleep(0.5)
        nodes = self.c.nodes() or {}
        self.violation("nodes_not_up", "cluster", f"after {timeout}s with every process "
                              "running: " + ", ".join(f"{k}={v.get('state')}"
                                                      for k, v in sorted(nodes.items())))
        return False

    def converge(self, phase):
        """Polls health until under_replicated == 0 and lost == 0."""
        start = time.monotonic()
        while time.monotonic() - start < self.converge_s:
            h = self.c.health()
            if h is not None:
                self.last_health = h
                if h.get("under_replicated") == 0 and h.get("lost") == 0:
                    self.report.progress(f"{phase}: healthy after {time.monotonic() - start:.1f}s "
                                         f"({h.get('chunks')} chunks)")
                    return True
            time.sleep(1)
        self.violation("health_not_converged", "cluster",
                              f"{phase}: not healthy {self.converge_s}s after every fault ended: "
                              f"{json.dumps(self.last_health)}")
        return False

    def ppctl_retry(self, args, node=None, json_out=False):
        """A read that may meet a node flapping under load: retried on exit 3
        (once the cluster is healthy; an unhealthy one gets one try)."""
        for i in range(READ_RETRIES if self.healthy else 1):
            rc, out, err = self.c.ppctl(args, node=node, timeout=60, json_out=json_out)
            if rc not in (3, None):
                break
            self.report.progress(f"checker: {' '.join(args)}{' via ' + node if node else ''} "
                                 f"exited {rc} ({err.strip()[-160:]}), retrying")
            time.sleep(2)
        return rc, out, err

    def check_name(self, name, phase, direct_node):
        allowed = self.w.history.allowed(name)
        blobs = self.w.blobs
        hist = self.w.history.describe(name)
        rc, out, err = self.ppctl_retry(["stat", name], json_out=True)
        if rc == 2:
            if ABSENT not in allowed:
                self.violation("acknowledged_file_missing", name,
                                      f"{phase}: stat says not found; allowed "
                                      f"{show(allowed, blobs)}; writes: {hist}")
            return
        if rc != 0:
            self.violation("unreadable_at_end", name,
                                  f"{phase}: stat exited {rc}: {err.strip()[-300:]}")
            return
        sha = json.loads(out)["sha256"]
        ok = {blobs[v].sha: v for v in allowed if v is not ABSENT}
        if sha not in ok:
            got = self.w.by_sha.get(sha)
            kind = "deleted_file_returned" if allowed == {ABSENT} else "wrong_content"
            self.violation(kind, name, f"{phase}: stat shows "
                                  f"{'b%d' % got if got is not None else sha[:16]}; allowed "
                                  f"{show(allowed, blobs)}; writes: {hist}")
            return
        for how, node in (("get", None), (f"get via {direct_node}", self.c.worker_addr[direct_node])):
            path = f"{self.tmp}/check.out"
            if os.path.exists(path):
                os.unlink(path)
            rc, _, err = self.ppctl_retry(["get", name, "-o", path], node=node)
            if rc != 0:
                self.violation("unreadable_at_end", name,
                                      f"{phase}: {how} exited {rc}: {err.strip()[-300:]}")
                continue
            got = sha256_file(path)
            if got != sha:
                self.violation("wrong_content", name,
                                      f"{phase}: {how} returned sha {got[:16]}, stat says "
                                      f"b{ok[sha]} ({sha[:16]})")

    def check_names(self, phase, rng):
        for name in NAMES:
            self.check_name(name, phase, rng.choice(sorted(self.c.workers)))

    def check_ls(self):
        rc, out, err = self.c.ppctl(["ls", "--limit", "1000"], timeout=60, json_out=True)
        if rc != 0:
            self.violation("unreadable_at_end", "ls", f"ls exited {rc}: "
                                  f"{err.strip()[-300:]}")
            return
        for f in json.loads(out).get("files", []):
            name = f["name"]
            if name not in self.w.locks:
                self.violation("unknown_name_listed", name, "ls lists a name no client wrote")
                continue
            allowed = self.w.history.allowed(name)
            ok = {self.w.blobs[v].sha for v in allowed if v is not ABSENT}
            if f.get("sha256") not in ok:
                kind = "deleted_file_returned" if not ok else "wrong_content"
                self.violation(kind, name, f"ls lists sha {f.get('sha256', '')[:16]}; "
                                      f"allowed {show(allowed, self.w.blobs)}")

    def violation(self, kind, name, detail):
        if (kind, name) not in self.reported:
            self.reported.add((kind, name))
            self.report.violation(kind, name, detail)

    def run(self, rng):
        """Names are read even when health did not converge: what is still
        readable, listed or deleted is checked all the same."""
        self.report.progress("checker: waiting for every node up and full health")
        self.watch()
        self.wait_nodes_up()
        self.healthy = self.converge("first convergence")
        self.check_names("first read", rng)
        self.check_ls()
        self.report.progress(f"checker: settling {SETTLE_S}s (inventory, GC, trims)")
        time.sleep(SETTLE_S)
        self.healthy = self.converge("after settling")
        self.check_names("second read", rng)
        self.watch()
        return self.last_health

    def shutdown(self):
        """SIGTERM every service: each must exit 0 (nothing crashes on stop)."""
        for name, rc in self.c.stop_all().items():
            if rc == "hung":
                self.violation("hang_on_sigterm", name, "final stop: still running 15 s "
                                      "after SIGTERM")
            elif rc != 0:
                self.violation("crash_on_sigterm", name, f"final stop: exited {rc}")

    def scan_logs(self):
        for path in sorted(glob.glob(f"{self.c.logs}/*.log")):
            with open(path, errors="replace") as f:
                for lineno, line in enumerate(f, 1):
                    if any(m in line for m in SANITIZER_MARKERS):
                        self.violation("sanitizer", os.path.basename(path),
                                              f"line {lineno}: {line.strip()[:300]}")
                        break
