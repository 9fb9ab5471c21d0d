#!/usr/bin/env python3
"""Checks that every event line in the given service logs is logfmt.

An event line starts with `ts=`; it must parse completely as key=value
pairs (bare values without spaces, quotes or `=`, or double-quoted values
with backslash escapes), and its first four keys must be ts, level,
component and msg. Lines that do not start with `ts=` are not events (a
usage message, a sanitizer report) and are skipped, except lines in the
older `2026-... info tracker msg` shape, which mean a logger bypassed the
format. Exits 1 listing the first offending lines."""
import re
import sys

KEY = r"[A-Za-z_][A-Za-z0-9_.\-]*"
BARE = r"[^\s\"=]+"
QUOTED = r"\"(?:[^\"\\]|\\.)*\""
PAIR = re.compile(rf"({KEY})=({QUOTED}|{BARE}|)(?= |$)")
OLD_SHAPE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z (debug|info|warn|error) ")
HEAD = ["ts", "level", "component", "msg"]
LEVELS = {"debug", "info", "warn", "error"}


def parse(line):
    """The list of (key, raw value), or None when the line is not logfmt."""
    pairs, pos = [], 0
    while pos < len(line):
        m = PAIR.match(line, pos)
        if m is None:
            return None
        pairs.append((m.group(1), m.group(2)))
        pos = m.end()
        if pos < len(line):
            if line[pos] != " ":
                return None
            pos += 1
    return pairs


def problem(line):
    if OLD_SHAPE.match(line):
        return "not logfmt (old `ts level component msg` shape)"
    if not line.startswith("ts="):
        return None
    pairs = parse(line)
    if pairs is None:
        return "does not parse as key=value pairs"
    keys = [k for k, _ in pairs]
    if keys[:4] != HEAD:
        return f"starts with {keys[:4]}, not {HEAD}"
    if pairs[1][1] not in LEVELS:
        return f"unknown level {pairs[1][1]!r}"
    if len(set(keys)) != len(keys):
        return "a key appears twice"
    return None


def main(paths):
    bad, events = [], 0
    for path in paths:
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                for no, raw in enumerate(f, 1):
                    line = raw.rstrip("\n")
                    events += line.startswith("ts=")
                    why = problem(line)
                    if why:
                        bad.append(f"{path}:{no}: {why}: {line[:300]}")
        except OSError as e:
            bad.append(f"{path}: {e}")
    if bad:
        print(f"{len(bad)} log line(s) are not logfmt:", file=sys.stderr)
        for b in bad[:20]:
            print("  " + b, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
