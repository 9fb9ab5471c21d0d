// The `restricted` Pod Security Standard (kubernetes.io/docs/concepts/
// security/pod-security-standards, baseline controls included), as the
// namespace's pod-security.kubernetes.io/enforce label makes the API server
// apply it at admission: restrictedViolations(meta, spec) lists what a pod
// template breaks, one string per control, so the manifests are known to be
// admitted without a cluster to try them on.

// Sysctls the baseline level allows; volume types, SELinux types and seccomp
// or AppArmor profile types the restricted level allows.
const SAFE_SYSCTLS = new Set(['kernel.shm_rmid_forced', 'net.ipv4.ip_local_port_range',
  'net.ipv4.ip_unprivileged_port_start', 'net.ipv4.tcp_syncookies', 'net.ipv4.ping_group_range',
  'net.ipv4.ip_local_reserved_ports', 'net.ipv4.tcp_keepalive_time', 'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_intvl', 'net.ipv4.tcp_keepalive_probes']);
const VOLUME_TYPES = new Set(['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral',
  'persistentVolumeClaim', 'projected', 'secret']);
const SELINUX_TYPES = new Set(['', 'container_t', 'container_init_t', 'container_kvm_t', 'container_engine_t']);
const SECCOMP_OK = new Set(['RuntimeDefault', 'Localhost']);

export const PSS_LABEL = 'pod-security.kubernetes.io/enforce';

export function restrictedViolations(meta, spec) {
  const v = [];
  const psc = spec.securityContext ?? {};
  const containers = [...(spec.initContainers ?? []), ...(spec.containers ?? []), ...(spec.ephemeralContainers ?? [])];

  for (const k of ['hostNetwork', 'hostPID', 'hostIPC']) if (spec[k]) v.push(`${k} is true`);
  if (psc.windowsOptions?.hostProcess) v.push('pod: windowsOptions.hostProcess');
  for (const vol of spec.volumes ?? []) {
    const type = Object.keys(vol).find((k) => k !== 'name');
    if (!VOLUME_TYPES.has(type)) v.push(`volume ${vol.name} is of type ${type}`);
  }
  for (const s of psc.sysctls ?? []) if (!SAFE_SYSCTLS.has(s.name)) v.push(`sysctl ${s.name} is not a safe sysctl`);
  for (const [k, val] of Object.entries(meta.annotations ?? {})) {
    if (k.startsWith('container.apparmor.security.beta.kubernetes.io/') && val !== 'runtime/default' && !val.startsWith('localhost/')) {
      v.push(`annotation ${k}: ${val}`);
    }
  }
  const selinux = (where, o) => {
    if (!o) return;
    if (!SELINUX_TYPES.has(o.type ?? '')) v.push(`${where}: SELinux type ${o.type}`);
    if (o.user || o.role) v.push(`${where}: SELinux user or role set`);
  };
  const apparmor = (where, p) => {
    if (p && !SECCOMP_OK.has(p.type)) v.push(`${where}: AppArmor profile ${p.type}`);
  };
  selinux('pod', psc.seLinuxOptions);
  apparmor('pod', psc.appArmorProfile);
  if (psc.runAsUser === 0) v.push('pod: runAsUser 0');
  if (psc.seccompProfile && !SECCOMP_OK.has(psc.seccompProfile.type)) v.push(`pod: seccomp profile ${psc.seccompProfile.type}`);

  for (const c of containers) {
    const sc = c.securityContext ?? {};
    const where = `container ${c.name}`;
    if (sc.privileged) v.push(`${where}: privileged`);
    if (sc.windowsOptions?.hostProcess) v.push(`${where}: windowsOptions.hostProcess`);
    if (sc.procMount && sc.procMount !== 'Default') v.push(`${where}: procMount ${sc.procMount}`);
    selinux(where, sc.seLinuxOptions);
    apparmor(where, sc.appArmorProfile);
    for (const p of c.ports ?? []) if (p.hostPort) v.push(`${where}: hostPort ${p.hostPort}`);
    if (sc.allowPrivilegeEscalation !== false) v.push(`${where}: allowPrivilegeEscalation is not false`);
    const nonRoot = sc.runAsNonRoot ?? psc.runAsNonRoot;
    if (nonRoot !== true) v.push(`${where}: runAsNonRoot is not true (pod or container)`);
    if (sc.runAsUser === 0) v.push(`${where}: runAsUser 0`);
    const seccomp = sc.seccompProfile?.type ?? psc.seccompProfile?.type;
    if (!SECCOMP_OK.has(seccomp)) v.push(`${where}: seccomp profile ${seccomp ?? 'unset'}, want RuntimeDefault or Localhost`);
    if (!(sc.capabilities?.drop ?? []).includes('ALL')) v.push(`${where}: capabilities do not drop ALL`);
    for (const cap of sc.capabilities?.add ?? []) if (cap !== 'NET_BIND_SERVICE') v.push(`${where}: adds capability ${cap}`);
  }
  return v;
}
