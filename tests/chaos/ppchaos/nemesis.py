"""The nemesis: a fault schedule drawn from the seed before the run starts,
then played against the cluster by one thread.

plan() is a pure function of (seed, duration, worker ids): it decides every
fault's start, kind, target and duration, keeping at most MAX_IMPAIRED
workers impaired and one tracker fault at a time. Faults end on schedule
(restart, SIGCONT, unfill...); restore_all() ends whatever is still active.

Time alternates STORM_S of faults and CALM_S with none. A calm is when
losses show: CALM_MARGIN_S into it every node is up and has reported its
inventory, so a chunk of a committed file with no copy anywhere (health
`lost` > 0) is a violation, not a node being away. The same thread watches
for processes that exit without being asked to."""
import heapq
import random
import signal
import threading
import time

MAX_IMPAIRED = 2
STORM_S, CALM_S = 25, 15
CALM_MARGIN_S = 7  # two inventory periods (3 s) after the last fault ended
KINDS = [  # kind, weight, duration range (s)
    ("worker_kill", 20, (1, 8)),       # kill -9, restart on the same data dir
    ("worker_term", 5, (0.5, 4)),      # SIGTERM (must exit 0), restart
    ("worker_pause", 16, (0.5, 6)),    # SIGSTOP ... SIGCONT
    ("worker_blip", 14, (0.3, 1.5)),   # a short stall: still up, but calls to it wait
    ("tracker_kill", 10, (0.5, 4)),    # kill -9, restart on the same db
    ("tracker_term", 6, (0.5, 3)),     # SIGTERM (must exit 0), restart
    ("disk_fill", 10, (4, 15)),        # fill the worker's disk, then free it
    ("maintenance", 6, (3, 20)),       # maintenance on, SIGTERM, restart, off
    ("tracker_worker_kill", 6, (3, 8)),  # kill -9 both; the tracker restarts first
]
# A storm after a calm may open with a lost disk (never two in one storm,
# and only if the cluster is fully replicated at that moment: with R=2 one
# lost disk must lose nothing): kill -9 a worker and restart it on an empty
# data dir; with the tracker killed too, the tracker restarts first.
WIPES = ("worker_wipe", "tracker_worker_wipe")
WIPE_P, WIPE_S = 0.7, (2, 6)


class Fault:
    def __init__(self, t, kind, target, dur):
        self.t, self.kind, self.target, self.dur = t, kind, target, dur

    def as_dict(self):
        return {"t": round(self.t, 2), "kind": self.kind, "target": self.target,
                "duration": round(self.dur, 2)}


