// The roles of the tracker StatefulSet's pods (primary, standby), found by
// running the container's start script under /bin/sh for every pod and every
// value of the ConfigMap that names the primary, with stand-ins for the
// binaries that record their arguments. Invariants: exactly one pod runs
// without --follow, every other follows that pod's rpc port by its stable
// name; a ConfigMap naming anything else stops the pod before the tracker
// starts; a reseed.db left on the volume replaces the database and its WAL.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PORTS, flagValue } from './contract.mjs';
import { NAMESPACE, find, podSpec, replicasOf, serviceBinary, resolveAddress } from './k8s-model.mjs';

export const PRIMARY_CONFIGMAP = 'pp-tracker-primary';
const BIN_DIR = '/opt/pp/bin';

// The container's environment with real values for pod `pod`; `primary` is
// what the ConfigMap holds (undefined: there is none).
function podEntries(c, pod, primary) {
  const env = {};
  for (const e of c.env ?? []) {
    const f = e.valueFrom;
    let v;
    if (!f) v = String(e.value ?? '').replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (all, k) => env[k] ?? all);
    else if (f.fieldRef?.fieldPath === 'metadata.name') v = pod;
    else if (f.fieldRef?.fieldPath === 'metadata.namespace') v = NAMESPACE;
    else if (f.configMapKeyRef) v = primary;
    if (v !== undefined) env[e.name] = v;
  }
  return env;
}

// Runs the start script of container c as pod `pod` on a data volume
// holding `files` (name -> text). { code, argv, stderr, files }: argv is what
// the tracker binary was started with (null: it was not), with the volume's
// path as DATA; files what the volume holds afterwards. Runs are cached by
// everything they depend on: most self-test breaks leave the script alone.
const runs = new Map();
function runStart(script, c, pod, primary, dataMount, files) {
  const env = podEntries(c, pod, primary);
  const key = JSON.stringify([script, env, dataMount, files]);
  if (!runs.has(key)) runs.set(key, runFresh(script, env, dataMount, files));
  return runs.get(key);
}

function runFresh(script, env, dataMount, files) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pp-tracker-start-'));
  const data = path.join(tmp, 'data');
  const out = path.join(tmp, 'argv');
  fs.mkdirSync(data);
  for (const [f, text] of Object.entries(files)) fs.writeFileSync(path.join(data, f), text);
  for (const b of ['pp-tracker', 'ppctl']) {
    fs.writeFileSync(path.join(tmp, b), `#!/bin/sh\nprintf '%s\\n' "$@" >"${out}"\n`, { mode: 0o755 });
  }
  const text = script
    .replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (all, k) => env[k] ?? all)
    .replaceAll(`${BIN_DIR}/`, `${tmp}/`)
    .replaceAll(dataMount, data);
  let code = 0;
  let stderr = '';
  try {
    execFileSync('/bin/sh', ['-c', text], {
      env: { ...env, PATH: '/usr/bin:/bin' }, stdio: ['ignore', 'pipe', 'pipe'], timeout: 10000, encoding: 'utf8',
    });
  } catch (e) {
    code = e.status ?? 1;
    stderr = String(e.stderr ?? e.message).trim();
  }
  const argv = fs.existsSync(out)
    ? fs.readFileSync(out, 'utf8').split('\n').slice(0, -1).map((a) => a.replaceAll(data, 'DATA'))
    : null;
  const after = Object.fromEntries(fs.readdirSync(data).map((f) => [f, fs.readFileSync(path.join(data, f), 'utf8')]));
  fs.rmSync(tmp, { recursive: true, force: true });
  return { code, argv, stderr, files: after };
}

