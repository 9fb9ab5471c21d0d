"""The run's journal: operation and fault counts, violations, and the
ops.jsonl / faults.jsonl trail in the log directory. Every thread writes
through one Report; its lock guards the counters and the files.
Times are seconds since the run started (monotonic clock)."""
import json
import sys
import threading
import time


class Report:
    def __init__(self, seed, minutes, log_dir):
        self.seed = seed
        self.minutes = minutes
        self.t0 = time.monotonic()
        self._lock = threading.Lock()
        self.operations = {}  # kind -> outcome -> count
        self.faults = {}  # kind -> count
        self.violations = []
        self._open = {}  # (kind, target) -> start time of an active fault
        self._spans = []  # (start, end) of ended faults
        self._ops = open(f"{log_dir}/ops.jsonl", "w")
        self._faults = open(f"{log_dir}/faults.jsonl", "w")

    def now(self):
        return round(time.monotonic() - self.t0, 3)

    def progress(self, msg):
        print(f"[chaos {self.now():8.1f}s] {msg}", file=sys.stderr, flush=True)

    def op(self, record):
        """record: dict with at least kind and outcome."""
        with self._lock:
            per = self.operations.setdefault(record["kind"], {})
            per[record["outcome"]] = per.get(record["outcome"], 0) + 1
            self._ops.write(json.dumps(record) + "\n")
            self._ops.flush()

    def fault(self, kind, target, phase, detail=""):
        rec = {"time": self.now(), "kind": kind, "target": target, "phase": phase}
        if detail:
            rec["detail"] = detail
        with self._lock:
            if phase == "start":
                self.faults[kind] = self.faults.get(kind, 0) + 1
                self._open[(kind, target)] = rec["time"]
            elif phase == "skipped":
                self.faults[kind + "_skipped"] = self.faults.get(kind + "_skipped", 0) + 1
            elif (kind, target) in self._open:
                self._spans.append((self._open.pop((kind, target)), rec["time"]))
            self._faults.write(json.dumps(rec) + "\n")
            self._faults.flush()
        self.progress(f"fault {kind} {target} {phase} {detail}".rstrip())

    def quiet(self, t1, t2, margin):
        """True if no fault was active at any time in [t1 - margin, t2]."""
        with self._lock:
            if self._open:
                return False
            return all(end < t1 - margin or start > t2 for start, end in self._spans)

    def violation(self, kind, name, detail):
        rec = {"kind": kind, "name": name, "detail": detail, "time": self.now()}
        with self._lock:
            self.violations.append(rec)
        self.progress(f"VIOLATION {kind} {name}: {detail}")

    def op_total(self):
        with self._lock:
            return sum(sum(v.values()) for v in self.operations.values())

    def summary(self):
        with self._lock:
            return {
                "seed": self.seed,
                "minutes": self.minutes,
                "operations": {k: dict(sorted(v.items())) for k, v in sorted(self.operations.items())},
                "faults": dict(sorted(self.faults.items())),
                "violations": list(self.violations),
            }

    def close(self):
        with self._lock:
            self._ops.close()
            self._faults.close()