def plan(seed, duration_s, workers):
    rng = random.Random(f"{seed}/nemesis")
    kinds, weights = [k[0] for k in KINDS], [k[1] for k in KINDS]
    durs = {k[0]: k[2] for k in KINDS}
    busy = {w: 0.0 for w in workers}
    tracker_busy = 0.0
    out = []
    t = rng.uniform(2, 5)
    cycle = STORM_S + CALM_S
    storm = 0
    while t < duration_s - 3:
        storm_end = t - t % cycle + STORM_S
        if t > storm_end - 1:
            t = storm_end + CALM_S + rng.uniform(0.5, 2)
            continue
        if int(t // cycle) != storm:
            storm = int(t // cycle)
            if rng.random() < WIPE_P:
                kind, dur = rng.choice(WIPES), rng.uniform(*WIPE_S)
                w = rng.choice(sorted(workers))
                out.append(Fault(t, kind, w, dur))
                busy[w] = t + dur + 1
                if kind == "tracker_worker_wipe":
                    tracker_busy = t + dur + 2
                t += rng.uniform(0.5, 2)
                continue
        kind = rng.choices(kinds, weights)[0]
        dur = min(rng.uniform(*durs[kind]), storm_end - t)  # every fault ends in its storm
        pick = rng.random()
        free = [w for w in sorted(workers) if busy[w] <= t]
        worker_ok = len(workers) - len(free) < MAX_IMPAIRED and free
        if kind in ("tracker_kill", "tracker_term"):
            if tracker_busy <= t:
                out.append(Fault(t, kind, "tracker", dur))
                tracker_busy = t + dur + 2
        elif kind == "tracker_worker_kill":
            # the restarted tracker must not count the still-dead worker's copies
            if tracker_busy <= t and worker_ok:
                w = free[int(pick * len(free))]
                out.append(Fault(t, kind, w, dur))
                tracker_busy = t + dur + 2
                busy[w] = t + dur + 1
        elif worker_ok:
            w = free[int(pick * len(free))]
            out.append(Fault(t, kind, w, dur))
            busy[w] = t + dur + 1
        t += rng.uniform(0.5, 4)
    return out


def calms(duration_s):
    """(start, end) of every calm that starts before duration_s."""
    cycle, out, k = STORM_S + CALM_S, [], 0
    while k * cycle + STORM_S < duration_s:
        out.append((k * cycle + STORM_S, min((k + 1) * cycle, duration_s)))
        k += 1
    return out


class Nemesis:
    def __init__(self, seed, duration_s, cluster, report):
        self.cluster, self.report = cluster, report
        self.plan = plan(seed, duration_s, list(cluster.workers))
        self.calms = calms(duration_s)
        self._last_poll = 0.0
        self._lost_reported = set()  # calm windows already reported
        self.stop = threading.Event()
        self.thread = None
        self._q = []  # heap of (time, seq, fn, fault) — fn(fault) is a fault's end
        self._seq = 0
        self.maintenance_on = set()  # nodes the tracker has in maintenance
        self._last_off = 0.0
        self.filled = set()

    # ---- helpers ----

    def _term(self, proc, kind):
        """SIGTERM proc and wait: a service must exit 0 on SIGTERM."""
        self.cluster.kill(proc, signal.SIGTERM)
        rc = proc.wait(15)
        if rc is None:
            self.report.violation("hang_on_sigterm", proc.name, f"{kind}: still running 15 s "
                                  "after SIGTERM (killed)")
            self.cluster.dump_stacks(proc)
            self.cluster.kill(proc, signal.SIGKILL)
        elif rc != 0:
            self.report.violation("crash_on_sigterm", proc.name,
                                  f"{kind}: exited {rc} after SIGTERM; see {proc.log_path}")

    def _start(self, proc):
        if proc.alive():
            return
        if proc is self.cluster.tracker:
            if not self.cluster.start_tracker():
                self.report.progress("tracker restart did not answer ping")
        else:
            with self.cluster.lock:
                proc.start()

    def _maintenance(self, wid, on, attempts):
        """ppctl maintenance; True once the tracker took it. The nemesis
        thread must not block while the tracker is down: callers in the
        schedule try a few times, a failed 'off' is retried by the loop."""
        err = "tracker down"
        for i in range(attempts):
            if not self.cluster.tracker.alive() and attempts < 10:
                break  # it is being restarted; nothing to wait for here
            rc, _, err = self.cluster.ppctl(["maintenance", wid, "on" if on else "off"], timeout=10)
            if rc == 0:
                (self.maintenance_on.add if on else self.maintenance_on.discard)(wid)
                return True
            if i + 1 < attempts:
                time.sleep(0.5)
        if attempts > 1:
            self.report.progress(f"maintenance {wid} {'on' if on else 'off'} failed: {err.strip()}")
        return False

    # ---- faults: begin returns the function that ends it ----

    def begin(self, f):
        c = self.cluster
        proc = c.tracker if f.target == "tracker" else c.workers[f.target]
        detail = ""
        if f.kind in ("worker_kill", "tracker_kill"):
            c.kill(proc, signal.SIGKILL)
            end = self.end_restart
        elif f.kind in ("worker_term", "tracker_term"):
            self._term(proc, f.kind)
            end = self.end_restart
        elif f.kind in ("worker_pause", "worker_blip"):
            c.kill(proc, signal.SIGSTOP)
            end = self.end_cont
        elif f.kind == "disk_fill":
            if c.tmpfs:
                detail = f"wrote {c.fill(f.target)} bytes"
                self.filled.add(f.target)
            else:
                cap = max(c.chunk_bytes(f.target), 65536)
                self._term(proc, f.kind)
                proc.extra = ["--capacity", str(cap)]
                self._start(proc)
                detail = f"restarted with --capacity {cap}"
            end = self.end_unfill
        elif f.kind == "maintenance":
            # an operator's planned restart: maintenance on, the node keeps
            # serving a moment (trims and drains must not count on it), stop,
            # restart, maintenance off
            detail = "on" if self._maintenance(f.target, True, 3) else "on failed"
            self.report.fault(f.kind, f.target, "start", detail)
            return [(f.t + min(3, f.dur / 3), self.maintenance_stop),
                    (f.t + f.dur, self.end_maintenance)]
        elif f.kind in ("tracker_worker_kill", "tracker_worker_wipe", "worker_wipe"):
            if f.kind in WIPES and not self.fully_replicated():
                self.report.fault(f.kind, f.target, "skipped", "cluster not fully replicated")
                return []
            if f.kind != "worker_wipe":
                c.kill(c.tracker, signal.SIGKILL)
            c.kill(proc, signal.SIGKILL)
            if f.kind in WIPES:
                c.wipe(f.target)
            self.report.fault(f.kind, f.target, "start",
                              "tracker and worker killed" if f.kind != "worker_wipe" else "")
            if f.kind == "worker_wipe":
                return [(f.t + f.dur, self.end_restart)]
            # the tracker comes back while the worker is still dead
            return [(f.t + min(1.5, f.dur / 3), self.end_tracker_restart),
                    (f.t + f.dur, self.end_restart)]
        self.report.fault(f.kind, f.target, "start", detail)
        return [(f.t + f.dur, end)]

    def fully_replicated(self):
        """Every node up, nothing under-replicated or lost, no fault active."""
        h = self.cluster.health()
        return (h is not None and h.get("under_replicated") == 0 and h.get("lost") == 0
                and h.get("nodes_up") == len(self.cluster.workers)
                and self.report.quiet(self.report.now(), self.report.now(), 0))

    def maintenance_stop(self, f):
        self._term(self.cluster.workers[f.target], f.kind)
        self.report.progress(f"fault {f.kind} {f.target}: worker stopped")

    def end_tracker_restart(self, f):
        self._start(self.cluster.tracker)
        self.report.progress(f"fault {f.kind} {f.target}: tracker restarted")

    def end_restart(self, f):
        self._start(self.cluster.tracker if f.target == "tracker" else self.cluster.workers[f.target])
        self.report.fault(f.kind, f.target, "end")

    def end_cont(self, f):
        self.cluster.kill(self.cluster.workers[f.target], signal.SIGCONT)
        self.report.fault(f.kind, f.target, "end")

    def end_unfill(self, f):
        proc = self.cluster.workers[f.target]
        if self.cluster.tmpfs:
            self.cluster.unfill(f.target)
            self.filled.discard(f.target)
        else:
            self._term(proc, f.kind)
            proc.extra = []
            self._start(proc)
        self.report.fault(f.kind, f.target, "end")

    def end_maintenance(self, f):
        self._start(self.cluster.workers[f.target])
        self._maintenance(f.target, False, 1)  # else retried by run() (maintenance_on)
        self.report.fault(f.kind, f.target, "end")

    # ---- the thread ----

    def watch(self):
        for proc, rc in self.cluster.unexpected_exits():
            self.report.violation("process_exited", proc.name,
                                  f"exited {rc} without a fault asking; see {proc.log_path}")
            self._start(proc)  # keep the run going

    def calm_check(self, now):
        """In a calm, CALM_MARGIN_S after every fault ended: nothing lost."""
        window = next((w for w in self.calms if w[0] + CALM_MARGIN_S <= now < w[1]), None)
        if (window is None or window in self._lost_reported or now - self._last_poll < 1
                or not self.report.quiet(now, now, CALM_MARGIN_S)):
            return
        self._last_poll = now
        h = self.cluster.health()
        if h is None or not h.get("lost"):
            return
        self._lost_reported.add(window)
        files = self.cluster.json(["ls", "--limit", "1000"]) or {}
        bad = [f"{f['name']}({f.get('health')})" for f in files.get("files", [])
               if f.get("health") != "ok"]
        self.report.violation("lost_while_calm", "cluster",
                              f"{h['lost']} chunks with no copy {now - window[0]:.1f}s into a "
                              f"calm, every node up; files not ok: {', '.join(bad) or 'none'}; "
                              f"health {h}")

    def run(self, t0):
        pending = list(self.plan)
        while not self.stop.is_set():
            now = time.monotonic() - t0
            self.watch()
            self.calm_check(now)
            if self.maintenance_on and now - self._last_off >= 1:
                self._last_off = now
                for wid in sorted(self.maintenance_on):
                    if not any(f.target == wid and f.kind == "maintenance" for _, _, _, f in self._q):
                        self._maintenance(wid, False, 1)
            if self._q and self._q[0][0] <= now:
                _, _, fn, f = heapq.heappop(self._q)
                fn(f)
                continue
            if pending and pending[0].t <= now:
                f = pending.pop(0)
                for due, fn in self.begin(f):
                    self._seq += 1
                    heapq.heappush(self._q, (due, self._seq, fn, f))
                continue
            self.stop.wait(0.1)

    def start(self, t0):
        def guard():
            try:
                self.run(t0)
            except Exception as e:
                self.report.violation("harness_error", "nemesis", repr(e))
        self.thread = threading.Thread(target=guard, name="nemesis", daemon=True)
        self.thread.start()

    def restore_all(self):
        """Stops the schedule and ends every active fault: SIGCONT, restart,
        unfill, maintenance off; then starts anything not running."""
        self.stop.set()
        if self.thread:
            self.thread.join(120)
        self.stop.clear()  # let _maintenance retry below
        self.watch()
        while self._q:
            _, _, fn, f = heapq.heappop(self._q)
            fn(f)
        for proc in self.cluster.procs():
            if proc.frozen:
                self.cluster.kill(proc, signal.SIGCONT)
            self._start(proc)
        for wid in list(self.filled):
            self.cluster.unfill(wid)
        for wid in sorted(self.maintenance_on):
            self._maintenance(wid, False, 20)
