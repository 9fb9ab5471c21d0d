"""The workload: client threads driving ppctl as a user would, on a small
set of names and a small pool of blobs (so dedup, replacement and
re-upload-after-rm races are frequent): puts (file, stdin, slow stdin),
replacements, rm, rm then re-upload of the same content, gets through the
tracker and straight from a worker, gets racing a replace, stats.

Each client draws its whole sequence of operations from its own
random.Random(seed/client/i), independent of outcomes, so a seed replays
the same operations (their interleaving follows the machine's timing).
Every read is checked at once against History.allowed() under the name's
lock; writes are recorded as acknowledged or indeterminate."""
import hashlib
import json
import os
import random
import threading
import time

from .cluster import sha256_file
from .history import ABSENT, History, show

CHUNK = 64 * 1024
NAMES = [f"dir{i % 3}/f{i:02d}" if i % 5 == 0 else f"f{i:02d}" for i in range(40)]
CLIENTS = 6
OP_TIMEOUT_S = 60
WEIGHTS = [("put", 22), ("put_stdin", 6), ("put_slow", 3), ("rm", 12), ("rm_reput", 3),
           ("rm_reput_fresh", 12),
           ("get", 22), ("get_direct", 12), ("get_replace", 5), ("stat", 10)]
WATCH_AFTER_S = 5  # the collector's late deletes land, then an inventory reports them
QUIET_MARGIN_S = 7  # a fault's effects (evicted copies, stale rows) outlive it this long


class Blob:
    def __init__(self, index, data, path):
        self.index, self.size, self.path = index, len(data), path
        self.data = data
        self.sha = hashlib.sha256(data).hexdigest()


def make_blobs(seed, out_dir, chunk):
    """Twelve blobs: sizes around chunk boundaries, and three that share
    chunks with others (cross-file deduplication)."""
    rng = random.Random(f"{seed}/blobs")
    sizes = [0, 1, 1000, chunk, chunk + 1, 150_000, 4 * chunk, 400_000, 700_000]
    data = [rng.randbytes(s) for s in sizes]
    data.append(data[7][:3 * chunk] + rng.randbytes(50_000))
    data.append(data[6][:2 * chunk] + data[8][2 * chunk:5 * chunk])
    data.append(data[8][:5 * chunk])
    os.makedirs(out_dir, exist_ok=True)
    blobs = []
    for i, d in enumerate(data):
        path = f"{out_dir}/b{i}.bin"
        with open(path, "wb") as f:
            f.write(d)
        blobs.append(Blob(i, d, path))
    return blobs


# ppctl's get stops with exit 1 when the file's version changes between its
# first manifest read and the next (a replace raced the read). DESIGN.md
# does not say what a read racing a replace returns, so this is counted as
# outcome "conflict", not reported (see the chaos report for the finding).
REPLACED_WHILE_READ = "was replaced while it was being read"


def outcome(rc, err=""):
    if rc == 1 and REPLACED_WHILE_READ in err:
        return "conflict"
    return "ok" if rc == 0 else ("timeout" if rc is None else f"exit{rc}")


