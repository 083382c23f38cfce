import type { Duration } from 'aws-cdk-lib';
import type * as ecr from 'aws-cdk-lib/aws-ecr';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';

/** The Spacelift SaaS region your account lives in. */
export enum SpaceliftRegion {
  /** `app.spacelift.io` */
  EU = 'EU',
  /** `app.us.spacelift.io` */
  US = 'US',
}

/** Options of {@link WorkerComms.poll}. */
export interface PollCommsOptions {
  /**
   * The Spacelift base URL the workers poll. Required for self-hosted Spacelift and FedRAMP: use the
   * base URL of your installation.
   * @default - the SaaS URL of `region`
   */
  readonly url?: string;
  /**
   * The SaaS region of your account, which picks the default `url`. Not combinable with `url`.
   * @default SpaceliftRegion.EU (`https://app.spacelift.io`)
   */
  readonly region?: SpaceliftRegion;
}

/**
 * How workers talk to Spacelift (`SPACELIFT_WORKER_COMMS_PROTOCOL` and `SPACELIFT_WORKER_COMMS_URL`).
 */
export class WorkerComms {
  /**
   * HTTP long polling, the default transport.
   */
  public static poll(options: PollCommsOptions = {}): WorkerComms {
    return new WorkerComms('poll', options.url, options.region);
  }

  /**
   * The deprecated MQTT (AWS IoT) transport, for pools that have not moved to polling yet.
   */
  public static mqtt(): WorkerComms {
    return new WorkerComms('mqtt');
  }

  /** The protocol: `poll` or `mqtt`. */
  public readonly protocol: string;
  /** The URL polled, when given explicitly. */
  public readonly url?: string;
  /** The SaaS region for the default URL, when given. */
  public readonly region?: SpaceliftRegion;

  private constructor(protocol: string, url?: string, region?: SpaceliftRegion) {
    this.protocol = protocol;
    this.url = url;
    this.region = region;
  }
}

/** Which runs an extra mount is given to. */
export enum RunAccess {
  /** Every run. */
  ALL = 'ALL',
  /** Read-only runs only (proposed runs). */
  READ_ONLY = 'READ_ONLY',
  /** Write-only runs only (tracked runs). */
  WRITE_ONLY = 'WRITE_ONLY',
}

/** A host directory mounted into run containers (`SPACELIFT_WORKER_*EXTRA_MOUNTS`). */
export interface ExtraMount {
  /** Absolute path on the instance. */
  readonly hostPath: string;
  /** Absolute path inside the run container. */
  readonly containerPath: string;
  /**
   * Which runs get the mount.
   * @default RunAccess.ALL
   */
  readonly runs?: RunAccess;
}

/** A launcher environment variable read from Secrets Manager when the launcher service starts. */
export interface SecretEnvironmentVariable {
  /** The secret. The instance role is granted read access to it. */
  readonly secret: secretsmanager.ISecret;
  /**
   * The key of the value inside the secret's JSON string.
   * @default - the whole secret string
   */
  readonly jsonKey?: string;
}

/**
 * An outbound HTTP proxy for the launcher, the Docker daemon and run containers. The proxy
 * variables are added to `SPACELIFT_WHITELIST_ENVS`, so run containers get them too.
 */
export interface ProxyOptions {
  /**
   * Proxy for plain HTTP (`HTTP_PROXY`), such as `http://proxy.internal:3128`. Must not contain
   * credentials: user data is plain text.
   * @default - none
   */
  readonly httpProxy?: string;
  /**
   * Proxy for HTTPS (`HTTPS_PROXY`). Must not contain credentials.
   * @default - none
   */
  readonly httpsProxy?: string;
  /**
   * Hosts, domains (`.internal`) and CIDR ranges that bypass the proxy (`NO_PROXY`). The instance
   * metadata address `169.254.169.254` is always added.
   * @default - only the instance metadata address
   */
  readonly noProxy?: string[];
}

/**
 * Settings of the Spacelift launcher on each worker. Each typed option becomes the launcher
 * environment variable named in its description.
 *
 * @see https://docs.spacelift.io/concepts/worker-pools
 */
