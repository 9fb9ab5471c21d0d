"""The auditor: a thread that walks the names during the whole run and
asks the tracker where each committed file's chunks live (`ppctl stat`).

A chunk of a committed file with no copy the tracker knows of (no replica
ok, suspect or dead) is re-checked RECHECK_S later, name lock held so the
file cannot change: every node that holds the chunk has reported its
inventory by then, and a dead or frozen node keeps its rows, so a chunk
still without a copy is gone from every disk. That is a loss the end check
could miss, since the name is usually overwritten long before the end.
Names a re-upload just raced the collector on are held out of the workload
(Workload.watch) and audited first, WATCH_AFTER_S after the re-upload."""
import json
import threading
import time

RECHECK_S = 7  # two inventory periods (3 s) and a margin
HOLDS = ("ok", "suspect", "dead")


def orphans(stat):
    """Ids of the chunks of a stat --json document with no copy anywhere."""
    return sorted(c["id"] for c in stat.get("chunks", [])
                  if not any(r.get("state") in HOLDS for r in c.get("replicas", [])))


class Auditor:
    def __init__(self, workload):
        self.w = workload
        self.thread = None

    def stat(self, name):
        rc, out, _ = self.w.cluster.ppctl(["stat", name], timeout=30, json_out=True)
        if rc != 0:
            return None
        try:
            return json.loads(out)
        except ValueError:
            return None

    def audit(self, name):
        first = self.stat(name)
        if first is None or not orphans(first):
            return
        t = self.w.report.now()
        time.sleep(RECHECK_S)
        again = self.stat(name)
        if again is None or again.get("version") != first.get("version") \
                or again.get("sha256") != first.get("sha256"):
            return
        gone = sorted(set(orphans(first)) & set(orphans(again)))
        if gone:
            states = {c["id"][:12]: [f"{r['node']}:{r['state']}" for r in c.get("replicas", [])]
                      for c in again["chunks"] if c["id"] in gone}
            self.w.report.violation(
                "chunk_without_copies", name,
                f"version {again.get('version')} (sha {again.get('sha256', '')[:12]}): "
                f"{len(gone)} of {len(again['chunks'])} chunks with no copy at {t:.1f}s and "
                f"{RECHECK_S}s later: {states}; writes: {self.w.history.describe(name)}")

    def due(self):
        now = self.w.report.now()
        with self.w.watch_lock:
            return next((n for n, t in sorted(self.w.watch.items(), key=lambda x: x[1])
                         if t <= now), None)

    def run(self):
        from .workload import NAMES
        i = 0
        while not self.w.stop.is_set():
            name = watched = self.due()
            if name is None:
                name = NAMES[i % len(NAMES)]
                i += 1
            with self.w.locks[name]:
                self.audit(name)
            if watched:
                with self.w.watch_lock:
                    self.w.watch.pop(watched, None)
            self.w.stop.wait(0.1)

    def start(self):
        def guard():
            try:
                self.run()
            except Exception as e:
                if not self.w.stop.is_set():
                    self.w.report.violation("harness_error", "auditor", repr(e))
        self.thread = threading.Thread(target=guard, name="auditor", daemon=True)
        self.thread.start()