// { errors, follows: [{ pod, primary, address }] }.
export function trackerRoles(objs) {
  const o = find(objs, 'StatefulSet', 'pp-tracker');
  if (!o) return { errors: [], follows: [] };
  const errors = [];
  const follows = [];
  const spec = podSpec(o);
  const c = spec.containers.find((x) => serviceBinary(x) === 'pp-tracker');
  if (!c) return { errors: ['pp-tracker: no container runs pp-tracker'], follows };
  const pods = [...Array(replicasOf(o)).keys()].map((i) => `${o.metadata.name}-${i}`);

  const fromConfigMap = (c.env ?? []).filter((e) => e.valueFrom?.configMapKeyRef);
  if (fromConfigMap.length !== 1 || fromConfigMap[0].valueFrom.configMapKeyRef.name !== PRIMARY_CONFIGMAP) {
    errors.push(`pp-tracker: want one variable from ConfigMap ${PRIMARY_CONFIGMAP} (the primary's pod name)`);
  } else if (fromConfigMap[0].valueFrom.configMapKeyRef.optional !== true) {
    errors.push(`pp-tracker: ConfigMap ${PRIMARY_CONFIGMAP} is not optional: no tracker starts until the operator creates it`);
  }
  if (find(objs, 'ConfigMap', PRIMARY_CONFIGMAP)) {
    errors.push(`pp-tracker: ConfigMap ${PRIMARY_CONFIGMAP} is in the manifests: every apply would undo a failover`);
  }

  const argv = [...(c.command ?? []), ...(c.args ?? [])].map(String);
  if (!(/(^|\/)(ba)?sh$/.test(argv[0]) && argv[1] === '-c' && argv.length === 3)) {
    if (pods.length > 1) errors.push('pp-tracker: the command is not `sh -c SCRIPT`: every pod would start in the same role');
    return { errors, follows };
  }
  const dataMount = (c.volumeMounts ?? []).find((m) => (o.spec.volumeClaimTemplates ?? []).some((v) => v.metadata.name === m.name))?.mountPath;
  if (!dataMount) return { errors: [...errors, 'pp-tracker: no volume from a volumeClaimTemplate'], follows };

  const run = (pod, primary, files = {}) => runStart(argv[2], c, pod, primary, dataMount, files);
  for (const primary of [undefined, ...pods]) {
    const want = primary ?? pods[0];
    for (const pod of pods) {
      const where = `pp-tracker: ${pod} (ConfigMap ${primary === undefined ? 'absent' : `names ${primary}`})`;
      const r = run(pod, primary);
      if (!r.argv) {
        errors.push(`${where}: the tracker does not start (exit ${r.code}: ${r.stderr})`);
        continue;
      }
      const db = flagValue(r.argv, 'db');
      if (!db || path.dirname(db) !== 'DATA') errors.push(`${where}: --db ${db} is not on the data volume ${dataMount}`);
      const follow = flagValue(r.argv, 'follow');
      if (pod === want) {
        if (follow !== undefined) errors.push(`${where}: the primary runs --follow ${follow}`);
        continue;
      }
      if (follow === undefined) {
        errors.push(`${where}: a second primary (no --follow ${want})`);
        continue;
      }
      const to = resolveAddress(objs, follow);
      if (to.error) errors.push(`${where}: --follow ${to.error}`);
      else if (to.owner !== o || pods[to.ordinal] !== want || to.port !== PORTS.trackerRpc) {
        errors.push(`${where}: --follow ${follow} is not ${want}'s rpc port ${PORTS.trackerRpc}`);
      } else {
        follows.push({ pod, primary: want, address: follow });
      }
    }
  }
  for (const bad of ['pp-worker-0', 'pp-tracker-x', 'pp-tracker-0.evil']) {
    if (run(pods.at(-1), bad).argv) errors.push(`pp-tracker: starts although ConfigMap ${PRIMARY_CONFIGMAP} names '${bad}'`);
  }

  // Reseeding from a copy of the primary's database; none: nothing moves.
  const old = { 'tracker.db': 'old', 'tracker.db-wal': 'old wal', 'tracker.db-shm': 'old shm' };
  const kept = run(pods[0], undefined, old);
  for (const [f, text] of Object.entries(old)) {
    if (kept.files[f] !== text) errors.push(`pp-tracker: without reseed.db the start script changes ${f}`);
  }
  const r = run(pods[0], undefined, { ...old, 'reseed.db': 'copy' });
  const want = {
    'tracker.db': 'copy', 'tracker.db-wal': null, 'tracker.db-shm': null, 'reseed.db': null,
    'tracker.db.before-reseed': 'old', 'tracker.db.before-reseed-wal': 'old wal',
  };
  for (const [f, text] of Object.entries(want)) {
    const got = r.files[f] ?? null;
    if (got !== text) errors.push(`pp-tracker: after a reseed ${f} holds ${JSON.stringify(got)}, want ${JSON.stringify(text)}`);
  }
  if (!r.argv) errors.push(`pp-tracker: does not start after a reseed (${r.stderr})`);
  return { errors, follows };
}
