"""The cluster under test: one pp-tracker and N pp-workers as real processes
on 127.0.0.1, plus every ppctl the workload starts. Each worker's data dir
is its own tmpfs when the harness may mount (so a disk can be filled);
otherwise a full disk is simulated with --capacity.

Invariant: every process is started here and tracked by PID; a Proc whose
exit the harness did not cause is a crash. stop_all() ends them all."""
import hashlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import threading
import time

SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:", "LeakSanitizer")
TMPFS_BYTES = 48 << 20
FILL_LEAVE_BYTES = 16 << 10  # less than one chunk stays free on a filled disk
FILL_NAME = "chaos-fill.junk"


def free_port(taken):
    """A loopback port nothing listens on, below the ephemeral range so no
    outgoing connection takes it while its owner restarts."""
    rng = random.SystemRandom()
    for _ in range(500):
        p = rng.randrange(10000, 32000)
        if p in taken:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", p))
            except OSError:
                continue
        taken.add(p)
        return p
    raise RuntimeError("no free port")


class Proc:
    """One service process, restartable with the same flags. expect_exit is
    set (under Cluster.lock) before the harness signals it."""

    def __init__(self, name, argv, env, log_path):
        self.name, self.argv, self.env, self.log_path = name, argv, env, log_path
        self.extra = []  # flags for the next start only (capacity fallback)
        self.popen = None
        self.expect_exit = False
        self.frozen = False
        self.starts = 0

    def start(self):
        self.starts += 1
        with open(self.log_path, "ab") as log:
            log.write(f"=== chaos: start #{self.starts} {time.strftime('%H:%M:%S')} "
                      f"{' '.join(self.extra)} ===\n".encode())
            log.flush()
            self.popen = subprocess.Popen(self.argv + self.extra, stdin=subprocess.DEVNULL,
                                          stdout=log, stderr=log, env=self.env,
                                          start_new_session=True)
        self.expect_exit = False
        self.frozen = False

    def alive(self):
        return self.popen is not None and self.popen.poll() is None

    def signal(self, sig):
        if self.alive():
            os.kill(self.popen.pid, sig)

    def wait(self, timeout):
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return None


