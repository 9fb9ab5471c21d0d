// What the rendered Kubernetes objects mean to the deploy checks: pods and
// their containers, the environment the kubelet builds for a container
// ($(VAR) references expanded in order, downward-API values kept as markers),
// and where an address a container dials leads (Service, StatefulSet pod,
// container port). Shared by check-k8s.mjs, k8s-netpol.mjs and
// k8s-tracker.mjs; nothing here reports errors except resolveAddress.
import { binaryOf, commandWords, flagValue } from './contract.mjs';

export const NAMESPACE = 'peer-pressure';
export const KEY_SECRET = 'pp-cluster-key';

// Values the API server fills in, as they appear in expanded text.
export const MARK = {
  namespace: '{{namespace}}',
  pod: '{{pod}}',
  node: '{{node}}',
};

export const find = (objs, kind, name) => objs.find((o) => o.kind === kind && o.metadata?.name === name);
export const podSpec = (o) => (o?.kind === 'Pod' ? o.spec : o?.spec?.template?.spec);
export const podMeta = (o) => (o?.kind === 'Pod' ? o.metadata : o?.spec?.template?.metadata) ?? {};
export const podLabels = (o) => podMeta(o).labels ?? {};
export const allContainers = (spec) => [...(spec?.initContainers ?? []), ...(spec?.containers ?? []),
  ...(spec?.ephemeralContainers ?? [])];
export const envMap = (c) => Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value ?? `<from ${e.valueFrom ? 'ref' : '?'}>`]));
export const containerWords = (c) => commandWords([...(c.command ?? []), ...(c.args ?? [])]);
export const serviceBinary = (c) => binaryOf(containerWords(c).join(' '));
// Everything that runs pods: controllers and bare Pods.
export const workloads = (objs) => objs.filter((o) => ['StatefulSet', 'Deployment', 'DaemonSet', 'Job', 'Pod'].includes(o.kind));
export const selects = (selector, labels) => selector && Object.keys(selector).length > 0 &&
  Object.entries(selector).every(([k, v]) => labels?.[k] === v);
export const replicasOf = (o) => (o.kind === 'Pod' ? 1 : o.spec?.replicas ?? 1);

// Exec commands of a container's probes and lifecycle hooks: [where, argv].
export function hookCommands(c) {
  const out = [];
  for (const p of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
    if (c[p]?.exec) out.push([p, c[p].exec.command]);
  }
  for (const h of ['postStart', 'preStop']) {
    if (c.lifecycle?.[h]?.exec) out.push([h, c.lifecycle[h].exec.command]);
  }
  return out;
}

// Word lists of each ppctl invocation inside argv (a hook may run several).
export function ppctlCalls(argv) {
  const words = commandWords(argv);
  const calls = [];
  words.forEach((w, i) => {
    if (binaryOf(w) === 'ppctl') {
      let end = words.indexOf('\n', i);
      if (end < 0) end = words.length;
      const cut = words.slice(i + 1, end).findIndex((x) => x === '&&' || x === '||' || x === '|' || x.startsWith('>'));
      calls.push(words.slice(i + 1, cut < 0 ? end : i + 1 + cut));
    }
  });
  return calls;
}

// --- the container's environment, as the kubelet builds it -------------------

const REF = /\$\(([A-Za-z_][A-Za-z0-9_]*)\)|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;

// name -> value. A value's $(VAR) is replaced only by variables defined
// before it (the kubelet's rule; a later or unknown one stays as written).
// valueFrom values become markers: fieldRef metadata.namespace is
// MARK.namespace, metadata.name MARK.pod, spec.nodeName MARK.node; any
// other source is {{from NAME}}.
export function kubeletEnv(c) {
  const env = new Map();
  for (const e of c.env ?? []) {
    if (e.valueFrom) {
      const f = e.valueFrom.fieldRef?.fieldPath;
      env.set(e.name, { 'metadata.namespace': MARK.namespace, 'metadata.name': MARK.pod, 'spec.nodeName': MARK.node }[f] ??
        `{{from ${e.name}}}`);
    } else {
      env.set(e.name, String(e.value ?? '').replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (all, k) => (env.has(k) ? env.get(k) : all)));
    }
  }
  return env;
}

// Replaces $(VAR), ${VAR} and $VAR that env (a Map) defines: what command,
// args and a shell script see. Shell-local variables stay as written.
export function expandRefs(text, env) {
  return String(text).replace(REF, (all, a, b, c) => {
    const k = a ?? b ?? c;
    return env.has(k) ? env.get(k) : all;
  });
}

// --- addresses ----------------------------------------------------------------

const LOOPBACK = /^(tcp|tls\+tcp):\/\/(127\.0\.0\.1|localhost|0\.0\.0\.0|\[::1?\])(:|$)/;
// --follow is not here: the tracker's start script computes it, and
// k8s-tracker.mjs runs that script to see what it is.
export const ADDRESS_FLAGS = ['tracker', 'bus', 'events', 'node'];
const ADDRESS_ENV = { PP_TRACKER: 'tracker', PP_BUS: 'bus', PP_EVENTS: 'events', PP_NODE: 'node' };

