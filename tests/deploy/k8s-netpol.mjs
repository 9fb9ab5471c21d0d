// NetworkPolicy semantics (networking.k8s.io/v1: a pod selected by a policy
// of a type is isolated for it; rules add up; a peer is a podSelector in the
// policy's namespace, a namespaceSelector, both, or an ipBlock; a rule
// without peers or ports matches all) and the checks of deploy/k8s against
// them. The dials are read from the manifests (addresses in flags, the
// environment and hooks; the tracker's --follow from k8s-tracker.mjs) plus
// what no manifest names: workers' addresses come from the tracker, so the
// trackers, gateways, workers and ppctl pods reach every worker; Prometheus
// scrapes the annotated metrics ports; the Ingress controller and clients
// reach the gateway; every pod asks the cluster DNS; the worker's init
// container asks the API server. Every dial must be admitted both ways, and
// nothing else may be: each port of each pod is tried from every kind of
// source (our pods, the same labels in another namespace, Prometheus, other
// monitoring pods, the Ingress controller, an address outside the cluster).
import { PORTS } from './contract.mjs';
import {
  NAMESPACE, find, podSpec, podMeta, podLabels, allContainers, workloads, serviceBinary,
  addressesOf, resolveAddress,
} from './k8s-model.mjs';

const NAME = 'app.kubernetes.io/name';
export const PPCTL_LABELS = { [NAME]: 'ppctl' };

const foreign = (name, namespace, labels, ports = []) => ({
  kind: 'pod', name, namespace, nsLabels: { 'kubernetes.io/metadata.name': namespace }, labels, ports,
});
export const PROMETHEUS = foreign('Prometheus', 'monitoring', { [NAME]: 'prometheus' });
const MONITORING_OTHER = foreign('another pod in monitoring', 'monitoring', { [NAME]: 'grafana' });
const INGRESS_CONTROLLER = foreign('the Ingress controller', 'ingress-nginx', { [NAME]: 'ingress-nginx' });
const KUBE_DNS = foreign('kube-dns', 'kube-system', { 'k8s-app': 'kube-dns' },
  [{ containerPort: 53, protocol: 'UDP' }, { containerPort: 53, protocol: 'TCP' }]);
const OUTSIDE = { kind: 'ip', name: 'a host outside the cluster', ip: '203.0.113.7' };
// Its address depends on the cluster: any address outside the pods.
const API_SERVER = { kind: 'ip', name: 'the API server', anyAddress: true };
const ANYONE = { kind: 'any', name: 'anyone' };

const nsLabelsOf = (objs, ns) => ({ ...(find(objs, 'Namespace', ns)?.metadata?.labels ?? {}), 'kubernetes.io/metadata.name': ns });
function podEntity(objs, o) {
  const ns = o.metadata.namespace;
  return {
    kind: 'pod', name: o.metadata.name, namespace: ns, owner: o, nsLabels: nsLabelsOf(objs, ns),
    labels: podLabels(o),
    ports: allContainers(podSpec(o)).flatMap((c) => c.ports ?? []),
  };
}

// --- selection and matching ---------------------------------------------------

