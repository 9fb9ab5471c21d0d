// Offline check of deploy/docker/compose.yaml: it parses (yaml package, with
// merge keys as Compose resolves them), runs a tracker and its standby, three
// workers and the gateway from the one image, and configures them only with
// the flags and PP_* variables DESIGN.md documents for the binary each
// service runs. Workers and the gateway list both trackers, primary first,
// their --tracker/--bus/--events lists paired by position.
//
//   node check-compose.mjs FILE              check FILE
//   node check-compose.mjs --self-test FILE  break FILE in known ways and
//                                            require every break to be caught
import fs from 'node:fs';
import YAML from 'yaml';
import { BINARIES, PORTS, IMAGE, binaryOf, commandWords, flagsIn, flagValue } from './contract.mjs';

const TOP_KEYS = new Set(['name', 'services', 'volumes', 'networks', 'secrets', 'configs']);
const KEY_PATH = '/etc/peer-pressure/key/key';

export function load(file) {
  const doc = YAML.parseDocument(fs.readFileSync(file, 'utf8'), { merge: true, uniqueKeys: true });
  if (doc.errors.length) throw new Error(`${file}: ${doc.errors[0].message}`);
  return doc.toJS({ maxAliasCount: 100 });
}

const asArgv = (cmd) => (Array.isArray(cmd) ? cmd.map(String) : cmd ? ['/bin/sh', '-c', String(cmd)] : []);
const envOf = (s) => (Array.isArray(s.environment)
  ? Object.fromEntries(s.environment.map((e) => [e.split('=')[0], e.split('=').slice(1).join('=')]))
  : { ...(s.environment ?? {}) });
const mountOf = (v) => {
  if (typeof v !== 'string') return { source: v.source, target: v.target, ro: v.read_only === true };
  const [source, target, mode] = v.split(':');
  return { source, target, ro: (mode ?? '').split(',').includes('ro') };
};