// Every address list a container dials, expanded: from its command line,
// its PP_* environment and the ppctl calls of its probes and hooks.
// [{ flag, where, value }]; loopback-only values (probes) are left out.
export function addressesOf(c) {
  const env = kubeletEnv(c);
  const out = [];
  const take = (flag, where, raw) => {
    if (raw === undefined) return;
    const value = expandRefs(raw, env);
    if (!value.split(',').every((a) => LOOPBACK.test(a))) out.push({ flag, where, value });
  };
  const words = containerWords(c);
  const bin = binaryOf(words.join(' '));
  for (const f of ADDRESS_FLAGS) take(f, bin ?? c.name, flagValue(words, f));
  for (const [k, f] of Object.entries(ADDRESS_ENV)) {
    if (env.has(k) && flagValue(words, f) === undefined) take(f, `env ${k}`, env.get(k));
  }
  for (const [h, argv] of hookCommands(c)) {
    for (const call of ppctlCalls(argv)) {
      for (const f of ['tracker', 'node']) {
        const v = flagValue(call, f) ?? (f === 'tracker' && flagValue(call, 'node') === undefined ? env.get('PP_TRACKER') : undefined);
        take(f, h, v);
      }
    }
  }
  return out;
}

// Where `tcp://HOST:PORT` leads: { owner, ordinal, port, service } with port
// the container port the connection reaches, or { error }. HOST is SVC or
// POD.SVC (POD a pod of the StatefulSet whose serviceName is SVC, which must
// be headless), optionally followed by .NS, .NS.svc or .NS.svc.cluster.local
// with NS the namespace or the pod's own (MARK.namespace).
export function resolveAddress(objs, addr) {
  const m = /^tcp:\/\/([^:/]+):([0-9]+)$/.exec(addr);
  if (!m) return { error: `${addr} is not tcp://HOST:PORT` };
  const port = Number(m[2]);
  const fq = /\.svc(\.cluster\.local)?$/.test(m[1]);
  const parts = m[1].replace(/\.svc(\.cluster\.local)?$/, '').split('.');
  const isNs = (x) => x === NAMESPACE || x === MARK.namespace;
  if (fq && !isNs(parts.at(-1))) return { error: `${addr}: ${parts.at(-1)} is not the namespace ${NAMESPACE}` };
  if (fq || (parts.length > 1 && isNs(parts.at(-1)))) parts.pop();
  if (parts.length > 2 || parts.some((p) => !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(p))) return { error: `${addr}: cannot resolve ${m[1]}` };
  const svcName = parts.at(-1);
  const svc = find(objs, 'Service', svcName);
  if (!svc) return { error: `${addr}: no Service ${svcName}` };
  const headless = svc.spec.clusterIP === 'None';
  const owners = workloads(objs).filter((o) => o.kind !== 'Pod' && selects(svc.spec.selector, podLabels(o)));
  if (owners.length !== 1) return { error: `${addr}: Service ${svcName} selects ${owners.length} workloads, want 1` };
  const owner = owners[0];
  let ordinal = null;
  if (parts.length === 1 && headless && replicasOf(owner) > 1) {
    return { error: `${addr}: the headless Service ${svcName} names any of ${replicasOf(owner)} pods; dial each by its pod name` };
  }
  if (parts.length === 2) {
    const pm = /^(.*)-([0-9]+)$/.exec(parts[0]);
    if (owner.kind !== 'StatefulSet' || owner.spec.serviceName !== svcName || !headless) {
      return { error: `${addr}: ${parts[0]}.${svcName} is not a pod name of a StatefulSet's headless Service` };
    }
    if (!pm || pm[1] !== owner.metadata.name || Number(pm[2]) >= replicasOf(owner)) {
      return { error: `${addr}: ${parts[0]} is not a pod of StatefulSet ${owner.metadata.name} (${replicasOf(owner)} replicas)` };
    }
    ordinal = Number(pm[2]);
  }
  const cports = allContainers(podSpec(owner)).flatMap((c) => c.ports ?? []);
  const sp = svc.spec.ports.find((p) => p.port === port);
  if (!sp) return { error: `${addr}: Service ${svcName} has no port ${port}` };
  const target = typeof sp.targetPort === 'string'
    ? cports.find((p) => p.name === sp.targetPort)?.containerPort
    : sp.targetPort ?? sp.port;
  if (!cports.some((p) => p.containerPort === target)) return { error: `${addr}: Service port ${port} leads to no container port` };
  // A headless name is the pod's own address: no port translation.
  if (headless && target !== port) return { error: `${addr}: headless Service ${svcName} maps ${port} to ${target}; pods are dialed directly` };
  return { owner, ordinal, port: target, service: svcName };
}
