// Offline check of the Kubernetes manifests (deploy/k8s): renders each
// kustomization with `kubectl kustomize`, validates every object against the
// Kubernetes schemas of kubernetes-models, rejects fields the schemas do not
// know (strictCheck), and asserts the deployment's invariants (invariants):
// those below, the trackers' roles (k8s-tracker.mjs), the network policies
// against every dial (k8s-netpol.mjs) and the restricted Pod Security
// Standard for every pod (k8s-pss.mjs).
//
//   node check-k8s.mjs DIR...            check each kustomization DIR; A+B
//                                        checks A and B rendered together
//   node check-k8s.mjs --self-test DIR   break DIR's render in known ways and
//                                        require every break to be caught
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import YAML from 'yaml';
import {
  BINARIES, DOCUMENTED_ENV, DEPLOY_HELPER_ENV, PORTS, METRICS_PORTS, IMAGE,
  binaryOf, flagsIn, flagValue, expandVars, quantity,
} from './contract.mjs';
import {
  NAMESPACE, KEY_SECRET, find, podSpec, podMeta, podLabels, allContainers, envMap, containerWords, workloads, selects,
  hookCommands, ppctlCalls, replicasOf, addressesOf, resolveAddress,
} from './k8s-model.mjs';
import { trackerRoles as runTrackerRoles } from './k8s-tracker.mjs';
import { checkNetworkPolicies } from './k8s-netpol.mjs';
import { restrictedViolations, PSS_LABEL } from './k8s-pss.mjs';
import { MUTATIONS } from './k8s-mutations.mjs';

const require = createRequire(import.meta.url);
const PROMETHEUS_CONFIG = new URL('../../deploy/monitoring/prometheus-kubernetes.yml', import.meta.url);
const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding']);

export function render(dirs) {
  if (dirs.includes('+')) return dirs.split('+').flatMap((d) => render(d));
  const dir = dirs;
  let text;
  try {
    text = execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8', maxBuffer: 1 << 26 });
  } catch (e) {
    if (e.code === 'ENOENT') throw new Error('kubectl not found: it renders the kustomizations (kubectl kustomize)');
    throw new Error(`kubectl kustomize ${dir} failed: ${e.stderr || e.message}`);
  }
  const docs = YAML.parseAllDocuments(text);
  for (const d of docs) if (d.errors.length) throw new Error(`${dir}: ${d.errors[0].message}`);
  return docs.map((d) => d.toJS()).filter((o) => o);
}

// --- schema validation ------------------------------------------------------

function modelClass(obj) {
  const [group, version] = obj.apiVersion.includes('/') ? obj.apiVersion.split('/') : [null, obj.apiVersion];
  let mod;
  try {
    mod = require(`kubernetes-models/${group ? `${group}/` : ''}${version}/${obj.kind}`);
  } catch {
    return null;
  }
  return mod[obj.kind] ?? null;
}

// kubernetes-models compiles each schema to code that reads exactly the
// properties the schema declares, and enumerates the keys only of free-form
// maps (labels, resources, ...). So: validate through a Proxy that records
// which properties were read; an own key that was never read, of an object
// whose keys were never enumerated, is a field the schema does not know.
function trackReads(root) {
  const records = [];
  const proxies = new WeakMap();
  const wrap = (value, path) => {
    if (value === null || typeof value !== 'object') return value;
    if (proxies.has(value)) return proxies.get(value);
    const rec = { target: value, path, read: new Set(), enumerated: false };
    records.push(rec);
    const proxy = new Proxy(value, {
      get(t, k, r) {
        const v = Reflect.get(t, k, r);
        if (typeof k !== 'string' || !Object.hasOwn(t, k)) return v;
        rec.read.add(k);
        return wrap(v, `${path}/${k}`);
      },
      has(t, k) {
        if (typeof k === 'string') rec.read.add(k);
        return Reflect.has(t, k);
      },
      ownKeys(t) {
        rec.enumerated = true;
        return Reflect.ownKeys(t);
      },
    });
    proxies.set(value, proxy);
    return proxy;
  };
  return { proxy: wrap(root, ''), records };
}