export interface LauncherOptions {
  /**
   * How workers reach Spacelift.
   * @default WorkerComms.poll() (`https://app.spacelift.io`)
   */
  readonly comms?: WorkerComms;
  /**
   * Longest run allowed (`SPACELIFT_LAUNCHER_RUN_TIMEOUT`).
   * @default - the launcher's default, 70 minutes
   */
  readonly runTimeout?: Duration;
  /**
   * Kills a run that writes no log output for this long (`SPACELIFT_LAUNCHER_LOGS_TIMEOUT`).
   * @default - the launcher's default, 7 minutes
   */
  readonly logsTimeout?: Duration;
  /**
   * Uploads sensitive outputs, needed for stack dependencies on sensitive outputs
   * (`SPACELIFT_SENSITIVE_OUTPUT_UPLOAD_ENABLED`).
   * @default false
   */
  readonly sensitiveOutputUpload?: boolean;
  /**
   * Also writes run logs to the launcher's standard output, so they reach the info log group
   * (`SPACELIFT_RUN_LOGS_ON_STANDARD_OUTPUT_ENABLED`).
   * @default false
   */
  readonly runLogsOnStandardOutput?: boolean;
  /**
   * Host directories mounted into run containers (`SPACELIFT_WORKER_EXTRA_MOUNTS`,
   * `SPACELIFT_WORKER_RO_EXTRA_MOUNTS`, `SPACELIFT_WORKER_WO_EXTRA_MOUNTS`). Host paths that would
   * hand runs the pool credentials or root on the host are refused: `/`, `/proc`, `/sys`, `/dev`,
   * `/boot`, `/root`, `/run` and `/var/run` (the secrets on tmpfs, the Docker socket), Docker's and
   * containerd's state, this library's bootstrap, launcher and logs, the CloudWatch agent, anything
   * inside those, and `/etc`, `/usr`, `/bin`, `/sbin`, `/lib` or any directory above them
   * (`/etc/ssl/certs` is fine).
   * @default - none
   */
  readonly extraMounts?: ExtraMount[];
  /**
   * Container runtime of run containers, such as `runsc` for gVisor (`SPACELIFT_WORKER_RUNTIME`).
   * @default - Docker's default runtime
   */
  readonly runtime?: string;
  /**
   * Docker network of run containers (`SPACELIFT_WORKER_NETWORK`). `host` is allowed with the
   * warning `cdk-ec2-workerpool:hostNetwork`: runs then reach the instance metadata service, and so
   * the instance role and the pool credentials.
   * @default - `bridge`
   */
  readonly network?: string;
  /**
   * Default runner image (`SPACELIFT_DEFAULT_RUNNER_IMAGE`).
   * @default - `public.ecr.aws/spacelift/runner-terraform:latest`
   */
  readonly defaultRunnerImage?: string;
  /**
   * Default Ansible runner image (`SPACELIFT_DEFAULT_ANSIBLE_RUNNER_IMAGE`).
   * @default - `public.ecr.aws/spacelift/runner-ansible:latest`
   */
  readonly defaultAnsibleRunnerImage?: string;
  /**
   * Names of whitelisted variables whose values never appear in run logs (`SPACELIFT_MASK_ENVS`).
   * @default - none
   */
  readonly maskEnvs?: string[];
  /**
   * Launcher variables passed into run containers (`SPACELIFT_WHITELIST_ENVS`). A `ro_` or `wo_`
   * prefix limits one to read-only or write-only runs (as the launcher reads the list). The proxy
   * variables are added automatically. The pool credentials (`SPACELIFT_TOKEN*`, `SPACELIFT_POOL_*`,
   * in any case) are refused: every run could register workers for the pool with them.
   * @default - only the proxy variables, when `proxy` is set
   */
  readonly whitelistEnvs?: string[];
  /**
   * Prints the exact commands the launcher runs (`SPACELIFT_DEBUG`).
   * @default false
   */
  readonly debug?: boolean;
  /**
   * Extra worker metadata tags shown in Spacelift (`SPACELIFT_METADATA_<key>`). `instance_id`,
   * `ami_id` and `asg_id` are always set from instance metadata.
   * @default - only the instance metadata tags
   */
  readonly metadata?: { [key: string]: string };
  /**
   * Any other launcher variables, in plain text in the user data. Names are letters, digits and `_`,
   * not starting with a digit. Secrets belong in `secretEnvironment`; the pool token and private key
   * are refused here.
   * @default - none
   */
  readonly environment?: { [name: string]: string };
  /**
   * Launcher variables read from Secrets Manager when the launcher starts, into tmpfs only. The
   * instance role is granted read access to each secret.
   * @default - none
   */
  readonly secretEnvironment?: { [name: string]: SecretEnvironmentVariable };
  /**
   * An outbound HTTP proxy for the launcher, the Docker daemon (a systemd drop-in) and run containers.
   * @default - no proxy
   */
  readonly proxy?: ProxyOptions;
  /**
   * PEM-encoded CA certificates added to the instance's trust store (for a self-hosted Spacelift or
   * a TLS-inspecting proxy with a private CA). Docker is restarted to pick them up.
   * @default - none
   */
  readonly caCertificates?: string[];
  /**
   * The user the launcher runs as. It is created if missing and added to the `docker` group.
   * `root` runs the launcher as root.
   * @default - `spacelift` when `selfHosted` is set, otherwise root
   */
  readonly runAsUser?: string;
}

/**
 * Self-hosted Spacelift: the launcher binary comes from your S3 bucket and must match a SHA256 fixed
 * at synth. A checksum read from the same bucket would prove nothing: whoever can replace the binary
 * can replace that too. The instance role is granted `s3:GetObject` on the launcher object only,
 * and the download insists on the bucket's account (`--expected-bucket-owner`).
 */
export interface SelfHostedOptions {
  /**
   * The bucket holding the launcher binary. Its account (`env.account`; the stack's account for a
   * bucket of the stack or one imported by name) must own it, or the download fails: import a bucket
   * of another account with `Bucket.fromBucketAttributes({ bucketName, account })`.
   */
  readonly launcherBucket: s3.IBucket;
  /**
   * The key of the launcher binary, for the architecture of the instance types
   * (for example `spacelift-launcher-x86_64`).
   */
  readonly launcherObjectKey: string;
  /**
   * The SHA256 of the launcher binary (64 hex digits), as published with your Spacelift release.
   * Workers refuse any other binary.
   */
  readonly launcherSha256: string;
}

/** What runs on each worker before the launcher starts. */
export interface PreStartHooks {
  /**
   * ECR repositories run images come from. Docker logs in to their registries before the launcher
   * starts and every 6 hours (`SPACELIFT_DOCKER_CONFIG_DIR`, kept on tmpfs), and the instance role
   * may pull from them (plus `ecr:GetAuthorizationToken`, which has no resource-level permission).
   * @default - none
   */
  readonly ecrRepositories?: ecr.IRepository[];
  /**
   * Shell commands run as root, in order, under `bash -euo pipefail`, before the launcher starts.
   * A failing command stops the launcher (and the instance shuts down). They are stored in user
   * data in plain text, and see none of the pool's secrets.
   * @default - none
   */
  readonly commands?: string[];
}
