"""What each name may hold at a given time, from the writes the workload
made to it.

Operations on one name are serialized by the workload (one lock per name),
so a name's writes form a sequence. A write is acknowledged (ppctl exited 0)
or indeterminate (failed or timed out: it may or may not have taken effect).
An indeterminate write may also land a little after ppctl gave up (the
tracker can still be finishing the commit it was sent), so it stays possible
for LATE_S seconds after it ended, even across a later acknowledged write.

allowed(name) = {value of the last acknowledged write (ABSENT if none)}
              + {value of every indeterminate write after it, or ending
                 less than LATE_S before it started}.
A value is a blob index (file content) or ABSENT (no such file)."""
import threading

ABSENT = None
LATE_S = 10.0


class Write:
    __slots__ = ("start", "end", "value", "acked")

    def __init__(self, start, end, value, acked):
        self.start, self.end, self.value, self.acked = start, end, value, acked


class History:
    def __init__(self, names):
        self._lock = threading.Lock()
        self._writes = {n: [] for n in names}

    def record(self, name, start, end, value, acked):
        with self._lock:
            self._writes[name].append(Write(start, end, value, acked))

    def allowed(self, name):
        with self._lock:
            writes = list(self._writes[name])
        last = None
        for w in writes:
            if w.acked:
                last = w
        out = {last.value if last else ABSENT}
        for w in writes:
            if w.acked:
                continue
            if last is None or w.start > last.start or w.end + LATE_S > last.start:
                out.add(w.value)
        return out

    def describe(self, name, tail=6):
        """The name's last writes, for a violation's detail."""
        with self._lock:
            writes = self._writes[name][-tail:]
        return "; ".join(
            f"{'ack' if w.acked else 'indet'} {'rm' if w.value is ABSENT else 'put b%d' % w.value}"
            f" @{w.start:.1f}-{w.end:.1f}s" for w in writes) or "no writes"


def show(values, blobs):
    """Human form of a set of allowed values."""
    return "{" + ", ".join(sorted("absent" if v is ABSENT else f"b{v}({blobs[v].sha[:12]})"
                                  for v in values)) + "}"