export function schemaErrors(obj) {
  const where = `${obj.kind}/${obj.metadata?.name}`;
  const Cls = modelClass(obj);
  if (!Cls) return [`${where}: no schema for ${obj.apiVersion} ${obj.kind}`];
  const errors = [];
  const copy = structuredClone(obj);
  const { proxy, records } = trackReads(copy);
  try {
    Cls.prototype.validate.call(proxy);
  } catch (e) {
    errors.push(`${where}: schema: ${e.message}`);
  }
  for (const rec of records) {
    if (Array.isArray(rec.target) || rec.enumerated) continue;
    for (const k of Object.keys(rec.target)) {
      if (!rec.read.has(k)) errors.push(`${where}: unknown field ${rec.path}/${k}`);
    }
  }
  return errors;
}

// --- helpers over rendered objects -------------------------------------------

// The tracker's start script runs under /bin/sh for every role: once per
// render, whichever checks ask.
const rolesCache = new WeakMap();
function trackerRoles(objs) {
  if (!rolesCache.has(objs)) rolesCache.set(objs, runTrackerRoles(objs));
  return rolesCache.get(objs);
}

// The file the Secret pp-cluster-key appears as in container c, or null.
function keyFilePath(spec, c) {
  const vol = (spec.volumes ?? []).find((v) => v.secret?.secretName === KEY_SECRET);
  if (!vol) return null;
  const m = (c.volumeMounts ?? []).find((vm) => vm.name === vol.name);
  if (!m) return null;
  const item = (vol.secret.items ?? []).find((it) => it.key === 'key');
  return `${m.mountPath.replace(/\/$/, '')}/${item ? item.path : 'key'}`;
}

// Whether the Kubernetes scrape configuration keeps pods of workload o: its
// keep and drop relabel rules over the pod's labels, annotations and
// namespace (Prometheus' meta labels, names sanitized as Prometheus does).
let promConfig = null;
const prometheusConfig = () => (promConfig ??= YAML.parse(fs.readFileSync(PROMETHEUS_CONFIG, 'utf8')));
function scrapedBy(config, o) {
  const meta = { __meta_kubernetes_namespace: o.metadata.namespace };
  const san = (k) => k.replace(/[^a-zA-Z0-9_]/g, '_');
  for (const [kind, map] of [['label', podLabels(o)], ['annotation', podMeta(o).annotations ?? {}]]) {
    for (const [k, v] of Object.entries(map)) {
      meta[`__meta_kubernetes_pod_${kind}_${san(k)}`] = v;
      meta[`__meta_kubernetes_pod_${kind}present_${san(k)}`] = 'true';
    }
  }
  return (config.scrape_configs ?? []).some((job) => {
    const sd = (job.kubernetes_sd_configs ?? []).find((x) => x.role === 'pod');
    if (!sd || (sd.namespaces?.names && !sd.namespaces.names.includes(o.metadata.namespace))) return false;
    return (job.relabel_configs ?? []).filter((r) => r.action === 'keep' || r.action === 'drop').every((r) => {
      const value = (r.source_labels ?? []).map((l) => meta[l] ?? '').join(r.separator ?? ';');
      return new RegExp(`^(?:${r.regex ?? '(.*)'})$`).test(value) === (r.action === 'keep');
    });
  });
}

// --- invariants ---------------------------------------------------------------