export function checkCompose(c) {
  const errs = [];
  for (const k of Object.keys(c)) {
    if (!TOP_KEYS.has(k) && !k.startsWith('x-')) errs.push(`unknown top-level key ${k}`);
  }
  const services = c.services ?? {};
  const byBinary = {};
  for (const [name, s] of Object.entries(services)) {
    const argv = asArgv(s.command ?? s.entrypoint);
    const words = commandWords(argv);
    const bin = binaryOf(words.join(' '));
    const env = envOf(s);
    if (s.image !== IMAGE) errs.push(`${name}: image ${s.image}, want ${IMAGE}`);
    if (s.privileged) errs.push(`${name}: privileged`);
    if (s.user !== undefined && /^(0|root)(:|$)/.test(String(s.user))) errs.push(`${name}: runs as root`);
    if (s.env_file) errs.push(`${name}: env_file hides which variables are set`);

    if (bin) {
      (byBinary[bin] ??= []).push(name);
      for (const k of Object.keys(env)) {
        if (!BINARIES[bin].env.includes(k)) errs.push(`${name}: env ${k} is not documented for ${bin}`);
      }
      for (const f of flagsIn(words)) {
        if (!BINARIES[bin].flags.includes(f)) errs.push(`${name}: ${bin} has no flag --${f}`);
      }
    } else if (Object.keys(env).length) {
      errs.push(`${name}: sets variables but runs no Peer Pressure binary`);
    }

    // Health checks run ppctl (documented flags and verbs) or curl.
    const test = s.healthcheck?.test;
    if (bin && !test) errs.push(`${name}: no healthcheck`);
    if (test) {
      const hw = commandWords(test[0] === 'CMD-SHELL' ? ['/bin/sh', '-c', test[1]] : test.slice(1));
      const hbin = binaryOf(hw.join(' '));
      if (hbin === 'ppctl') {
        for (const f of flagsIn(hw)) if (!BINARIES.ppctl.flags.includes(f)) errs.push(`${name}: healthcheck: ppctl has no flag --${f}`);
        if (!BINARIES.ppctl.verbs.includes(hw.at(-1))) errs.push(`${name}: healthcheck: ppctl verb ${hw.at(-1)} is not documented`);
        if (flagValue(hw, 'key-file') !== KEY_PATH) errs.push(`${name}: healthcheck does not pass --key-file`);
      } else if (!/curl$/.test(hw[0] ?? '')) {
        errs.push(`${name}: healthcheck runs ${hw[0]}, not ppctl or curl`);
      }
    }

    // Key: every service of ours mounts it read-only and points at it.
    if (bin) {
      const keyMount = (s.volumes ?? []).map(mountOf).find((m) => m.target === KEY_PATH.replace(/\/key$/, ''));
      if (!keyMount) errs.push(`${name}: does not mount the cluster key`);
      else if (!keyMount.ro) errs.push(`${name}: cluster key mounted read-write`);
      if ((env.PP_KEY_FILE ?? flagValue(words, 'key-file')) !== KEY_PATH) errs.push(`${name}: PP_KEY_FILE is not ${KEY_PATH}`);
    }
  }

  const count = (b) => (byBinary[b] ?? []).length;
  if (count('pp-tracker') !== 2) errs.push(`${count('pp-tracker')} trackers, want 2 (primary and standby)`);
  if (count('pp-worker') !== 3) errs.push(`${count('pp-worker')} workers, want 3`);
  if (count('pp-gateway') !== 1) errs.push(`${count('pp-gateway')} gateways, want 1`);

  // One primary; every other tracker follows its rpc port.
  const followOf = (name) => flagValue(commandWords(asArgv(services[name].command ?? services[name].entrypoint)), 'follow');
  const primaries = (byBinary['pp-tracker'] ?? []).filter((n) => followOf(n) === undefined);
  if (primaries.length !== 1) errs.push(`${primaries.length} trackers run without --follow, want 1 primary`);
  const tracker = primaries[0];
  const standbys = (byBinary['pp-tracker'] ?? []).filter((n) => n !== tracker);
  for (const name of standbys) {
    if (followOf(name) !== `tcp://${tracker}:${PORTS.trackerRpc}`) {
      errs.push(`${name}: --follow ${followOf(name)} is not the primary tcp://${tracker}:${PORTS.trackerRpc}`);
    }
  }
  // Primary first, so a client's first try is the one that takes writes.
  const trackers = [tracker, ...standbys];
  const list = (port) => trackers.map((t) => `tcp://${t}:${port}`).join(',');
  const dbVolumes = new Map();
  for (const name of trackers.filter(Boolean)) {
    const dbDir = String(envOf(services[name]).PP_DB ?? '').replace(/\/[^/]*$/, '');
    const vol = (services[name].volumes ?? []).map(mountOf).find((m) => m.target === dbDir && !m.ro);
    if (vol && dbVolumes.has(vol.source)) errs.push(`${name}: shares volume ${vol.source} with ${dbVolumes.get(vol.source)}`);
    if (vol) dbVolumes.set(vol.source, name);
  }
  const ids = new Set();
  for (const name of byBinary['pp-worker'] ?? []) {
    const env = envOf(services[name]);
    if (!env.PP_ID || ids.has(env.PP_ID)) errs.push(`${name}: PP_ID missing or not unique`);
    ids.add(env.PP_ID);
    if (env.PP_ADVERTISE !== `tcp://${name}:${PORTS.worker}`) errs.push(`${name}: PP_ADVERTISE ${env.PP_ADVERTISE} is not tcp://${name}:${PORTS.worker}`);
    if (env.PP_LISTEN !== `tcp://0.0.0.0:${PORTS.worker}`) errs.push(`${name}: PP_LISTEN ${env.PP_LISTEN}`);
    if (env.PP_TRACKER !== list(PORTS.trackerRpc)) errs.push(`${name}: PP_TRACKER ${env.PP_TRACKER} is not ${list(PORTS.trackerRpc)}`);
    if (env.PP_BUS !== list(PORTS.trackerBus)) errs.push(`${name}: PP_BUS ${env.PP_BUS} is not ${list(PORTS.trackerBus)}`);
    if (!/^[0-9]+$/.test(String(env.PP_CAPACITY ?? ''))) errs.push(`${name}: PP_CAPACITY is not a byte count`);
    const data = (services[name].volumes ?? []).map(mountOf).find((m) => m.target === env.PP_DATA);
    if (!data || data.ro || !(data.source in (c.volumes ?? {}))) errs.push(`${name}: PP_DATA ${env.PP_DATA} is not on a named volume`);
  }
  for (const name of byBinary['pp-tracker'] ?? []) {
    const env = envOf(services[name]);
    const want = { PP_LISTEN: PORTS.trackerRpc, PP_BUS: PORTS.trackerBus, PP_EVENTS: PORTS.trackerEvents };
    for (const [k, p] of Object.entries(want)) if (env[k] !== `tcp://0.0.0.0:${p}`) errs.push(`${name}: ${k} ${env[k]}`);
    const dbDir = String(env.PP_DB ?? '').replace(/\/[^/]*$/, '');
    if (!(services[name].volumes ?? []).map(mountOf).some((m) => m.target === dbDir && !m.ro)) errs.push(`${name}: PP_DB is not on a volume`);
  }
  for (const name of byBinary['pp-gateway'] ?? []) {
    const s = services[name];
    const env = envOf(s);
    if (env.PP_HTTP !== `0.0.0.0:${PORTS.gateway}`) errs.push(`${name}: PP_HTTP ${env.PP_HTTP}`);
    if (env.PP_TRACKER !== list(PORTS.trackerRpc)) errs.push(`${name}: PP_TRACKER ${env.PP_TRACKER} is not ${list(PORTS.trackerRpc)}`);
    if (env.PP_EVENTS !== list(PORTS.trackerEvents)) errs.push(`${name}: PP_EVENTS ${env.PP_EVENTS} is not ${list(PORTS.trackerEvents)}`);
    if (!(s.ports ?? []).some((p) => String(p.target ?? p).endsWith(`:${PORTS.gateway}`))) errs.push(`${name}: port ${PORTS.gateway} not published`);
  }
  for (const [name, s] of Object.entries(services)) {
    for (const dep of Object.keys(Array.isArray(s.depends_on) ? Object.fromEntries(s.depends_on.map((d) => [d, 1])) : s.depends_on ?? {})) {
      if (!services[dep]) errs.push(`${name}: depends on unknown service ${dep}`);
    }
    for (const m of (s.volumes ?? []).map(mountOf)) {
      if (!m.source?.startsWith('/') && !m.source?.startsWith('.') && !(m.source in (c.volumes ?? {}))) {
        errs.push(`${name}: volume ${m.source} is not declared`);
      }
    }
  }
  return errs;
}