export function selectorMatches(sel, labels) {
  for (const [k, v] of Object.entries(sel?.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel?.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const ok = { In: has && e.values.includes(labels[e.key]), NotIn: !has || !e.values.includes(labels[e.key]),
      Exists: has, DoesNotExist: !has }[e.operator];
    if (!ok) return false;
  }
  return true;
}

const ipNum = (ip) => ip.split('.').reduce((n, x) => n * 256 + Number(x), 0);
function inCidr(ip, cidr) {
  const [base, bits] = cidr.split('/');
  if (base.includes(':') || ip.includes(':')) return false;
  const size = 2 ** (32 - Number(bits));
  return Math.floor(ipNum(ip) / size) === Math.floor(ipNum(base) / size);
}

function peerMatches(peer, policyNs, e) {
  if (peer.ipBlock) {
    return e.kind === 'ip' && (e.anyAddress || (inCidr(e.ip, peer.ipBlock.cidr) &&
      !(peer.ipBlock.except ?? []).some((x) => inCidr(e.ip, x))));
  }
  if (e.kind !== 'pod') return false;
  const nsOk = peer.namespaceSelector ? selectorMatches(peer.namespaceSelector, e.nsLabels) : e.namespace === policyNs;
  return nsOk && (!peer.podSelector || selectorMatches(peer.podSelector, e.labels));
}

// Named ports are those of the pod the traffic goes to.
function portMatches(entry, port, protocol, destPorts) {
  if ((entry.protocol ?? 'TCP') !== protocol) return false;
  if (entry.port === undefined) return true;
  if (typeof entry.port === 'string') {
    return destPorts.some((p) => p.name === entry.port && (p.protocol ?? 'TCP') === protocol && p.containerPort === port);
  }
  return port >= entry.port && port <= (entry.endPort ?? entry.port);
}

const policyTypes = (p) => p.spec.policyTypes ?? (p.spec.egress ? ['Ingress', 'Egress'] : ['Ingress']);
const policiesOf = (objs) => objs.filter((o) => o.kind === 'NetworkPolicy');
const selecting = (objs, pod, type) => policiesOf(objs).filter((p) => p.metadata.namespace === pod.namespace &&
  policyTypes(p).includes(type) && selectorMatches(p.spec.podSelector ?? {}, pod.labels));

// Whether traffic from `from` to `to` on port/protocol may leave `from`
// (type Egress, subject from) or enter `to` (type Ingress, subject to).
export function admits(objs, type, from, to, port, protocol = 'TCP') {
  const subject = type === 'Ingress' ? to : from;
  const other = type === 'Ingress' ? from : to;
  const pols = selecting(objs, subject, type);
  if (pols.length === 0) return true;
  const rulesKey = type === 'Ingress' ? 'ingress' : 'egress';
  const peersKey = type === 'Ingress' ? 'from' : 'to';
  return pols.some((p) => (p.spec[rulesKey] ?? []).some((r) =>
    (!(r[peersKey]?.length) || r[peersKey].some((peer) => peerMatches(peer, p.metadata.namespace, other))) &&
    (!(r.ports?.length) || r.ports.some((e) => portMatches(e, port, protocol, to.ports ?? [])))));
}

// --- who dials what ---------------------------------------------------------

export function dialsOf(objs, follows) {
  const owners = workloads(objs).filter((o) => o.metadata?.namespace === NAMESPACE);
  const ent = new Map(owners.map((o) => [o, podEntity(objs, o)]));
  const named = (n) => owners.filter((o) => podLabels(o)[NAME] === n).map((o) => ent.get(o));
  const dials = [];
  const add = (from, to, port, why, protocol = 'TCP') => dials.push({ from, to, port, protocol, why });

  for (const o of owners) {
    for (const c of allContainers(podSpec(o))) {
      for (const a of addressesOf(c)) {
        for (const addr of a.value.split(',')) {
          const r = resolveAddress(objs, addr);
          if (!r.error) add(ent.get(o), ent.get(r.owner), r.port, `${c.name}: ${a.where} --${a.flag} ${addr}`);
        }
      }
    }
    if (allContainers(podSpec(o)).some((c) => serviceBinary(c) === 'pp-node-zone')) {
      for (const p of [443, 6443]) add(ent.get(o), API_SERVER, p, 'pp-node-zone reads its node');
    }
    const ann = podMeta(o).annotations ?? {};
    if (ann['prometheus.io/scrape'] === 'true') add(PROMETHEUS, ent.get(o), Number(ann['prometheus.io/port']), 'scrape');
  }
  for (const f of follows) {
    for (const t of named('pp-tracker')) add(t, t, PORTS.trackerRpc, `${f.pod}: --follow ${f.address}`);
  }
  // ppctl users: the pods of deploy/k8s/ppctl when rendered with the base,
  // else any pod with their labels.
  let ppctl = named('ppctl');
  if (ppctl.length === 0) {
    ppctl = [{ ...foreign('a ppctl pod', NAMESPACE, PPCTL_LABELS), nsLabels: nsLabelsOf(objs, NAMESPACE) }];
    for (const t of named('pp-tracker')) add(ppctl[0], t, PORTS.trackerRpc, 'ppctl --tracker');
  }
  for (const e of [...ent.values(), ...ppctl.filter((p) => !p.owner)]) {
    add(e, KUBE_DNS, 53, 'DNS', 'UDP');
    add(e, KUBE_DNS, 53, 'DNS', 'TCP');
  }
  for (const w of named('pp-worker')) {
    for (const src of [...named('pp-tracker'), ...named('pp-gateway'), ...named('pp-worker'), ...ppctl]) {
      add(src, w, PORTS.worker, 'chunk transfers (worker addresses come from the tracker)');
    }
  }
  for (const ing of objs.filter((o) => o.kind === 'Ingress')) {
    for (const rule of ing.spec?.rules ?? []) {
      for (const p of rule.http?.paths ?? []) {
        const b = p.backend?.service;
        const svc = b && find(objs, 'Service', b.name);
        const sp = svc?.spec.ports.find((x) => x.name === b.port?.name || x.port === b.port?.number);
        const r = sp && resolveAddress(objs, `tcp://${b.name}:${sp.port}`);
        if (r && !r.error) add(ANYONE, ent.get(r.owner), r.port, `Ingress ${ing.metadata.name}`);
      }
    }
  }
  return { dials, owners: [...ent.values()], ppctl };
}

// --- checks ---------------------------------------------------------------------

const same = (a, b) => a === b || (a.kind === 'pod' && b.kind === 'pod' && a.namespace === b.namespace &&
  a.name === b.name) || (b.kind === 'ip' && a.kind === 'ip' && (a.anyAddress || a.ip === b.ip));
const needed = (dials, from, to, port, protocol) => dials.some((d) => (d.from.kind === 'any' || same(d.from, from)) &&
  same(d.to, to) && d.port === port && d.protocol === protocol);
const elsewhere = (e) => ({ ...e, name: `${e.name}'s labels in another namespace`, namespace: 'elsewhere',
  nsLabels: { 'kubernetes.io/metadata.name': 'elsewhere' }, owner: undefined });

export function checkNetworkPolicies(objs, follows) {
  const errs = [];
  const pols = policiesOf(objs);
  const deny = pols.find((p) => Object.keys(p.spec.podSelector ?? {}).every((k) => Object.keys(p.spec.podSelector[k] ?? {}).length === 0) &&
    ['Ingress', 'Egress'].every((t) => policyTypes(p).includes(t)) && !(p.spec.ingress?.length) && !(p.spec.egress?.length));
  if (!deny) errs.push('no default-deny NetworkPolicy (podSelector {}, policyTypes Ingress and Egress, no rules)');
  for (const p of pols) {
    for (const k of ['ingress', 'egress']) {
      if ((p.spec[k] ?? []).some((r) => !(r.ports?.length))) errs.push(`${p.metadata.name}: an ${k} rule without ports admits every port`);
    }
  }

  const { dials, owners, ppctl } = dialsOf(objs, follows);
  const tryFrom = (d) => (d.from.kind === 'any' ? [OUTSIDE, INGRESS_CONTROLLER, elsewhere(owners[0])] : [d.from]);
  for (const d of dials) {
    const what = `${d.from.name} -> ${d.to.name}:${d.port}/${d.protocol} (${d.why})`;
    if (d.to.namespace === NAMESPACE && tryFrom(d).some((f) => !admits(objs, 'Ingress', f, d.to, d.port, d.protocol))) {
      errs.push(`${what}: not admitted into ${d.to.name}`);
    }
    if (d.from.namespace === NAMESPACE) {
      const to = d.to.anyAddress ? OUTSIDE : d.to;
      if (!admits(objs, 'Egress', d.from, to, d.port, d.protocol)) errs.push(`${what}: not allowed out of ${d.from.name}`);
    }
  }

  // Nothing more: every port from every kind of source, every way out.
  const sources = [...owners, ...ppctl.filter((p) => !p.owner), ...owners.map(elsewhere), PROMETHEUS, MONITORING_OTHER,
    INGRESS_CONTROLLER, OUTSIDE];
  for (const to of owners) {
    for (const p of to.ports) {
      const proto = p.protocol ?? 'TCP';
      for (const from of sources) {
        if (admits(objs, 'Ingress', from, to, p.containerPort, proto) && !needed(dials, from, to, p.containerPort, proto)) {
          errs.push(`${to.name} admits ${p.containerPort}/${proto} from ${from.name}, which does not dial it`);
        }
      }
    }
  }
  const dests = [...owners.flatMap((o) => [o, elsewhere(o)]), KUBE_DNS];
  for (const from of [...owners, ...ppctl.filter((p) => !p.owner)]) {
    for (const to of dests) {
      for (const p of to.ports) {
        const proto = p.protocol ?? 'TCP';
        if (admits(objs, 'Egress', from, to, p.containerPort, proto) && !needed(dials, from, to, p.containerPort, proto)) {
          errs.push(`${from.name} may send to ${to.name}:${p.containerPort}/${proto}, which it never dials`);
        }
      }
    }
    for (const port of [22, 53, 80, 443, 6443, PORTS.trackerRpc, PORTS.worker, PORTS.gateway]) {
      if (admits(objs, 'Egress', from, OUTSIDE, port) && !needed(dials, from, OUTSIDE, port, 'TCP')) {
        errs.push(`${from.name} may send to ${OUTSIDE.name} on ${port}, which it never dials`);
      }
    }
  }

  // File names travel on the events stream: only this namespace's pods,
  // whatever else a policy's labels or selectors might later match.
  for (const t of owners.filter((o) => o.labels[NAME] === 'pp-tracker')) {
    for (const p of selecting(objs, t, 'Ingress')) {
      for (const r of p.spec.ingress ?? []) {
        const hits = !(r.ports?.length) || r.ports.some((e) => portMatches(e, PORTS.trackerEvents, 'TCP', t.ports));
        const inside = (r.from?.length ?? 0) > 0 && r.from.every((peer) => peer.podSelector && !peer.namespaceSelector && !peer.ipBlock);
        if (hits && !inside) errs.push(`${p.metadata.name}: admits the events port ${PORTS.trackerEvents} from outside the namespace`);
      }
    }
  }
  return errs;
}