const CHECKS = {
  namespace(objs) {
    const errs = [];
    if (!find(objs, 'Namespace', NAMESPACE)) errs.push(`no Namespace ${NAMESPACE}`);
    for (const o of objs) {
      if (!CLUSTER_SCOPED.has(o.kind) && o.metadata?.namespace !== NAMESPACE) {
        errs.push(`${o.kind}/${o.metadata?.name}: namespace is ${o.metadata?.namespace}, not ${NAMESPACE}`);
      }
    }
    return errs;
  },

  replicas(objs) {
    // Trackers: the primary and its standby.
    const want = [['StatefulSet', 'pp-tracker', 2], ['StatefulSet', 'pp-worker', 3], ['Deployment', 'pp-gateway', 2]];
    return want.flatMap(([kind, name, n]) => {
      const o = find(objs, kind, name);
      if (!o) return [`missing ${kind} ${name}`];
      return o.spec.replicas === n ? [] : [`${kind}/${name}: replicas ${o.spec.replicas}, want ${n}`];
    });
  },

  volumeClaimTemplates(objs) {
    const errs = [];
    for (const name of ['pp-tracker', 'pp-worker']) {
      const o = find(objs, 'StatefulSet', name);
      if (!o) continue;
      const vcts = o.spec.volumeClaimTemplates ?? [];
      if (vcts.length === 0) errs.push(`${name}: no volumeClaimTemplates`);
      for (const v of vcts) {
        const size = quantity(v.spec?.resources?.requests?.storage);
        if (!(size > 0)) errs.push(`${name}: volumeClaimTemplate ${v.metadata?.name} has no storage request`);
        const main = podSpec(o).containers[0];
        if (!(main.volumeMounts ?? []).some((m) => m.name === v.metadata?.name)) {
          errs.push(`${name}: volumeClaimTemplate ${v.metadata?.name} is not mounted by ${main.name}`);
        }
      }
    }
    return errs;
  },

  // Exec probes ping the pod's own service and nothing else: a tracker
  // list would pass through the other tracker and hide a dead local one, and
  // any verb but ping would fail on a standby (writes) or cost a scan.
  probes(objs) {
    const errs = [];
    const execProbe = (name, mode, port) => {
      const o = find(objs, 'StatefulSet', name);
      if (!o) return;
      const spec = podSpec(o);
      const c = spec.containers[0];
      const key = keyFilePath(spec, c);
      for (const p of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
        const argv = c[p]?.exec?.command;
        if (!argv) {
          if (p !== 'startupProbe') errs.push(`${name}: no exec ${p}`);
          continue;
        }
        const [call] = ppctlCalls(argv);
        if (!call || flagValue(call, mode) !== `tcp://127.0.0.1:${port}` || call.at(-1) !== 'ping') {
          errs.push(`${name}: ${p} is not 'ppctl --${mode} tcp://127.0.0.1:${port} ... ping'` +
            `${name === 'pp-tracker' ? ' (which a standby answers too)' : ''}: ${argv.join(' ')}`);
        } else if (flagValue(call, 'key-file') !== key) {
          errs.push(`${name}: ${p} does not pass --key-file ${key}`);
        }
      }
    };
    execProbe('pp-tracker', 'tracker', PORTS.trackerRpc);
    execProbe('pp-worker', 'node', PORTS.worker);
    const gw = find(objs, 'Deployment', 'pp-gateway');
    if (gw) {
      const c = podSpec(gw).containers[0];
      const portOf = (p) => (typeof p === 'number' ? p : (c.ports ?? []).find((x) => x.name === p)?.containerPort);
      for (const [p, path] of [['livenessProbe', '/healthz'], ['readinessProbe', '/readyz']]) {
        const g = c[p]?.httpGet;
        if (!g || g.path !== path || portOf(g.port) !== PORTS.gateway) {
          errs.push(`pp-gateway: ${p} is not httpGet ${path} on ${PORTS.gateway}`);
        }
      }
    }
    return errs;
  },

  // Workers (copies of a chunk) and trackers (primary and standby) on
  // different hosts, always, and different zones when there are some.
  spread(objs) {
    const errs = [];
    for (const name of ['pp-worker', 'pp-tracker']) {
      const o = find(objs, 'StatefulSet', name);
      if (!o) continue;
      const tsc = podSpec(o).topologySpreadConstraints ?? [];
      for (const key of ['kubernetes.io/hostname', 'topology.kubernetes.io/zone']) {
        const c = tsc.find((t) => t.topologyKey === key);
        if (!c) errs.push(`${name}: no topologySpreadConstraint on ${key}`);
        else if (!selects(c.labelSelector?.matchLabels, podLabels(o))) {
          errs.push(`${name}: spread constraint on ${key} does not select its pods`);
        } else if (key === 'kubernetes.io/hostname' && c.whenUnsatisfiable !== 'DoNotSchedule') {
          errs.push(`${name}: two pods may share a host (hostname spread is ${c.whenUnsatisfiable})`);
        }
      }
    }
    return errs;
  },

  clusterKey(objs) {
    const errs = [];
    for (const o of workloads(objs)) {
      const spec = podSpec(o);
      const where = `${o.kind}/${o.metadata.name}`;
      const vols = (spec.volumes ?? []).filter((v) => v.secret?.secretName === KEY_SECRET);
      if (vols.length !== 1) {
        errs.push(`${where}: mounts Secret ${KEY_SECRET} ${vols.length} times, want 1`);
        continue;
      }
      const s = vols[0].secret;
      if (s.defaultMode !== 0o440) errs.push(`${where}: Secret defaultMode ${s.defaultMode?.toString(8)}, want 440`);
      for (const it of s.items ?? []) {
        if (it.mode !== undefined && (it.mode & 0o7) !== 0) errs.push(`${where}: Secret item ${it.key} is world-readable`);
      }
      if (s.items && !s.items.some((it) => it.key === 'key')) errs.push(`${where}: Secret key 'key' not projected`);
      if (s.optional) errs.push(`${where}: Secret ${KEY_SECRET} is optional`);
      for (const c of spec.containers) {
        const bin = binaryOf(containerWords(c).join(' '));
        if (!bin || bin === 'pp-node-zone') continue;
        const m = (c.volumeMounts ?? []).find((vm) => vm.name === vols[0].name);
        if (!m) {
          errs.push(`${where}/${c.name}: does not mount the cluster key`);
          continue;
        }
        if (m.readOnly !== true) errs.push(`${where}/${c.name}: cluster key mounted read-write`);
        const path = keyFilePath(spec, c);
        const words = containerWords(c);
        const given = flagValue(words, 'key-file') ?? envMap(c).PP_KEY_FILE;
        if (given !== path) errs.push(`${where}/${c.name}: --key-file is ${given}, the key is at ${path}`);
        for (const [h, argv] of hookCommands(c)) {
          for (const call of ppctlCalls(argv)) {
            if (flagValue(call, 'key-file') !== path) errs.push(`${where}/${c.name}: ${h} runs ppctl without --key-file ${path}`);
          }
        }
      }
    }
    if (objs.some((o) => o.kind === 'Secret' && o.metadata?.name === KEY_SECRET)) {
      errs.push(`Secret ${KEY_SECRET} is in the manifests: the operator creates it, no key is committed`);
    }
    return errs;
  },

  image(objs) {
    const errs = [];
    const images = new Set();
    for (const o of workloads(objs)) {
      for (const c of allContainers(podSpec(o))) {
        images.add(c.image);
        if (!/^[^:@]+(:[A-Za-z0-9_][A-Za-z0-9_.-]*)$/.test(c.image ?? '') || c.image.endsWith(':latest')) {
          errs.push(`${o.metadata.name}/${c.name}: image ${c.image} has no fixed tag`);
        }
      }
    }
    if (images.size !== 1) errs.push(`images differ: ${[...images].join(', ')}`);
    else if (!images.has(IMAGE)) errs.push(`image is ${[...images][0]}, want ${IMAGE}`);
    return errs;
  },

  envAndFlags(objs) {
    const errs = [];
    const allowed = new Set([...DOCUMENTED_ENV, ...DEPLOY_HELPER_ENV]);
    for (const o of workloads(objs)) {
      for (const c of allContainers(podSpec(o))) {
        const where = `${o.metadata.name}/${c.name}`;
        const words = containerWords(c);
        const bin = binaryOf(words.join(' '));
        if (!bin) {
          errs.push(`${where}: runs none of the Peer Pressure binaries`);
          continue;
        }
        if ((c.envFrom ?? []).length) errs.push(`${where}: envFrom hides which variables are set`);
        // ppctl runs in probes and hooks with the container's environment.
        const mine = new Set([...(BINARIES[bin]?.env ?? []), ...BINARIES.ppctl.env, ...DEPLOY_HELPER_ENV]);
        for (const e of c.env ?? []) {
          if (!allowed.has(e.name)) errs.push(`${where}: env ${e.name} is not documented in DESIGN.md`);
          else if (!mine.has(e.name)) errs.push(`${where}: env ${e.name} is not read by ${bin}`);
        }
        if (bin !== 'pp-node-zone') {
          for (const f of flagsIn(words)) {
            if (!BINARIES[bin].flags.includes(f)) errs.push(`${where}: ${bin} has no flag --${f}`);
          }
        } else if (flagsIn(words).length) {
          errs.push(`${where}: pp-node-zone takes no flags`);
        }
        for (const [h, argv] of hookCommands(c)) {
          const calls = ppctlCalls(argv);
          if (calls.length === 0) errs.push(`${where}: ${h} does not run ppctl`);
          for (const call of calls) {
            for (const f of flagsIn(call)) {
              if (!BINARIES.ppctl.flags.includes(f)) errs.push(`${where}: ${h}: ppctl has no flag --${f}`);
            }
            const verb = call.find((w, i) => !w.startsWith('-') && !(i > 0 && /^--[a-z-]+$/.test(call[i - 1]) && !['--json'].includes(call[i - 1])));
            if (!BINARIES.ppctl.verbs.includes(verb)) errs.push(`${where}: ${h}: ppctl verb ${verb} is not documented`);
          }
        }
      }
    }
    return errs;
  },

  worker(objs) {
    const o = find(objs, 'StatefulSet', 'pp-worker');
    if (!o) return [];
    const errs = [];
    const spec = podSpec(o);
    const c = spec.containers.find((x) => binaryOf(containerWords(x).join(' ')) === 'pp-worker');
    if (!c) return ['pp-worker: no container runs pp-worker'];
    const words = containerWords(c);
    const env = envMap(c);
    const value = (f) => {
      const v = flagValue(words, f);
      return v === undefined ? env[`PP_${f.toUpperCase()}`] : v;
    };

    // Stable names: headless Service = serviceName, advertised per pod.
    const svc = find(objs, 'Service', o.spec.serviceName);
    if (!svc || svc.spec.clusterIP !== 'None') errs.push(`pp-worker: serviceName ${o.spec.serviceName} is not a headless Service`);
    else if (!selects(svc.spec.selector, o.spec.template.metadata.labels)) errs.push('pp-worker: headless Service does not select the workers');
    else if (!svc.spec.ports?.some((p) => p.port === PORTS.worker)) errs.push(`pp-worker: headless Service has no port ${PORTS.worker}`);
    const adv = value('advertise') ?? '';
    const podRef = '(\\$POD_NAME|\\$\\{POD_NAME\\}|\\$\\(POD_NAME\\))';
    const nsRef = '(\\$POD_NAMESPACE|\\$\\{POD_NAMESPACE\\}|\\$\\(POD_NAMESPACE\\))';
    if (!new RegExp(`^tcp://${podRef}\\.${o.spec.serviceName}\\.${nsRef}\\.svc(\\.cluster\\.local)?:${PORTS.worker}$`).test(adv)) {
      errs.push(`pp-worker: --advertise ${adv} is not the pod's stable DNS name on ${PORTS.worker}`);
    }
    if (!new RegExp(`^${podRef}$`).test(value('id') ?? '')) errs.push('pp-worker: --id is not the pod name');
    for (const n of ['POD_NAME', 'POD_NAMESPACE']) {
      const want = n === 'POD_NAME' ? 'metadata.name' : 'metadata.namespace';
      if ((c.env ?? []).find((e) => e.name === n)?.valueFrom?.fieldRef?.fieldPath !== want) errs.push(`pp-worker: ${n} is not from ${want}`);
    }

    // Capacity = PVC request in bytes.
    const dataMount = (c.volumeMounts ?? []).find((m) => m.mountPath === value('data'));
    const vct = (o.spec.volumeClaimTemplates ?? []).find((v) => v.metadata.name === dataMount?.name);
    if (!vct) errs.push(`pp-worker: --data ${value('data')} is not on a volumeClaimTemplate`);
    const capacity = expandVars(value('capacity') ?? '', env);
    const storage = quantity(vct?.spec?.resources?.requests?.storage);
    if (!/^[0-9]+$/.test(capacity) || Number(capacity) !== storage) {
      errs.push(`pp-worker: --capacity ${capacity} is not the PVC request ${storage} bytes`);
    }

    // Zone from the node label through the init container.
    if (!flagsIn(words).includes('zone')) errs.push('pp-worker: no --zone');
    const init = (spec.initContainers ?? []).find((x) => binaryOf(containerWords(x).join(' ')) === 'pp-node-zone');
    if (!init) errs.push('pp-worker: no pp-node-zone init container');
    else {
      const out = containerWords(init).at(-1);
      const shared = (init.volumeMounts ?? []).find((m) => out.startsWith(`${m.mountPath}/`));
      if (!shared || !(c.volumeMounts ?? []).some((m) => m.name === shared.name)) {
        errs.push('pp-worker: the zone file is not on a volume the worker mounts');
      } else if (!words.join(' ').includes(out.replace(shared.mountPath, (c.volumeMounts.find((m) => m.name === shared.name)).mountPath))) {
        errs.push('pp-worker: the worker does not read the zone file');
      }
      if ((init.env ?? []).find((e) => e.name === 'NODE_NAME')?.valueFrom?.fieldRef?.fieldPath !== 'spec.nodeName') {
        errs.push('pp-worker: NODE_NAME is not spec.nodeName');
      }
    }
    const sa = spec.serviceAccountName;
    const bindings = objs.filter((b) => b.kind === 'ClusterRoleBinding' &&
      b.subjects?.some((s) => s.kind === 'ServiceAccount' && s.name === sa && s.namespace === NAMESPACE));
    const roles = bindings.map((b) => find(objs, 'ClusterRole', b.roleRef.name));
    if (!sa || !find(objs, 'ServiceAccount', sa) || roles.length === 0 || roles.some((r) => !r)) {
      errs.push('pp-worker: no service account bound to a ClusterRole for reading nodes');
    }
    for (const r of roles.filter(Boolean)) {
      const ok = r.rules.length === 1 && String(r.rules[0].apiGroups) === '' &&
        String(r.rules[0].resources) === 'nodes' && String(r.rules[0].verbs) === 'get';
      if (!ok) errs.push(`pp-worker: ClusterRole ${r.metadata.name} grants more than get on nodes`);
    }
    if (spec.automountServiceAccountToken !== false) errs.push('pp-worker: every container gets an API token (automount)');
    for (const x of spec.containers) {
      if ((x.volumeMounts ?? []).some((m) => m.mountPath.startsWith('/var/run/secrets/kubernetes.io'))) {
        errs.push(`pp-worker/${x.name}: an API token is mounted in a service container`);
      }
    }

    // Maintenance around restarts.
    const pre = c.lifecycle?.preStop?.exec?.command;
    const call = pre && ppctlCalls(pre)[0];
    if (!call || !flagValue(call, 'tracker') || call.slice(-3).join(' ').replace(/\$\{?\(?POD_NAME\)?\}?/, 'POD') !== 'maintenance POD on') {
      errs.push('pp-worker: preStop does not run ppctl --tracker ADDR maintenance $POD_NAME on');
    }
    return errs;
  },

  // Every address a pod dials (flags, PP_* variables, ppctl in probes and
  // hooks) names a Service port, and a StatefulSet pod by its stable name
  // when a headless Service has several. A tracker list names every tracker
  // pod, primary first, on the port of its flag, so that --tracker, --bus and
  // --events pair by position.
  addresses(objs) {
    const errs = [];
    const trackers = find(objs, 'StatefulSet', 'pp-tracker');
    const portOf = { tracker: PORTS.trackerRpc, bus: PORTS.trackerBus, events: PORTS.trackerEvents };
    for (const o of workloads(objs)) {
      for (const c of allContainers(podSpec(o))) {
        const where = `${o.metadata.name}/${c.name}`;
        for (const a of addressesOf(c)) {
          const what = `${a.where} --${a.flag} ${a.value}`;
          if (/\$|\{\{from /.test(a.value)) {
            errs.push(`${where}: ${what} still holds a variable (defined after it, or not at all)`);
            continue;
          }
          const ordinals = [];
          for (const addr of a.value.split(',')) {
            const r = resolveAddress(objs, addr);
            if (r.error) errs.push(`${where}: ${a.where} --${a.flag} ${r.error}`);
            else if (r.owner === trackers && a.flag in portOf) {
              ordinals.push(r.ordinal);
              if (r.port !== portOf[a.flag]) errs.push(`${where}: ${a.where} --${a.flag} ${addr} is not the tracker's ${a.flag} port ${portOf[a.flag]}`);
            }
          }
          if (trackers && a.flag in portOf) {
            const want = [...Array(replicasOf(trackers)).keys()];
            if (ordinals.join(',') !== want.join(',')) {
              errs.push(`${where}: ${what} does not list the tracker pods ${want.map((i) => `pp-tracker-${i}`).join(', ')} in order`);
            }
          }
        }
      }
    }
    return errs;
  },

  // The primary and its standby (k8s-tracker.mjs runs the start script for
  // every pod and ConfigMap value); each pod's name resolves before it is
  // Ready, and each pod is recreated whatever state the other is in.
  tracker(objs) {
    const o = find(objs, 'StatefulSet', 'pp-tracker');
    if (!o) return [];
    const errs = [...trackerRoles(objs).errors];
    const svc = find(objs, 'Service', o.spec.serviceName);
    if (!svc || svc.spec.clusterIP !== 'None') errs.push(`pp-tracker: serviceName ${o.spec.serviceName} is not a headless Service`);
    else if (svc.spec.publishNotReadyAddresses !== true) {
      errs.push('pp-tracker: a tracker cannot be reached or followed until it is Ready (publishNotReadyAddresses)');
    }
    if (o.spec.podManagementPolicy !== 'Parallel') {
      errs.push('pp-tracker: podManagementPolicy is not Parallel: while pp-tracker-0 is lost, pp-tracker-1 is not recreated');
    }
    return errs;
  },

  networkPolicies(objs) {
    return checkNetworkPolicies(objs, trackerRoles(objs).follows);
  },

  // The namespace enforces `restricted` and every pod would be admitted.
  podSecurity(objs) {
    const errs = [];
    const ns = find(objs, 'Namespace', NAMESPACE);
    const level = ns?.metadata?.labels?.[PSS_LABEL];
    if (ns && level !== 'restricted') errs.push(`Namespace ${NAMESPACE}: ${PSS_LABEL} is ${level}, want restricted`);
    for (const o of workloads(objs)) {
      for (const v of restrictedViolations(podMeta(o), podSpec(o))) errs.push(`${o.kind}/${o.metadata.name}: ${v}`);
    }
    return errs;
  },

  ports(objs) {
    const errs = [];
    const want = {
      'pp-tracker': [PORTS.trackerRpc, PORTS.trackerBus, PORTS.trackerEvents],
      'pp-worker': [PORTS.worker],
      'pp-gateway': [PORTS.gateway],
    };
    for (const [name, ports] of Object.entries(want)) {
      const o = objs.find((x) => ['StatefulSet', 'Deployment'].includes(x.kind) && x.metadata.name === name);
      const svc = find(objs, 'Service', name);
      if (!o || !svc) {
        errs.push(`${name}: missing workload or Service`);
        continue;
      }
      const cports = (podSpec(o).containers[0].ports ?? []).map((p) => p.containerPort);
      const sports = svc.spec.ports.map((p) => p.port);
      for (const p of ports) {
        if (!cports.includes(p)) errs.push(`${name}: container port ${p} not declared`);
        if (!sports.includes(p)) errs.push(`${name}: Service has no port ${p}`);
      }
      if (!selects(svc.spec.selector, o.spec.template.metadata.labels)) errs.push(`${name}: Service selects no pod`);
    }
    const ing = objs.find((x) => x.kind === 'Ingress');
    const backend = ing?.spec?.rules?.[0]?.http?.paths?.[0]?.backend?.service;
    if (!backend || backend.name !== 'pp-gateway') errs.push('no Ingress to the pp-gateway Service');
    return errs;
  },

  // Every service pod serves --metrics on its port and says so to
  // Prometheus (deploy/monitoring/prometheus-kubernetes.yml).
  metrics(objs) {
    const errs = [];
    for (const [name, port] of Object.entries(METRICS_PORTS)) {
      const o = objs.find((x) => ['StatefulSet', 'Deployment'].includes(x.kind) && x.metadata.name === name);
      if (!o) continue;
      const c = podSpec(o).containers.find((x) => binaryOf(containerWords(x).join(' ')) === name);
      if (!c) continue;
      const ann = o.spec.template.metadata.annotations ?? {};
      if (ann['prometheus.io/scrape'] !== 'true') errs.push(`${name}: pods lack prometheus.io/scrape: "true"`);
      if (ann['prometheus.io/port'] !== String(port)) errs.push(`${name}: prometheus.io/port is ${ann['prometheus.io/port']}, want ${port}`);
      if (ann['prometheus.io/path'] !== '/metrics') errs.push(`${name}: prometheus.io/path is not /metrics`);
      const m = flagValue(containerWords(c), 'metrics') ?? envMap(c).PP_METRICS;
      if (!m || !m.endsWith(`:${port}`)) errs.push(`${name}: --metrics is ${m}, want HOST:${port}`);
      if (!scrapedBy(prometheusConfig(), o)) {
        errs.push(`${name}: deploy/monitoring/prometheus-kubernetes.yml does not scrape its pods (keep rules)`);
      }
      if (!(c.ports ?? []).some((p) => p.containerPort === port && p.name === 'metrics')) {
        errs.push(`${name}: no container port ${port} named metrics`);
      }
    }
    return errs;
  },

  resources(objs) {
    const errs = [];
    for (const o of workloads(objs)) {
      for (const c of allContainers(podSpec(o))) {
        for (const r of ['cpu', 'memory']) {
          const req = quantity(c.resources?.requests?.[r]);
          const lim = quantity(c.resources?.limits?.[r]);
          if (!(req > 0) || !(lim > 0)) errs.push(`${o.metadata.name}/${c.name}: no ${r} request and limit`);
          else if (req > lim) errs.push(`${o.metadata.name}/${c.name}: ${r} request above limit`);
        }
      }
    }
    return errs;
  },

  disruptionBudgets(objs) {
    const errs = [];
    for (const name of ['pp-tracker', 'pp-worker', 'pp-gateway']) {
      const o = objs.find((x) => ['StatefulSet', 'Deployment'].includes(x.kind) && x.metadata.name === name);
      const pdb = objs.find((x) => x.kind === 'PodDisruptionBudget' &&
        selects(x.spec.selector?.matchLabels, o?.spec.template.metadata.labels));
      if (!pdb) {
        errs.push(`${name}: no PodDisruptionBudget`);
        continue;
      }
      const maxU = pdb.spec.maxUnavailable ?? (o.spec.replicas - (pdb.spec.minAvailable ?? 0));
      if (!(maxU >= 1 && maxU < o.spec.replicas)) errs.push(`${name}: PodDisruptionBudget allows ${maxU} of ${o.spec.replicas} down`);
    }
    return errs;
  },

  security(objs) {
    const errs = [];
    for (const o of workloads(objs)) {
      const spec = podSpec(o);
      if (spec.securityContext?.runAsNonRoot !== true || !(spec.securityContext?.runAsUser > 0)) {
        errs.push(`${o.metadata.name}: pods may run as root`);
      }
      // The key file is mode 0440: its group must be the pods' group.
      if (spec.securityContext?.fsGroup === undefined) errs.push(`${o.metadata.name}: no fsGroup, the 0440 key is unreadable`);
      for (const c of allContainers(spec)) {
        const sc = c.securityContext ?? {};
        if (sc.privileged || sc.allowPrivilegeEscalation !== false) errs.push(`${o.metadata.name}/${c.name}: privilege escalation allowed`);
        if (sc.runAsUser === 0) errs.push(`${o.metadata.name}/${c.name}: runs as root`);
      }
    }
    return errs;
  },
};

export function checkAll(objs) {
  const errors = [];
  for (const o of objs) errors.push(...schemaErrors(o));
  for (const [name, fn] of Object.entries(CHECKS)) {
    for (const e of fn(objs)) errors.push(`[${name}] ${e}`);
  }
  return errors;
}

// --- self-test: each break of a good render must be reported ---------------

function selfTest(dir) {
  const good = render(dir);
  const base = checkAll(good);
  if (base.length) return [`self-test needs a clean render of ${dir}:`, ...base];
  const failures = [];
  for (const [name, expect, mutate] of MUTATIONS) {
    const objs = structuredClone(good);
    try {
      mutate(objs);
    } catch (e) {
      failures.push(`mutation ${name} does not apply: ${e.message}`);
      continue;
    }
    const errs = checkAll(objs);
    if (!errs.some((e) => expect.test(e))) {
      failures.push(`not caught: ${name} (want ${expect}); got: ${errs.join(' | ') || 'no error'}`);
    }
  }
  console.log(`self-test: ${MUTATIONS.length - failures.length}/${MUTATIONS.length} broken renders caught`);
  return failures;
}

function main(argv) {
  let failures = [];
  if (argv[0] === '--self-test') {
    failures = selfTest(argv[1]);
  } else {
    if (argv.length === 0) {
      console.error('usage: check-k8s.mjs [--self-test] DIR...');
      return 1;
    }
    for (const dir of argv) {
      const objs = render(dir);
      const errs = checkAll(objs);
      console.log(`${dir}: ${objs.length} objects (${[...new Set(objs.map((o) => o.kind))].join(', ')}), ${errs.length} problems`);
      failures.push(...errs.map((e) => `${dir}: ${e}`));
    }
  }
  for (const f of failures) console.error(`FAIL ${f}`);
  return failures.length ? 1 : 0;
}

process.exitCode = main(process.argv.slice(2));