const MUTATIONS = [
  ['undocumented env', /worker-1: env PP_THREADS is not documented/, (c) => { c.services['worker-1'].environment.PP_THREADS = '4'; }],
  ['env of another binary', /gateway: env PP_DB is not documented for pp-gateway/, (c) => { c.services.gateway.environment.PP_DB = '/x'; }],
  ['undocumented flag', /tracker: pp-tracker has no flag --verbose/, (c) => { c.services.tracker.command.push('--verbose'); }],
  ['two workers', /2 workers, want 3/, (c) => { delete c.services['worker-3']; }],
  ['other image', /worker-2: image peer-pressure:latest/, (c) => { c.services['worker-2'].image = 'peer-pressure:latest'; }],
  ['advertise wrong', /worker-1: PP_ADVERTISE/, (c) => { c.services['worker-1'].environment.PP_ADVERTISE = 'tcp://127.0.0.1:7100'; }],
  ['duplicate id', /worker-2: PP_ID missing or not unique/, (c) => { c.services['worker-2'].environment.PP_ID = 'worker-1'; }],
  ['key read-write', /gateway: cluster key mounted read-write/, (c) => {
    c.services.gateway.volumes = c.services.gateway.volumes.map((v) => v.replace(/:ro$/, ''));
  }],
  ['bad healthcheck verb', /tracker: healthcheck: ppctl verb pong/, (c) => {
    const t = c.services.tracker.healthcheck.test;
    t[t.length - 1] = 'pong';
  }],
  ['undeclared volume', /worker-3: volume lost-data is not declared/, (c) => {
    c.services['worker-3'].volumes[0] = 'lost-data:/var/lib/pp';
  }],
  ['root', /gateway: runs as root/, (c) => { c.services.gateway.user = 'root'; }],
  ['tracker bus', /worker-1: PP_BUS/, (c) => { c.services['worker-1'].environment.PP_BUS = 'tcp://tracker:7002'; }],
  ['no standby', /1 trackers, want 2/, (c) => { delete c.services['tracker-standby']; }],
  ['standby follows nothing', /2 trackers run without --follow/, (c) => { c.services['tracker-standby'].command = ['pp-tracker']; }],
  ['standby follows the bus', /tracker-standby: --follow tcp:\/\/tracker:7001 is not the primary/, (c) => {
    c.services['tracker-standby'].command = ['pp-tracker', '--follow', 'tcp://tracker:7001'];
  }],
  ['worker knows only the primary', /worker-2: PP_TRACKER tcp:\/\/tracker:7000 is not/, (c) => {
    c.services['worker-2'].environment.PP_TRACKER = 'tcp://tracker:7000';
  }],
  ['bus list not paired with the tracker list', /worker-3: PP_BUS .* is not/, (c) => {
    c.services['worker-3'].environment.PP_BUS = 'tcp://tracker-standby:7001,tcp://tracker:7001';
  }],
  ['gateway events from the primary only', /gateway: PP_EVENTS tcp:\/\/tracker:7002 is not/, (c) => {
    c.services.gateway.environment.PP_EVENTS = 'tcp://tracker:7002';
  }],
  ['trackers share a database volume', /tracker-standby: shares volume tracker-data/, (c) => {
    c.services['tracker-standby'].volumes[0] = 'tracker-data:/var/lib/pp';
  }],
];

function main(argv) {
  let failures = [];
  if (argv[0] === '--self-test') {
    const good = load(argv[1]);
    const base = checkCompose(good);
    if (base.length) failures = ['self-test needs a clean compose file:', ...base];
    else {
      for (const [name, expect, mutate] of MUTATIONS) {
        const c = structuredClone(good);
        mutate(c);
        const errs = checkCompose(c);
        if (!errs.some((e) => expect.test(e))) failures.push(`not caught: ${name}; got: ${errs.join(' | ') || 'no error'}`);
      }
      console.log(`self-test: ${MUTATIONS.length - failures.length}/${MUTATIONS.length} broken compose files caught`);
    }
  } else if (argv.length === 1) {
    const c = load(argv[0]);
    failures = checkCompose(c);
    console.log(`${argv[0]}: ${Object.keys(c.services ?? {}).length} services, ${failures.length} problems`);
  } else {
    console.error('usage: check-compose.mjs [--self-test] FILE');
    return 1;
  }
  for (const f of failures) console.error(`FAIL ${f}`);
  return failures.length ? 1 : 0;
}

process.exitCode = main(process.argv.slice(2));
