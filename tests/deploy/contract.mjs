// The public interface of the binaries as DESIGN.md ("Binaries") names it:
// flags and environment variables per binary, and the ports the deployment
// uses. The deploy checks compare manifests and the compose file against
// this table, so a flag or variable that no binary reads is caught offline.
// Keep it in step with DESIGN.md, never with what the manifests happen to use.

export const BINARIES = {
  'pp-tracker': {
    flags: ['listen', 'bus', 'events', 'db', 'chunk-size', 'replication', 'heartbeat-ms',
      'suspect-ms', 'dead-ms', 'key-file', 'metrics', 'follow', 'rebuild', 'help', 'version'],
    env: ['PP_LISTEN', 'PP_BUS', 'PP_EVENTS', 'PP_DB', 'PP_CHUNK_SIZE', 'PP_REPLICATION',
      'PP_HEARTBEAT_MS', 'PP_SUSPECT_MS', 'PP_DEAD_MS', 'PP_KEY_FILE', 'PP_METRICS'],
  },
  'pp-worker': {
    flags: ['id', 'listen', 'advertise', 'tracker', 'bus', 'data', 'capacity', 'zone',
      'key-file', 'metrics', 'help', 'version'],
    env: ['PP_ID', 'PP_LISTEN', 'PP_ADVERTISE', 'PP_TRACKER', 'PP_BUS', 'PP_DATA',
      'PP_CAPACITY', 'PP_ZONE', 'PP_KEY_FILE', 'PP_METRICS'],
  },
  'pp-gateway': {
    flags: ['http', 'tracker', 'events', 'web-root', 'token-file', 'key-file', 'max-upload',
      'metrics', 'help', 'version'],
    env: ['PP_HTTP', 'PP_TRACKER', 'PP_EVENTS', 'PP_WEB_ROOT', 'PP_TOKEN_FILE', 'PP_KEY_FILE',
      'PP_MAX_UPLOAD', 'PP_METRICS'],
  },
  // Global flags, then the verbs' own flags (put --name/--replication, get -o).
  ppctl: {
    flags: ['tracker', 'node', 'key-file', 'json', 'name', 'replication', 'help', 'version'],
    env: ['PP_TRACKER', 'PP_NODE', 'PP_KEY_FILE'],
    verbs: ['put', 'get', 'ls', 'stat', 'rm', 'nodes', 'health', 'ping', 'drain', 'maintenance',
      'backup', 'promote'],
  },
};

// Every variable DESIGN.md documents, for any binary.
export const DOCUMENTED_ENV = [...new Set(Object.values(BINARIES).flatMap((b) => b.env))].sort();

// Variables the deployment defines for its own wiring (downward API values
// that flags are built from, the trackers' stable names, the ConfigMap that
// names the primary tracker). Listed one by one on purpose: anything else
// that is not in DOCUMENTED_ENV is an error.
export const DEPLOY_HELPER_ENV = ['POD_NAME', 'POD_NAMESPACE', 'NODE_NAME', 'TRACKER_0', 'TRACKER_1',
  'TRACKER_PRIMARY'];

export const PORTS = { trackerRpc: 7000, trackerBus: 7001, trackerEvents: 7002, worker: 7100, gateway: 8080 };

// --metrics ports (Prometheus scrapes pods by annotation; no Service needed).
export const METRICS_PORTS = { 'pp-tracker': 7090, 'pp-worker': 7190, 'pp-gateway': 7091 };

export const IMAGE = 'peer-pressure:0.1.0';

// Which of our programs a command line runs: the first binary named in it.
export function binaryOf(text) {
  const m = /(?:^|[\s/"'])(pp-tracker|pp-worker|pp-gateway|ppctl|pp-node-zone)(?=$|[\s"'])/.exec(text);
  return m ? m[1] : null;
}

// Splits a shell command into words: joins backslash-newlines, honours
// single and double quotes (keeping $VAR text as is), drops comments.
// Enough for the short scripts in the manifests, not a shell.
export function shellWords(script) {
  const words = [];
  let cur = null;
  let quote = null;
  const s = script.replace(/\\\n/g, ' ');
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quote) {
      if (c === quote) quote = null;
      else cur += c;
      continue;
    }
    if (c === '"' || c === "'") {
      quote = c;
      cur = cur ?? '';
      continue;
    }
    if (c === '#' && cur === null) {
      while (i < s.length && s[i] !== '\n') i++;
      continue;
    }
    if (/\s/.test(c) || c === ';') {
      if (cur !== null) words.push(cur);
      cur = null;
      if (c === '\n' || c === ';') words.push('\n');
      continue;
    }
    cur = (cur ?? '') + c;
  }
  if (cur !== null) words.push(cur);
  return words;
}

// The words of a container command: exec form as given, `sh -c SCRIPT`
// split into shell words.
export function commandWords(argv) {
  const words = [];
  for (let i = 0; i < argv.length; i++) {
    const a = String(argv[i]);
    if (/(^|\/)(ba)?sh$/.test(a) && argv[i + 1] === '-c') {
      words.push(...shellWords(argv.slice(i + 2).join(' ')));
      break;
    }
    words.push(a);
  }
  return words;
}

// Long flags named in a list of words (`--name`, `--name=value`, also inside
// `${x:+--name "$x"}`), without their dashes.
export function flagsIn(words) {
  const out = [];
  for (const w of words) {
    for (const m of w.matchAll(/(?<![A-Za-z0-9-])--([a-z][a-z0-9-]*)/g)) out.push(m[1]);
  }
  return out;
}

// The value given to --flag in words (`--flag V` or `--flag=V`), or undefined.
export function flagValue(words, flag) {
  for (let i = 0; i < words.length; i++) {
    const w = words[i].replace(/^.*?(?<![A-Za-z0-9-])(--[a-z])/, '$1');
    if (w === `--${flag}`) return words[i + 1];
    if (w.startsWith(`--${flag}=`)) return w.slice(flag.length + 3);
  }
  return undefined;
}

// Replaces $VAR, ${VAR} and $(VAR) with values from env (an object).
export function expandVars(text, env) {
  return String(text).replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (all, a, b, c) => {
      const k = a ?? b ?? c;
      return Object.hasOwn(env, k) ? env[k] : all;
    });
}

// Kubernetes quantity to a number (bytes, or cores for CPU); NaN if malformed.
export function quantity(q) {
  const m = /^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?$/.exec(String(q));
  if (!m) return NaN;
  const mult = {
    Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
    m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  }[m[2]] ?? 1;
  return Number(m[1]) * mult;
}