class Workload:
    def __init__(self, seed, cluster, report, blobs, tmp):
        self.seed, self.cluster, self.report, self.blobs = seed, cluster, report, blobs
        self.tmp = tmp
        self.history = History(NAMES)
        self.locks = {n: threading.Lock() for n in NAMES}
        self.pool = len(blobs)  # blobs[pool:] are fresh ones, made by rm_reput_fresh
        self.by_sha = {b.sha: b.index for b in blobs}
        self.blobs_lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = []
        self.reserved = set()  # names taken out of the workload (sabotage self-test)
        # name -> time: a re-upload that raced the collector, held out of the
        # workload until the auditor has checked it (see audit.py)
        self.watch = {}
        self.watch_lock = threading.Lock()

    # ---- plan ----

    def pick(self, rng):
        """One operation, every random draw made here, none depending on
        outcomes: (kind, name, blob, params)."""
        kinds, weights = zip(*WEIGHTS)
        kind = rng.choices(kinds, weights)[0]
        name = rng.choice(NAMES)
        blob = rng.randrange(self.pool)
        r = rng.random()
        params = {
            # rm_reput: rm -> re-upload gap; the collector runs at once after
            # rm, so most gaps are short, some reach past the GC grace (3 s)
            "pause": 0 if r < 0.4 else (r - 0.4) / 0.3 * 0.5 if r < 0.7 else rng.uniform(0.5, 4.5),
            "head_start": rng.uniform(0, 0.08),  # get_replace: get starts this much first
            # rm_reput_fresh: content no other name holds, so rm frees its chunks
            "fresh": (rng.getrandbits(64), rng.choice([1000, CHUNK + 1, 3 * CHUNK + 100])),
            "node": rng.choice(sorted(self.cluster.workers)),
            "pieces": rng.randint(2, 6),
            "piece_pause": rng.uniform(0.2, 1.2),
            "think": rng.uniform(0, 0.2),
        }
        return kind, name, blob, params

    # ---- checks (name lock held) ----

    def observe_content(self, name, sha, how, t, also=frozenset()):
        """also: values allowed besides the history's (a read that overlapped a write)."""
        allowed = self.history.allowed(name) | also
        ok = {self.blobs[v].sha for v in allowed if v is not ABSENT}
        if sha in ok:
            return
        got = self.by_sha.get(sha)
        got_s = f"b{got}" if got is not None else f"unknown sha {sha[:16]}"
        kind = "deleted_file_returned" if allowed == {ABSENT} else "wrong_content"
        self.report.violation(kind, name, f"{how} at {t:.1f}s returned {got_s}; allowed "
                              f"{show(allowed, self.blobs)}; writes: {self.history.describe(name)}")

    def observe_absent(self, name, how, t, err="", also=frozenset()):
        """Exit 2. The tracker saying the file does not exist is checked
        against the history; a chunk "not found" while the file exists is
        the wrong exit code (2 means no such file), reported apart."""
        allowed = self.history.allowed(name) | also
        if ABSENT in allowed:
            return
        msg = err.strip().splitlines()[-1] if err.strip() else ""
        kind = "acknowledged_file_missing"
        if msg and "no file named" not in msg:
            kind = "not_found_for_existing_file"
        self.report.violation(kind, name, f"{how} at {t:.1f}s exited 2 ({msg[-200:]}); allowed "
                              f"{show(allowed, self.blobs)}; writes: {self.history.describe(name)}")

    def unexpected(self, kind, name, rc, err):
        if rc in (1, 5) and outcome(rc, err) != "conflict":
            self.report.violation("unexpected_exit_code", name,
                                  f"{kind} exited {rc}: {err.strip()[-300:]}")

    # ---- operations ----

    def log(self, client, kind, name, blob, start, rc, err, extra=None):
        rec = {"t": start, "end": self.report.now(), "client": client, "kind": kind,
               "name": name, "outcome": outcome(rc, err)}
        if blob is not None:
            rec["blob"] = blob
        if rc != 0 and err:
            rec["err"] = err.strip().splitlines()[-1][-200:] if err.strip() else ""
        if extra:
            rec.update(extra)
        self.report.op(rec)

    def write(self, client, kind, name, blob, args, feed=None):
        start = self.report.now()
        rc, _, err = self.cluster.ppctl(args, timeout=OP_TIMEOUT_S, feed=feed)
        end = self.report.now()
        value = ABSENT if kind == "rm" else blob
        if kind == "rm" and rc == 2:
            # nothing to remove: an observation that the name is absent
            self.observe_absent(name, "rm", start, err)
            self.history.record(name, start, end, ABSENT, True)
        else:
            self.history.record(name, start, end, value, rc == 0)
        self.unexpected(kind, name, rc, err)
        self.log(client, kind, name, None if kind == "rm" else blob, start, rc, err)
        return rc

    def put(self, client, kind, name, blob, params):
        b = self.blobs[blob]
        if kind == "put_stdin":
            return self.write(client, kind, name, blob, ["put", "-", "--name", name],
                              feed=[(b.data, 0)])
        if kind == "put_slow":
            n = params["pieces"]
            step = -(-b.size // n) if b.size else 1
            pieces = [(b.data[i:i + step], params["piece_pause"])
                      for i in range(0, b.size, step)]
            return self.write(client, kind, name, blob, ["put", "-", "--name", name],
                              feed=pieces)
        return self.write(client, kind, name, blob, ["put", b.path, "--name", name])

    def get(self, client, kind, name, node, replacing=None):
        """A get; with replacing=(blob, head_start) the name is replaced by
        that blob while the get streams (old or new content may come back,
        and the old version's chunks must outlive the download)."""
        out = f"{self.tmp}/client{client}/get.out"
        if os.path.exists(out):
            os.unlink(out)
        start = self.report.now()
        addr = self.cluster.worker_addr[node] if kind == "get_direct" else None
        before = frozenset(self.history.allowed(name))
        if replacing is None:
            rc, _, err = self.cluster.ppctl(["get", name, "-o", out], node=addr,
                                            timeout=OP_TIMEOUT_S)
        else:
            res = {}
            t = threading.Thread(target=lambda: res.update(r=self.cluster.ppctl(
                ["get", name, "-o", out], timeout=OP_TIMEOUT_S)))
            t.start()
            time.sleep(replacing[1])
            self.put(client, "replace", name, replacing[0], {})
            t.join()
            rc, _, err = res["r"]
        end = self.report.now()
        how = f"get via {node}" if addr else ("get during a replace" if replacing else "get")
        if rc == 0:
            self.observe_content(name, sha256_file(out), how, start, before)
        elif rc == 2:
            self.observe_absent(name, how, start, err, before)
        elif rc == 4:
            self.report.violation("integrity_error", name,
                                  f"{how} at {start:.1f}s exited 4: {err.strip()[-300:]}")
        elif (rc == 3 and addr is None and len(before) == 1 and ABSENT not in before
              and ("has no live replica" in err
                   or ("every replica failed" in err and "not found" in err))
              and self.report.quiet(start, end, QUIET_MARGIN_S)):
            # with no fault anywhere near, the file's chunk has no copy where
            # the tracker says (or anywhere)
            self.report.violation(
                "download_cut_by_replace" if replacing else "committed_chunk_missing", name,
                f"{how} at {start:.1f}s, no fault active: {err.strip()[-300:]}; writes: "
                f"{self.history.describe(name)}")
        self.unexpected(kind, name, rc, err)
        self.log(client, kind, name, None, start, rc, err, {"node": node} if addr else None)

    def stat(self, client, name):
        start = self.report.now()
        rc, out, err = self.cluster.ppctl(["stat", name], timeout=OP_TIMEOUT_S, json_out=True)
        if rc == 0:
            try:
                self.observe_content(name, json.loads(out)["sha256"], "stat", start)
            except (ValueError, KeyError) as e:
                self.report.violation("bad_output", name, f"stat --json: {e}")
        elif rc == 2:
            self.observe_absent(name, "stat", start, err)
        self.unexpected("stat", name, rc, err)
        self.log(client, "stat", name, None, start, rc, err)

    def run_op(self, client, kind, name, blob, params):
        if kind in ("put", "put_stdin", "put_slow"):
            self.put(client, kind, name, blob, params)
        elif kind == "rm":
            self.write(client, "rm", name, None, ["rm", name])
        elif kind in ("rm_reput", "rm_reput_fresh"):
            # GC versus re-upload: the same content comes back while the
            # collector may still be deleting its chunks
            if kind == "rm_reput_fresh":
                blob = self.fresh_blob(params["fresh"])
            self.put(client, "put", name, blob, params)
            self.write(client, "rm", name, None, ["rm", name])
            time.sleep(params["pause"])
            if self.write(client, "reput", name, blob,
                          ["put", self.blobs[blob].path, "--name", name]) == 0:
                with self.watch_lock:
                    self.watch[name] = self.report.now() + WATCH_AFTER_S
        elif kind in ("get", "get_direct"):
            self.get(client, kind, name, params["node"])
        elif kind == "get_replace":
            self.get(client, kind, name, None, replacing=(blob, params["head_start"]))
        elif kind == "stat":
            self.stat(client, name)

    def fresh_blob(self, fresh):
        """A blob of its own (seeded content), added to the pool."""
        seed, size = fresh
        data = random.Random(seed).randbytes(size)
        with self.blobs_lock:
            i = len(self.blobs)
            path = f"{self.tmp}/blobs/b{i}.bin"
            with open(path, "wb") as f:
                f.write(data)
            self.blobs.append(Blob(i, data, path))
            self.by_sha[self.blobs[i].sha] = i
        return i

    def client_main(self, client):
        rng = random.Random(f"{self.seed}/client/{client}")
        os.makedirs(f"{self.tmp}/client{client}", exist_ok=True)
        while not self.stop.is_set():
            kind, name, blob, params = self.pick(rng)
            with self.locks[name]:
                if name not in self.reserved and name not in self.watch:
                    self.run_op(client, kind, name, blob, params)
            time.sleep(params["think"])

    def start(self):
        from .audit import Auditor
        self.auditor = Auditor(self)
        self.auditor.start()
        self.threads.append(self.auditor.thread)
        for i in range(CLIENTS):
            t = threading.Thread(target=self.guard, args=(i,), name=f"client{i}", daemon=True)
            t.start()
            self.threads.append(t)

    def guard(self, client):
        try:
            self.client_main(client)
        except Exception as e:  # a harness bug must not pass as a clean run
            if not self.stop.is_set():
                self.report.violation("harness_error", f"client{client}", repr(e))

    def finish(self, timeout=OP_TIMEOUT_S + 30):
        self.stop.set()
        for t in self.threads:
            t.join(timeout)
