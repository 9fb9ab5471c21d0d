// The self-test's breaks of a good render of deploy/k8s (base and ppctl
// pod): [name, the error that must appear, mutation]. Each one breaks one
// invariant of check-k8s.mjs or of the modules it runs, the way an edit of
// the manifests could; `check-k8s.mjs --self-test` fails unless every break
// is reported with the expected message.
import {
  NAMESPACE, KEY_SECRET, find, podSpec, allContainers, workloads,
} from './k8s-model.mjs';
import { PRIMARY_CONFIGMAP } from './k8s-tracker.mjs';

const worker = (objs) => find(objs, 'StatefulSet', 'pp-worker');
const wc = (objs) => podSpec(worker(objs)).containers[0];
const tc = (objs) => podSpec(find(objs, 'StatefulSet', 'pp-tracker')).containers[0];
const gc = (objs) => podSpec(find(objs, 'Deployment', 'pp-gateway')).containers[0];
const policy = (objs, name) => find(objs, 'NetworkPolicy', name).spec;
// The ingress rule of policy `name` that admits `port`.
const ingressRule = (objs, name, port) => policy(objs, name).ingress.find((r) => r.ports?.some((p) => p.port === port));
const setArg = (c, flag, value) => { c.args[c.args.findIndex((a) => a.startsWith(`--${flag}=`))] = `--${flag}=${value}`; };
const editScript = (c, from, to) => {
  if (!c.args[0].includes(from)) throw new Error(`mutation: ${from} is not in the script of ${c.name}`);
  c.args[0] = c.args[0].replace(from, to);
};
export const MUTATIONS = [
  ['unknown field in a container', /unknown field .*readinesProbe/, (o) => {
    const c = wc(o);
    c.readinesProbe = c.readinessProbe;
  }],
  ['unknown field deep in a volume', /unknown field .*secret\/readOnly/, (o) => {
    podSpec(worker(o)).volumes.find((v) => v.secret).secret.readOnly = true;
  }],
  ['wrong type', /schema: .*replicas must be integer/, (o) => { worker(o).spec.replicas = '3'; }],
  ['wrong worker replicas', /\[replicas\] .*pp-worker: replicas 2/, (o) => { worker(o).spec.replicas = 2; }],
  ['gateway replicas', /\[replicas\] .*pp-gateway/, (o) => { find(o, 'Deployment', 'pp-gateway').spec.replicas = 1; }],
  ['no PVC template', /\[volumeClaimTemplates\] pp-tracker/, (o) => { delete find(o, 'StatefulSet', 'pp-tracker').spec.volumeClaimTemplates; }],
  ['no readiness probe', /\[probes\] pp-worker: no exec readinessProbe/, (o) => { delete wc(o).readinessProbe; }],
  ['probe on wrong port', /\[probes\] pp-tracker: livenessProbe/, (o) => {
    podSpec(find(o, 'StatefulSet', 'pp-tracker')).containers[0].livenessProbe.exec.command[2] = 'tcp://127.0.0.1:7001';
  }],
  ['gateway liveness path', /\[probes\] pp-gateway: livenessProbe/, (o) => {
    podSpec(find(o, 'Deployment', 'pp-gateway')).containers[0].livenessProbe.httpGet.path = '/';
  }],
  ['no zone spread', /\[spread\] .*topology.kubernetes.io\/zone/, (o) => {
    const s = podSpec(worker(o));
    s.topologySpreadConstraints = s.topologySpreadConstraints.filter((t) => !t.topologyKey.includes('zone'));
  }],
  ['world-readable key', /\[clusterKey\] .*defaultMode 644/, (o) => {
    podSpec(worker(o)).volumes.find((v) => v.secret).secret.defaultMode = 0o644;
  }],
  ['key mounted read-write', /\[clusterKey\] .*read-write/, (o) => {
    const vol = podSpec(find(o, 'Deployment', 'pp-gateway')).volumes.find((v) => v.secret).name;
    podSpec(find(o, 'Deployment', 'pp-gateway')).containers[0].volumeMounts.find((m) => m.name === vol).readOnly = false;
  }],
  ['probe without key', /\[clusterKey\] .*livenessProbe runs ppctl without --key-file/, (o) => {
    const p = wc(o).livenessProbe.exec;
    p.command = p.command.filter((w, i, a) => w !== '--key-file' && a[i - 1] !== '--key-file');
  }],
  ['committed key', /\[clusterKey\] Secret pp-cluster-key is in the manifests/, (o) => {
    o.push({ apiVersion: 'v1', kind: 'Secret', metadata: { name: KEY_SECRET, namespace: NAMESPACE }, stringData: { key: 'x' } });
  }],
  ['two image tags', /\[image\] images differ/, (o) => { podSpec(worker(o)).initContainers[0].image = 'peer-pressure:0.2.0'; }],
  ['latest tag', /\[image\] .*no fixed tag/, (o) => {
    for (const w of workloads(o)) for (const c of allContainers(podSpec(w))) c.image = 'peer-pressure:latest';
  }],
  ['undocumented env', /\[envAndFlags\] .*env PP_SECRET_SAUCE is not documented/, (o) => {
    wc(o).env.push({ name: 'PP_SECRET_SAUCE', value: '1' });
  }],
  ['env of another binary', /\[envAndFlags\] .*env PP_DB is not read by pp-worker/, (o) => {
    wc(o).env.push({ name: 'PP_DB', value: '/x' });
  }],
  ['undocumented flag', /\[envAndFlags\] .*pp-gateway has no flag --threads/, (o) => {
    podSpec(find(o, 'Deployment', 'pp-gateway')).containers[0].args.push('--threads=4');
  }],
  ['undocumented ppctl verb', /\[envAndFlags\] .*ppctl verb pong/, (o) => {
    const p = wc(o).readinessProbe.exec.command;
    p[p.length - 1] = 'pong';
  }],
  ['capacity not PVC size', /\[worker\] pp-worker: --capacity/, (o) => {
    wc(o).env.find((e) => e.name === 'PP_CAPACITY').value = '1000';
  }],
  ['advertise a pod IP', /\[worker\] pp-worker: --advertise/, (o) => {
    wc(o).args[0] = wc(o).args[0].replace(/--advertise "[^"]*"/, '--advertise "tcp://$POD_IP:7100"');
  }],
  ['no preStop', /\[worker\] pp-worker: preStop/, (o) => { delete wc(o).lifecycle.preStop; }],
  ['no --zone', /\[worker\] pp-worker: no --zone/, (o) => {
    wc(o).args[0] = wc(o).args[0].replace(/\$\{zone:\+--zone "\$zone"\}/, '');
  }],
  ['broad RBAC', /\[worker\] .*grants more than get on nodes/, (o) => {
    o.find((x) => x.kind === 'ClusterRole').rules[0].verbs.push('list');
  }],
  ['token in the service container', /\[worker\] .*automount/, (o) => { podSpec(worker(o)).automountServiceAccountToken = true; }],
  ['tracker address without Service', /\[addresses\] .*--tracker tcp:\/\/pp-trakker:7000/, (o) => {
    const a = podSpec(find(o, 'Deployment', 'pp-gateway')).containers[0].args;
    a[a.findIndex((x) => x.startsWith('--tracker'))] = '--tracker=tcp://pp-trakker:7000';
  }],
  ['gateway Service port', /\[ports\] pp-gateway: Service has no port 8080/, (o) => {
    find(o, 'Service', 'pp-gateway').spec.ports[0].port = 80;
  }],
  ['no scrape annotation', /\[metrics\] pp-worker: pods lack prometheus.io\/scrape/, (o) => {
    delete worker(o).spec.template.metadata.annotations['prometheus.io/scrape'];
  }],
  ['annotation on the wrong port', /\[metrics\] pp-gateway: prometheus.io\/port is 8080/, (o) => {
    find(o, 'Deployment', 'pp-gateway').spec.template.metadata.annotations['prometheus.io/port'] = '8080';
  }],
  ['no --metrics', /\[metrics\] pp-tracker: --metrics is undefined/, (o) => {
    const c = tc(o);
    c.args[0] = c.args[0].replace(/--metrics 0\.0\.0\.0:7090 \\\n/, '');
  }],
  ['no limits', /\[resources\] .*no memory request and limit/, (o) => { delete wc(o).resources.limits; }],
  ['no PDB', /\[disruptionBudgets\] pp-worker: no PodDisruptionBudget/, (o) => {
    o.splice(o.findIndex((x) => x.kind === 'PodDisruptionBudget' && x.metadata.name === 'pp-worker'), 1);
  }],
  ['root', /\[security\] pp-tracker: pods may run as root/, (o) => {
    delete podSpec(find(o, 'StatefulSet', 'pp-tracker')).securityContext.runAsNonRoot;
  }],
  ['wrong namespace', /\[namespace\] .*namespace is default/, (o) => { worker(o).metadata.namespace = 'default'; }],

  // The standby tracker (issue 16).
  ['one tracker', /\[replicas\] .*pp-tracker: replicas 1/, (o) => { find(o, 'StatefulSet', 'pp-tracker').spec.replicas = 1; }],
  ['every tracker a primary', /\[tracker\] pp-tracker: pp-tracker-1 \(ConfigMap absent\): a second primary/, (o) => {
    editScript(tc(o), '${follow:+--follow "$follow"}', '');
  }],
  ['standby follows the bus port', /\[tracker\] .*--follow .* is not pp-tracker-0's rpc port 7000/, (o) => {
    editScript(tc(o), '.svc:7000"', '.svc:7001"');
  }],
  ['standby follows a name outside the namespace', /\[tracker\] .*--follow .* is not the namespace/, (o) => {
    editScript(tc(o), '$POD_NAMESPACE.svc:7000', 'default.svc:7000');
  }],
  ['role ConfigMap required', /\[tracker\] .*ConfigMap pp-tracker-primary is not optional/, (o) => {
    tc(o).env.find((e) => e.valueFrom?.configMapKeyRef).valueFrom.configMapKeyRef.optional = false;
  }],
  ['role ConfigMap committed', /\[tracker\] .*ConfigMap pp-tracker-primary is in the manifests/, (o) => {
    o.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: PRIMARY_CONFIGMAP, namespace: NAMESPACE }, data: { pod: 'pp-tracker-0' } });
  }],
  ['any ConfigMap value accepted', /\[tracker\] .*starts although ConfigMap pp-tracker-primary names 'pp-worker-0'/, (o) => {
    editScript(tc(o), '  exit 1\n', '  :\n');
  }],
  ['reseed keeps the old WAL', /\[tracker\] .*after a reseed tracker.db-wal holds "old wal"/, (o) => {
    editScript(tc(o), 'if [ -e "$d/tracker.db-wal" ]; then mv "$d/tracker.db-wal" "$d/tracker.db.before-reseed-wal"; fi\n', '');
  }],
  ['tracker names wait for readiness', /\[tracker\] .*publishNotReadyAddresses/, (o) => {
    delete find(o, 'Service', 'pp-tracker').spec.publishNotReadyAddresses;
  }],
  ['trackers created in order', /\[tracker\] .*podManagementPolicy is not Parallel/, (o) => {
    delete find(o, 'StatefulSet', 'pp-tracker').spec.podManagementPolicy;
  }],
  ['trackers may share a host', /\[spread\] pp-tracker: two pods may share a host/, (o) => {
    podSpec(find(o, 'StatefulSet', 'pp-tracker')).topologySpreadConstraints[0].whenUnsatisfiable = 'ScheduleAnyway';
  }],
  ['no tracker PDB', /\[disruptionBudgets\] pp-tracker: no PodDisruptionBudget/, (o) => {
    o.splice(o.findIndex((x) => x.kind === 'PodDisruptionBudget' && x.metadata.name === 'pp-tracker'), 1);
  }],
  ['tracker readiness through the list', /\[probes\] pp-tracker: readinessProbe is not .*a standby answers/, (o) => {
    tc(o).readinessProbe.exec.command[2] = 'tcp://127.0.0.1:7000,tcp://pp-tracker-1.pp-tracker:7000';
  }],
  ['tracker readiness needs the primary', /\[probes\] pp-tracker: readinessProbe is not/, (o) => {
    tc(o).readinessProbe.exec.command.splice(-1, 1, 'maintenance', 'pp-worker-0', 'off');
  }],
  ['worker heartbeats to the primary only', /\[addresses\] pp-worker\/worker: pp-worker --bus .* does not list the tracker pods/, (o) => {
    editScript(wc(o), '--bus "tcp://$TRACKER_0:7001,tcp://$TRACKER_1:7001"', '--bus "tcp://$TRACKER_0:7001"');
  }],
  ['worker lists in another order', /\[addresses\] pp-worker\/worker: pp-worker --tracker .* in order/, (o) => {
    editScript(wc(o), '"tcp://$TRACKER_0:7000,tcp://$TRACKER_1:7000" \\', '"tcp://$TRACKER_1:7000,tcp://$TRACKER_0:7000" \\');
  }],
  ['preStop to one tracker', /\[addresses\] pp-worker\/worker: preStop --tracker .* does not list/, (o) => {
    const p = wc(o).lifecycle.preStop.exec.command;
    p[p.length - 1] = p.at(-1).replace(',tcp://$TRACKER_1:7000', '');
  }],
  ['events list paired with rpc ports', /\[addresses\] .*--events .*:7000 is not the tracker's events port/, (o) => {
    setArg(gc(o), 'events', 'tcp://$(TRACKER_0):7002,tcp://$(TRACKER_1):7000');
  }],
  ['the headless tracker Service dialed', /\[addresses\] .*names any of 2 pods/, (o) => {
    setArg(gc(o), 'tracker', 'tcp://pp-tracker:7000');
  }],
  ['a third tracker dialed', /\[addresses\] .*pp-tracker-2 is not a pod of StatefulSet pp-tracker \(2 replicas\)/, (o) => {
    setArg(gc(o), 'tracker', 'tcp://$(TRACKER_0):7000,tcp://$(TRACKER_1):7000,tcp://pp-tracker-2.pp-tracker:7000');
  }],
  ['names defined before the namespace', /\[addresses\] pp-gateway\/gateway: .*still holds a variable/, (o) => {
    const env = gc(o).env;
    env.push(env.shift());
  }],

  // Network policies (issue 15).
  ['no default deny', /\[networkPolicies\] no default-deny/, (o) => {
    o.splice(o.findIndex((x) => x.kind === 'NetworkPolicy' && x.metadata.name === 'default-deny'), 1);
  }],
  ['events from any namespace', /\[networkPolicies\] pp-tracker: admits the events port 7002 from outside the namespace/, (o) => {
    ingressRule(o, 'pp-tracker', 7002).from[0].namespaceSelector = {};
  }],
  ['events from an address block', /\[networkPolicies\] pp-tracker: admits the events port 7002 from outside/, (o) => {
    ingressRule(o, 'pp-tracker', 7002).from.push({ ipBlock: { cidr: '10.0.0.0/8' } });
  }],
  ['events through a port-less rule', /\[networkPolicies\] pp-tracker: admits the events port 7002 from outside/, (o) => {
    delete ingressRule(o, 'pp-tracker', 7090).ports;
  }],
  ['bus closed to workers', /\[networkPolicies\] pp-worker -> pp-tracker:7001\/TCP .*not admitted into pp-tracker/, (o) => {
    policy(o, 'pp-tracker').ingress.splice(policy(o, 'pp-tracker').ingress.indexOf(ingressRule(o, 'pp-tracker', 7001)), 1);
  }],
  ['gateways kept from workers', /\[networkPolicies\] pp-gateway -> pp-worker:7100\/TCP .*not allowed out of pp-gateway/, (o) => {
    policy(o, 'pp-gateway').egress = policy(o, 'pp-gateway').egress.filter((r) => !r.ports.some((p) => p.port === 7100));
  }],
  ['standby kept from the primary', /\[networkPolicies\] pp-tracker -> pp-tracker:7000\/TCP \(pp-tracker-1: --follow.*not allowed out/, (o) => {
    policy(o, 'pp-tracker').egress = policy(o, 'pp-tracker').egress.filter((r) => !r.ports.some((p) => p.port === 7000));
  }],
  ['bus open to gateways', /\[networkPolicies\] pp-tracker admits 7001\/TCP from pp-gateway, which does not dial it/, (o) => {
    ingressRule(o, 'pp-tracker', 7001).from.push({ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'pp-gateway' } } });
  }],
  ['a rule for every port', /\[networkPolicies\] pp-worker: an ingress rule without ports/, (o) => {
    delete ingressRule(o, 'pp-worker', 7100).ports;
  }],
  ['metrics from everywhere', /\[networkPolicies\] pp-tracker admits 7090\/TCP from a host outside the cluster/, (o) => {
    delete ingressRule(o, 'pp-tracker', 7090).from;
  }],
  ['trackers of any namespace', /\[networkPolicies\] pp-worker admits 7100\/TCP from pp-tracker's labels in another namespace/, (o) => {
    ingressRule(o, 'pp-worker', 7100).from[0].namespaceSelector = {};
  }],
  ['no DNS', /\[networkPolicies\] pp-gateway -> kube-dns:53\/UDP .*not allowed out of pp-gateway/, (o) => {
    o.splice(o.findIndex((x) => x.kind === 'NetworkPolicy' && x.metadata.name === 'dns'), 1);
  }],
  ['zone lookup blocked', /\[networkPolicies\] pp-worker -> the API server:443\/TCP .*not allowed out of pp-worker/, (o) => {
    policy(o, 'pp-worker').egress = policy(o, 'pp-worker').egress.filter((r) => r.to);
  }],
  ['tracker may reach the internet', /\[networkPolicies\] pp-tracker may send to a host outside the cluster on 443/, (o) => {
    policy(o, 'pp-tracker').egress.push({ ports: [{ protocol: 'TCP', port: 443 }] });
  }],
  ['ppctl pods shut out', /\[networkPolicies\] .*ppctl.* -> pp-worker:7100\/TCP .*not admitted into pp-worker/, (o) => {
    const r = ingressRule(o, 'pp-worker', 7100);
    r.from = r.from.filter((p) => p.podSelector?.matchLabels?.['app.kubernetes.io/name'] !== 'ppctl');
  }],

  // The restricted Pod Security Standard (issue 15).
  ['namespace not restricted', /\[podSecurity\] Namespace peer-pressure: pod-security.kubernetes.io\/enforce is baseline/, (o) => {
    find(o, 'Namespace', NAMESPACE).metadata.labels['pod-security.kubernetes.io/enforce'] = 'baseline';
  }],
  ['zone lookup may escalate', /\[podSecurity\] StatefulSet\/pp-worker: container node-zone: allowPrivilegeEscalation/, (o) => {
    delete podSpec(worker(o)).initContainers[0].securityContext.allowPrivilegeEscalation;
  }],
  ['a capability added', /\[podSecurity\] Deployment\/pp-gateway: container gateway: adds capability NET_RAW/, (o) => {
    gc(o).securityContext.capabilities.add = ['NET_RAW'];
  }],
  ['capabilities kept', /\[podSecurity\] StatefulSet\/pp-worker: container node-zone: capabilities do not drop ALL/, (o) => {
    delete podSpec(worker(o)).initContainers[0].securityContext.capabilities;
  }],
  ['no seccomp profile', /\[podSecurity\] StatefulSet\/pp-tracker: container tracker: seccomp profile unset/, (o) => {
    delete podSpec(find(o, 'StatefulSet', 'pp-tracker')).securityContext.seccompProfile;
  }],
  ['a hostPath volume', /\[podSecurity\] StatefulSet\/pp-worker: volume host is of type hostPath/, (o) => {
    podSpec(worker(o)).volumes.push({ name: 'host', hostPath: { path: '/' } });
  }],
  ['host network', /\[podSecurity\] Deployment\/pp-gateway: hostNetwork is true/, (o) => {
    podSpec(find(o, 'Deployment', 'pp-gateway')).hostNetwork = true;
  }],
  ['root in one container', /\[podSecurity\] StatefulSet\/pp-worker: container worker: runAsNonRoot is not true/, (o) => {
    wc(o).securityContext.runAsNonRoot = false;
  }],

  // Monitoring.
  ['pods Prometheus drops', /\[metrics\] pp-worker: deploy\/monitoring\/prometheus-kubernetes.yml does not scrape its pods/, (o) => {
    delete worker(o).spec.template.metadata.labels['app.kubernetes.io/part-of'];
  }],
];