class Cluster:
    def __init__(self, bin_dir, tmp, report, workers=5, chunk_size="64KiB"):
        self.bin_dir, self.tmp, self.report = bin_dir, tmp, report
        self.lock = threading.RLock()  # guards Proc state changes
        self.ports = set()
        self.env = dict(os.environ)
        for k in ("PP_TRACKER", "PP_NODE", "PP_KEY_FILE"):
            self.env.pop(k, None)
        self.env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=1")
        self.env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
        self.logs = f"{tmp}/logs"
        os.makedirs(self.logs, exist_ok=True)
        tp, bp, ep = (free_port(self.ports) for _ in range(3))
        self.tracker_addr = f"tcp://127.0.0.1:{tp}"
        self.bus_addr = f"tcp://127.0.0.1:{bp}"
        self.tracker = Proc("tracker", [
            f"{bin_dir}/pp-tracker", "--listen", self.tracker_addr, "--bus", self.bus_addr,
            "--events", f"tcp://127.0.0.1:{ep}", "--db", f"{tmp}/tracker.db",
            "--chunk-size", chunk_size, "--replication", "2", "--gc-grace-s", "3",
            "--heartbeat-ms", "200", "--suspect-ms", "1000", "--dead-ms", "2000",
            "--maintenance-timeout-s", "15"], self.env, f"{self.logs}/tracker.log")
        wenv = dict(self.env, PP_INVENTORY_INTERVAL_S="3")
        self.workers = {}
        self.worker_addr = {}
        self.data_dir = {}
        self.mounted = []
        self.tmpfs = os.geteuid() == 0
        for i in range(1, workers + 1):
            wid = f"w{i}"
            port = free_port(self.ports)
            self.worker_addr[wid] = f"tcp://127.0.0.1:{port}"
            d = f"{tmp}/{wid}"
            os.makedirs(d)
            self.data_dir[wid] = d
            self.workers[wid] = Proc(wid, [
                f"{bin_dir}/pp-worker", "--id", wid, "--listen", self.worker_addr[wid],
                "--tracker", self.tracker_addr, "--bus", self.bus_addr, "--data", d,
                "--heartbeat-ms", "200"], wenv, f"{self.logs}/{wid}.log")
        self.ppctl_procs = set()  # live ppctl Popens, for cleanup

    # ---- processes ----

    def procs(self):
        return [self.tracker] + list(self.workers.values())

    def mount_disks(self):
        """A tmpfs per worker; on any failure fall back to --capacity fills."""
        if not self.tmpfs:
            return
        for wid, d in self.data_dir.items():
            r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_BYTES},mode=0755",
                                "tmpfs", d], capture_output=True, text=True)
            if r.returncode != 0:
                self.report.progress(f"tmpfs not available ({r.stderr.strip()}): "
                                     "disk fills use --capacity")
                self.tmpfs = False
                return
            self.mounted.append(d)

    def start(self):
        self.mount_disks()
        self.start_tracker()
        for w in self.workers.values():
            w.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.nodes_up() == len(self.workers):
                return
            time.sleep(0.2)
        raise RuntimeError("workers did not come up within 30 s")

    def start_tracker(self):
        """(Re)starts the tracker and waits until it answers. A restart right
        after a kill may find its port still held for a moment: retried."""
        for attempt in range(5):
            with self.lock:
                self.tracker.start()
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                if not self.tracker.alive():
                    break
                if self.ppctl(["ping"], timeout=5)[0] == 0:
                    return True
                time.sleep(0.1)
            if self.tracker.alive():
                return False  # up but not answering: the checker will tell
            with open(self.tracker.log_path, "rb") as f:
                tail = f.read()[-2000:].decode(errors="replace")
            if "cannot listen" not in tail:
                return False  # crashed at start: the monitor reports it
            with self.lock:
                self.tracker.expect_exit = True
            time.sleep(0.5 * (attempt + 1))
        return False

    def kill(self, proc, sig):
        """Delivers sig to proc as a fault the harness intends."""
        with self.lock:
            if sig in (signal.SIGKILL, signal.SIGTERM):
                proc.expect_exit = True
            if sig == signal.SIGSTOP:
                proc.frozen = True
            if sig == signal.SIGCONT:
                proc.frozen = False
            proc.signal(sig)
        if sig == signal.SIGKILL:
            proc.wait(10)

    def unexpected_exits(self):
        """Procs that exited without the harness asking: (proc, returncode)."""
        out = []
        with self.lock:
            for p in self.procs():
                if p.popen is not None and not p.expect_exit and p.popen.poll() is not None:
                    out.append((p, p.popen.returncode))
                    p.expect_exit = True  # reported once
        return out

    def stop_all(self, timeout=15):
        """SIGCONT + SIGTERM to everything alive (services and ppctl), then
        SIGKILL what is left. Returns {name: returncode} for the services the
        harness terminated here."""
        rcs = {}
        with self.lock:
            live = [p for p in self.procs() if p.alive()]
            for p in live:
                p.expect_exit = True
                p.signal(signal.SIGCONT)
                p.signal(signal.SIGTERM)
            for pp in list(self.ppctl_procs):
                try:
                    pp.kill()
                except OSError:
                    pass
        deadline = time.monotonic() + timeout
        for p in live:
            rc = p.wait(max(0.1, deadline - time.monotonic()))
            if rc is None:
                self.dump_stacks(p)
                p.signal(signal.SIGKILL)
                p.wait(5)
                rc = "hung"
            rcs[p.name] = rc
        return rcs

    def dump_stacks(self, proc):
        """Every thread's backtrace of a hung process, next to its log."""
        path = f"{self.logs}/{proc.name}.hang-{proc.popen.pid}.txt"
        try:
            with open(path, "w") as f:
                subprocess.run(["gdb", "-p", str(proc.popen.pid), "-batch", "-nx",
                                "-ex", "thread apply all bt"], stdout=f, stderr=f, timeout=60)
            self.report.progress(f"{proc.name} hung: backtraces in {path}")
        except (OSError, subprocess.TimeoutExpired):
            pass

    def unmount_disks(self):
        for d in self.mounted:
            if subprocess.run(["umount", d], capture_output=True).returncode != 0:
                subprocess.run(["umount", "-l", d], capture_output=True)
        self.mounted = []

    # ---- disks ----

    def fill(self, wid):
        """Fills the worker's tmpfs but FILL_LEAVE_BYTES. Returns bytes written."""
        d = self.data_dir[wid]
        st = os.statvfs(d)
        want = st.f_bavail * st.f_frsize - FILL_LEAVE_BYTES
        done = 0
        block = b"\xa5" * (1 << 20)
        try:
            with open(f"{d}/{FILL_NAME}", "ab") as f:
                while done < want:
                    n = min(len(block), want - done)
                    f.write(block[:n])
                    done += n
        except OSError:
            pass  # ENOSPC: the worker raced us for the last bytes; full is full
        return done

    def wipe(self, wid):
        """A lost disk: everything in the (stopped) worker's data dir goes."""
        d = self.data_dir[wid]
        for entry in os.listdir(d):
            path = f"{d}/{entry}"
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                os.unlink(path)

    def unfill(self, wid):
        try:
            os.unlink(f"{self.data_dir[wid]}/{FILL_NAME}")
        except FileNotFoundError:
            pass

    def chunk_bytes(self, wid):
        total = 0
        for root, _, files in os.walk(f"{self.data_dir[wid]}/chunks"):
            for f in files:
                try:
                    total += os.stat(f"{root}/{f}").st_size
                except OSError:
                    pass
        return total

    # ---- ppctl ----

    def ppctl(self, args, node=None, timeout=60, feed=None, json_out=False):
        """Runs ppctl; returns (rc, stdout, stderr). rc is None on timeout
        (the process is killed). feed: list of (bytes, pause_s) for stdin."""
        argv = [f"{self.bin_dir}/ppctl"]
        argv += ["--node", node] if node else ["--tracker", self.tracker_addr]
        if json_out:
            argv.append("--json")
        argv += args
        p = subprocess.Popen(argv, stdin=subprocess.PIPE if feed is not None else subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.env,
                             start_new_session=True)
        with self.lock:
            self.ppctl_procs.add(p)
        timed_out = threading.Event()

        def expire():
            timed_out.set()
            try:
                p.kill()
            except OSError:
                pass
        timer = threading.Timer(timeout, expire)
        timer.daemon = True
        timer.start()
        try:
            if feed is not None:
                try:
                    for data, pause in feed:
                        p.stdin.write(data)
                        p.stdin.flush()
                        if pause:
                            time.sleep(pause)
                    p.stdin.close()
                except (BrokenPipeError, ValueError, OSError):
                    pass
                p.stdin = None
            out, err = p.communicate()
        finally:
            timer.cancel()
            with self.lock:
                self.ppctl_procs.discard(p)
        err = err.decode(errors="replace")
        if any(m in err for m in SANITIZER_MARKERS):
            self.report.violation("sanitizer", "ppctl", f"ppctl {' '.join(args)}: {err[-1500:]}")
        return (None if timed_out.is_set() else p.returncode), out, err

    def json(self, args, timeout=20):
        rc, out, _ = self.ppctl(args, timeout=timeout, json_out=True)
        if rc != 0:
            return None
        try:
            return json.loads(out)
        except ValueError:
            return None

    def health(self):
        return self.json(["health"])

    def nodes(self):
        j = self.json(["nodes"])
        return None if j is None else {n["id"]: n for n in j.get("nodes", [])}

    def nodes_up(self):
        n = self.nodes()
        return 0 if n is None else sum(1 for v in n.values() if v.get("state") == "up")


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()
