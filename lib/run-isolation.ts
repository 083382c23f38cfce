import * as path from 'path';
import { PRODUCTION_INTERNALS } from './worker-user-data';

/**
 * Internal: which launcher settings would hand every run the pool credentials or root on the host.
 * A run holding the pool token and private key can register workers for the pool and receive other
 * stacks' runs and their secrets, so these are refused at synth rather than warned about. The one
 * exception is the host network (see `HOST_NETWORK_RISK`), which exposes exactly what
 * `allowContainerInstanceCredentials` does.
 */

/** Refused as a mount, together with everything inside them and every directory above them. */
const HOST_TREES: Record<string, string> = {
  '/proc': 'the host\'s processes, whose environment holds the pool credentials',
  '/sys': 'the host kernel\'s settings',
  '/dev': 'the host\'s devices, such as its disks',
  '/boot': 'the host\'s kernel and boot loader',
  '/root': 'root\'s home directory',
  '/run': 'the pool credentials on tmpfs and the Docker socket (root on the host)',
  '/var/run': 'the Docker socket (root on the host)',
  '/var/lib/docker': 'every container\'s files',
  '/var/lib/containerd': 'every container\'s files',
  '/var/lib/cloud': 'cloud-init\'s scripts, which root runs at boot',
  '/var/spool': 'cron tables, which root runs',
  [PRODUCTION_INTERNALS.runDir]: 'the pool credentials',
  [PRODUCTION_INTERNALS.libexecDir]: 'the bootstrap, which runs as root',
  [PRODUCTION_INTERNALS.launcherPath]: 'the launcher binary',
  [PRODUCTION_INTERNALS.logDir]: 'the launcher logs of every run',
  [PRODUCTION_INTERNALS.cloudwatchAgentDir]: 'the CloudWatch agent, which runs as root',
};

/**
 * Refused as a mount with everything inside them and every directory above them, except the CA
 * certificate folders below: mounts are read-write, and a run that can write `/etc/cron.d`,
 * `/etc/systemd/system` or `/usr/local/bin` is root on the host.
 */
const SYSTEM_DIRS: Record<string, string> = {
  '/etc': 'the host\'s configuration (sudoers, systemd units)',
  '/usr': 'programs that root runs',
  '/bin': 'programs that root runs',
  '/sbin': 'programs that root runs',
  '/lib': 'libraries that root loads',
  '/lib64': 'libraries that root loads',
};

/** CA bundles that runs commonly need from the host; mounts of these or inside them are accepted. */
const CERTIFICATE_DIRS = ['/etc/ssl', '/etc/pki', '/etc/ca-certificates', '/usr/share/ca-certificates', '/usr/local/share/ca-certificates'];

/** Why mounting `hostPath` into runs exposes the host, or undefined when it does not. */
export function hostMountExposure(hostPath: string): string | undefined {
  const normalized = path.posix.normalize(hostPath).replace(/(.)\/+$/, '$1');
  const inside = (dir: string) => normalized === dir || normalized.startsWith(`${dir}/`);
  const above = (dir: string) => normalized === '/' || dir.startsWith(`${normalized}/`);
  for (const [dir, why] of Object.entries(HOST_TREES)) {
    if (inside(dir) || above(dir)) return `${dir} holds ${why}`;
  }
  if (CERTIFICATE_DIRS.some(inside)) return undefined;
  for (const [dir, why] of Object.entries(SYSTEM_DIRS)) {
    if (inside(dir) || above(dir)) return `${dir} holds ${why}`;
  }
  return undefined;
}

/**
 * The pool token and private key, and any variant a launcher might read them from, in either case
 * and with the launcher's `ro_`/`wo_` run-kind prefixes.
 */
const CREDENTIAL_VARIABLE = /^((ro|wo)_)?SPACELIFT_(TOKEN|POOL_)/i;

export function isPoolCredentialVariable(name: string): boolean {
  return CREDENTIAL_VARIABLE.test(name);
}

/** Docker's host network: run containers reach IMDS like the host does, whatever the hop limit. */
export const HOST_NETWORK = 'host';
export const HOST_NETWORK_RISK = 'launcher.network is "host": run containers share the instance\'s network, so they reach the instance '
  + 'metadata service and act with the instance role, which reads the pool credentials; any run can then register workers for this pool. '
  + 'Keep a bridge network unless every run on the pool is trusted.';
