import { Annotations, Duration, RemovalPolicy, Stack, TagManager, Tags, Token } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { workerBootstrapParameters } from './bootstrap-config';
import type { FunctionPlacement } from './function-placement';
import { instanceTagKeyProblem } from './instance-tags';
import type { LauncherOptions, PreStartHooks, SelfHostedOptions } from './launcher-options';
import { acknowledge } from './nag';
import { PoolMonitoring, type PoolMonitoringOptions } from './pool-monitoring';
import { PoolRegistration } from './pool-registration';
import { addWarmPool, validateWarmPool, type PoolWarmPoolOptions } from './pool-warm-pool';
import { PoolWebhook, type IPoolWebhook, type PoolWebhookOptions } from './pool-webhook';
import type { SpaceliftApiKey } from './spacelift-api-key';
import { SuspendAzRebalance } from './suspend-az-rebalance';
import { grantUnscoped } from './unscoped-policy';
import { durationSeconds, requireKnown, validateInteger, validateKnownInteger, validateWorkerPoolId, WorkerPoolConfigError } from './validation';
import { WorkerDrain, type DrainOptions, type IWorkerDrain } from './worker-drain';
import { WorkerImage } from './worker-image';
import { WorkerLogGroups } from './worker-log-groups';
import { WorkerPoolAutoscaler, type AutoscalingOptions } from './worker-pool-autoscaler';
import { WorkerPoolCredentials } from './worker-pool-credentials';
import { WorkerPoolBase } from './worker-pool-metrics';
import { renderWorkerBootstrap } from './worker-user-data';

/** The tag with the Spacelift pool id on every resource of the pool. */
const WORKER_POOL_ID_TAG = 'WorkerPoolId';
/** Seconds between the launcher's exit and the shutdown, for its last logs (`poweroffDelay`). */
const DEFAULT_POWEROFF_DELAY_SECONDS = 15;
/**
 * On the workers, from the launch template, when the stack registers the pool: the fingerprint of the key in the
 * secret. Every reset of the credentials (a new `resetGeneration`, or one a rollback makes) changes the template,
 * so the instance refresh replaces, and drains, the workers that hold the credentials the reset replaced.
 */
const CREDENTIALS_FINGERPRINT_TAG = 'cdk-ec2-workerpool:credentials-fingerprint';

/** An imported role that drops every statement added to it (`Role.fromRoleArn` with `mutable: false`). */
function isImmutableRole(role: iam.IRole): boolean {
  return (role.constructor as { PROPERTY_INJECTION_ID?: string }).PROPERTY_INJECTION_ID === 'aws-cdk-lib.aws-iam.ImmutableRole';
}

/** The root EBS volume of each worker. */
export interface RootVolumeOptions {
  /**
   * Size in GiB.
   * @default 40
   */
  readonly sizeGiB?: number;
  /**
   * gp3 throughput in MiB/s (125 to 1000).
   * @default - the gp3 baseline, 125 MiB/s
   * @see https://docs.aws.amazon.com/ebs/latest/userguide/general-purpose.html#gp3-ebs-volume-type
   */
  readonly throughput?: number;
  /**
   * gp3 IOPS (3000 to 16000).
   * @default - the gp3 baseline, 3000
   */
  readonly iops?: number;
  /**
   * Encrypts the volume. Runs write checkouts, plans and provider caches to this disk.
   * @default true
   */
  readonly encrypted?: boolean;
  /**
   * Customer managed key for the volume. Its key policy must let the Auto Scaling service-linked
   * role use it; for a key in the same stack this library adds that statement.
   * @default - the account's default EBS key
   * @see https://docs.aws.amazon.com/autoscaling/ec2/userguide/key-policy-requirements-EBS-encryption.html
   */
  readonly encryptionKey?: kms.IKey;
  /**
   * Root device name of the image.
   * @default '/dev/xvda' (the Spacelift AMI and Amazon Linux)
   */
  readonly deviceName?: string;
}

/** How a changed launch template is rolled out to the running workers. */
export interface PoolInstanceRefreshOptions {
  /**
   * Replaces workers with an instance refresh whenever the launch template changes (a new AMI,
   * launcher settings, user data). Each replaced worker is drained first: no run is killed.
   * @default true
   * @see https://docs.aws.amazon.com/autoscaling/ec2/userguide/asg-instance-refresh.html
   */
  readonly enabled?: boolean;
  /**
   * Percentage of desired capacity that stays in service during the refresh.
   * @default 100 (new workers launch before old ones drain)
   */
  readonly minHealthyPercentage?: number;
  /**
   * Percentage of desired capacity that may be in service or launching during the refresh.
   * @default 110
   */
  readonly maxHealthyPercentage?: number;
  /**
   * Time after a new instance is in service before the refresh moves on.
   * @default Duration.minutes(2)
   */
  readonly instanceWarmup?: Duration;
  /**
   * Pause points, as percentages of the group replaced, ending with 100.
   * @default - no checkpoints
   */
  readonly checkpointPercentages?: number[];
  /**
   * How long to pause at each checkpoint.
   * @default Duration.hours(1), when checkpoints are set
   */
  readonly checkpointDelay?: Duration;
}

/** Props of {@link SpaceliftWorkerPool}. */
export interface SpaceliftWorkerPoolProps {
  /** The VPC the workers run in. */
  readonly vpc: ec2.IVpc;
  /**
   * Where to place the workers. They need outbound access to Spacelift, to the launcher download
   * and to whatever your runs reach.
   * @default - the VPC's private subnets with egress
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /**
   * Security groups of the workers.
   * @default - a new group with no ingress and all egress
   */
  readonly securityGroups?: ec2.ISecurityGroup[];
  /**
   * The Spacelift worker pool id (a ULID, shown on the pool's page). Required unless `credentials` is
   * `WorkerPoolCredentials.register()`, which creates the pool and provides its id.
   * @default - the id of the pool `WorkerPoolCredentials.register()` creates
   */
  readonly workerPoolId?: string;
  /**
   * The pool token and private key the launcher registers with: an existing pool's, or those of a pool
   * the stack creates in Spacelift (`WorkerPoolCredentials.register()`).
   */
  readonly credentials: WorkerPoolCredentials;
  /**
   * The Spacelift API key the autoscaler and the drain function use to read the pool and drain
   * workers. It needs `Space:Read` on the pool's space and `Worker Pool:Drain Worker`.
   */
  readonly spaceliftApiKey: SpaceliftApiKey;
  /**
   * The autoscaler.
   * @default - enabled, with the defaults of each option
   */
  readonly autoscaling?: AutoscalingOptions;
  /**
   * How terminations wait for busy workers. The termination hook is always on.
   * @default - an 80-minute drain budget, 10-minute hook heartbeat timeout, 1-minute re-checks
   */
  readonly drain?: DrainOptions;
  /**
   * How launch template changes reach running workers.
   * @default - an instance refresh that drains every replaced worker
   */
  readonly instanceRefresh?: PoolInstanceRefreshOptions;
  /**
   * VPC placement and tracing of the pool's functions (autoscaler, drain, webhook, registration).
   * @default - outside any VPC, no tracing
   */
  readonly functionPlacement?: FunctionPlacement;
  /**
   * The instance type of every worker. Mutually exclusive with `instanceTypes`.
   * Spacelift recommends at least 2 vCPU and 2 GiB.
   * @default - t3.small, unless `instanceTypes` is set
   */
  readonly instanceType?: ec2.InstanceType;
  /**
   * Several instance types for a mixed instances policy (on-demand and spot). All must share one
   * architecture. Mutually exclusive with `instanceType`.
   * @default - a single `instanceType`
   * @see https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-mixed-instances-groups.html
   */
  readonly instanceTypes?: ec2.InstanceType[];
  /**
   * On-demand instances to keep before any spot instance, with `instanceTypes`.
   * @default 0
   */
  readonly onDemandBaseCapacity?: number;
  /**
   * Percentage of on-demand instances above the base capacity, with `instanceTypes`.
   * @default 100 (no spot)
   */
  readonly onDemandPercentageAboveBaseCapacity?: number;
  /**
   * How spot instances are chosen, with `instanceTypes`.
   * @default autoscaling.SpotAllocationStrategy.PRICE_CAPACITY_OPTIMIZED
   */
  readonly spotAllocationStrategy?: autoscaling.SpotAllocationStrategy;
  /**
   * Proactively replaces spot instances at elevated interruption risk. The replaced worker is
   * drained through the termination hook like any other termination.
   * @default false
   * @see https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-capacity-rebalancing.html
   */
  readonly capacityRebalance?: boolean;
  /**
   * The machine image.
   * @default WorkerImage.spacelift() for the architecture of the instance types
   */
  readonly machineImage?: WorkerImage;
  /**
   * Minimum number of workers.
   * @default 0
   */
  readonly minSize?: number;
  /**
   * Maximum number of workers.
   * @default 10
   */
  readonly maxSize?: number;
  /**
   * A warm pool of stopped, pre-initialized instances that scale-outs start instead of launching new
   * ones: runs wait for an instance start rather than a full boot. Each stopped instance costs its
   * EBS volumes; see the README's Warm pool section. Not with `instanceTypes`.
   * @default - no warm pool
   * @see https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-warm-pools.html
   */
  readonly warmPool?: PoolWarmPoolOptions;
  /**
   * A Spacelift webhook endpoint that ticks the autoscaler within seconds of a run changing state,
   * instead of at its next scheduled invocation (up to a minute later). Presence enables it; it needs
   * the autoscaler. `pool.webhook` has the URL and the signing secret to enter in Spacelift; see the
   * README's Webhook section.
   * @default - no webhook: the autoscaler runs on its schedule only
   * @see https://docs.spacelift.io/integrations/webhooks
   */
  readonly webhook?: PoolWebhookOptions;
  /**
   * The root volume. Encrypted gp3 unless you say otherwise.
   * @default - 40 GiB encrypted gp3
   */
  readonly rootVolume?: RootVolumeOptions;
  /**
   * Requires IMDSv2 session tokens.
   * @default true
   */
  readonly requireImdsv2?: boolean;
  /**
   * Lets run containers reach the instance metadata service, and so the instance role's
   * credentials, by raising the IMDS hop limit from 1 to 2. Every run on the pool then acts with
   * the instance role.
   * @default false
   */
  readonly allowContainerInstanceCredentials?: boolean;
  /**
   * EC2 detailed (1-minute) monitoring, which is billed.
   * @default false
   */
  readonly detailedMonitoring?: boolean;
  /**
   * Tags for the group, its instances and volumes, and every other resource of the pool (activate one
   * as a cost allocation tag to see the pool's bill; see the README's Monitoring section). Keys may have letters,
   * digits and `+ - = . _ : @` only: the instances' tags are in their metadata, where EC2 refuses other keys.
   * @default - only `WorkerPoolId`
   * @see https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/work-with-tags-in-IMDS.html
   */
  readonly tags?: { [key: string]: string };
  /**
   * Alarms on what needs a person (autoscaler errors, failed worker-list reads, the drain dead-letter
   * queue, drains out of budget, instances left drained, capacity that does not arrive, function
   * errors and throttles), notified through an SNS topic, and an optional dashboard.
   * @default - no alarms and no dashboard; the `metric*()` methods still work
   */
  readonly monitoring?: PoolMonitoringOptions;
  /**
   * Permissions boundary for every role this construct creates.
   * @default - none
   */
  readonly permissionsBoundary?: iam.IManagedPolicy;
  /**
   * Your own instance role. It must trust `ec2.amazonaws.com`. This library adds read access to
   * the credentials and write access to the log groups when the role is mutable.
   * @default - a new role with only what the worker needs
   */
  readonly role?: iam.IRole;
  /**
   * Extra statements for the instance role, for what your runs need (state buckets, ECR pulls...).
   * Needs a mutable role.
   * @default - none
   */
  readonly extraPolicyStatements?: iam.PolicyStatement[];
  /**
   * Lets operators open shell sessions on workers with SSM Session Manager.
   * @default true
   */
  readonly sessionManagerAccess?: boolean;
  /**
   * Retention of the launcher log groups and of the pool's function log groups.
   * @default logs.RetentionDays.TWO_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Customer managed key for the launcher log groups.
   * @default - CloudWatch Logs default encryption
   */
  readonly logEncryptionKey?: kms.IKey;
  /**
   * What happens to the launcher log groups when the pool is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly logRemovalPolicy?: RemovalPolicy;
  /**
   * Time after launch before EC2 health checks count.
   * @default Duration.minutes(2)
   */
  readonly healthCheckGracePeriod?: Duration;
  /**
   * Delay between the launcher exiting and the instance shutting down, so its last logs ship.
   * @default Duration.seconds(15)
   */
  readonly poweroffDelay?: Duration;
  /**
   * Shuts the instance down (which terminates it) when the bootstrap or the launcher fails. Turn it
   * off to keep a failed worker running for debugging; it then holds a slot of the group until you
   * terminate it. A launcher that exits normally always shuts the instance down.
   * @default true
   */
  readonly powerOffOnError?: boolean;
  /**
   * Launcher settings: comms, timeouts, mounts, runtime, images, environment, secret environment,
   * proxy, CA certificates and the user it runs as.
   * @default - polling `https://app.spacelift.io`, the launcher's own defaults, run as root
   */
  readonly launcher?: LauncherOptions;
  /**
   * Self-hosted Spacelift: the launcher comes from your S3 bucket (of the bucket's account only) and
   * must match the SHA256 you give instead of Spacelift's signature, and it runs as a dedicated
   * `spacelift` user by default. Set `launcher.comms` to the URL of your installation.
   * @default - Spacelift SaaS: the launcher is downloaded from `downloadBaseUrl` and its signature verified
   */
  readonly selfHosted?: SelfHostedOptions;
  /**
   * What runs before the launcher starts on each worker: ECR logins and your own commands.
   * @default - nothing
   */
  readonly preStartHooks?: PreStartHooks;
  /**
   * Where the launcher, its `_SHA256SUMS` and `_SHA256SUMS.sig` are downloaded from, for a mirror.
   * The signature is verified whatever the source; https only, so that nobody on the path can serve
   * an older launcher with its valid signature.
   * @default 'https://downloads.spacelift.io'
   */
  readonly downloadBaseUrl?: string;
  /**
   * The ASCII-armored OpenPGP public key that signs the launcher checksums, for a mirror that
   * re-signs them. Needs `signingKeyFingerprint`.
   * @default - Spacelift's public key, shipped in this package (`lib/bootstrap/spacelift-signing-key.asc`)
   */
  readonly signingKey?: string;
  /**
   * Fingerprint of the key that must have signed the launcher checksums; a signature by any other
   * key is refused.
   * @default '175FD97AD2358EFE02832978E302FB5AA29D88F7' (Spacelift)
   */
  readonly signingKeyFingerprint?: string;
}

/**
 * A Spacelift private worker pool on an EC2 Auto Scaling group: one worker per instance.
 *
 * Desired capacity is never set by CloudFormation, so deploys do not resize the pool. New
 * instances are protected from scale-in: only targeted, drained terminations remove workers.
 */
export class SpaceliftWorkerPool extends WorkerPoolBase implements ec2.IConnectable, iam.IGrantable {
  /** The Auto Scaling group (escape hatch). */
  public readonly autoScalingGroup: autoscaling.AutoScalingGroup;
  /** The launch template (escape hatch). */
  public readonly launchTemplate: ec2.LaunchTemplate;
  /** The instance role. */
  public readonly role: iam.IRole;
  /** What the pool's own grants go to (`grantTarget`). */
  private readonly grantee: iam.IRole;
  /** The workers' network connections. */
  public readonly connections: ec2.Connections;
  /** The principal of the workers, for `grant*` calls. */
  public readonly grantPrincipal: iam.IPrincipal;
  /** The secret holding the pool token and private key. */
  public readonly credentialsSecret: secretsmanager.ISecret;
  /** The launcher's log groups. */
  public readonly logGroups: WorkerLogGroups;
  /**
   * The Spacelift worker pool id: the `workerPoolId` prop, or a deploy-time value (a token) for a pool
   * created by `WorkerPoolCredentials.register()`.
   */
  public readonly workerPoolId: string;
  /** The termination drain: its queue, dead-letter queue, function and lifecycle hook. */
  public readonly drain: IWorkerDrain;
  /** The autoscaler function (escape hatch), unless autoscaling is disabled. */
  public readonly autoscaler?: lambda.Function;
  /** The webhook endpoint (its URL, signing secret and function), with `webhook`. */
  public readonly webhook?: IPoolWebhook;
  private readonly policiesNeededAtBoot: iam.Policy[] = [];
  /** The alarms of `monitoring`, to add actions to; empty without it. */
  public readonly alarms: cloudwatch.Alarm[];
  /** The dashboard, with `monitoring.dashboard`. */
  public readonly dashboard?: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: SpaceliftWorkerPoolProps) {
    super(scope, id);
    const credentials = props.credentials.bind(this);
    validateWorkerPoolId(this, props.workerPoolId, credentials.registration !== undefined);
    for (const key of Object.keys(props.tags ?? {})) {
      const problem = instanceTagKeyProblem(key);
      if (problem !== undefined) throw new WorkerPoolConfigError(this, 'tags', problem);
    }
    this.credentialsSecret = credentials.secret;
    // The pool's log groups take it as it is, but the stack-wide SDK-call log group keeps the longest of its pools'.
    requireKnown(this, 'logRetention', props.logRetention, 'the pools of a stack share a log group that keeps the longest retention');
    const apiKey = props.spaceliftApiKey.bind(this);
    const functionSettings = {
      spaceliftApiKey: apiKey,
      placement: props.functionPlacement,
      logRetention: props.logRetention ?? logs.RetentionDays.TWO_MONTHS,
      logEncryptionKey: props.logEncryptionKey,
      permissionsBoundary: props.permissionsBoundary,
    };
    const registration = credentials.registration
      && new PoolRegistration(this, 'Registration', { ...credentials.registration, credentials, pool: functionSettings });
    this.workerPoolId = registration?.workerPoolId ?? props.workerPoolId!;

    const minSize = props.minSize ?? 0;
    const maxSize = props.maxSize ?? 10;
    validateInteger(this, 'minSize', minSize, 0);
    validateInteger(this, 'maxSize', maxSize, 0);
    if (!Token.isUnresolved(minSize) && !Token.isUnresolved(maxSize) && minSize > maxSize) {
      throw new WorkerPoolConfigError(this, 'minSize', `(${minSize}) must not exceed maxSize (${maxSize})`);
    }

    const instanceTypes = this.resolveInstanceTypes(props);
    const architecture = instanceTypes[0].architecture;
    const machineImage = (props.machineImage ?? WorkerImage.spacelift()).bind(this, architecture);

    this.role = props.role ?? new iam.Role(this, 'InstanceRole', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: `Spacelift workers of ${this.node.path}`,
      permissionsBoundary: props.permissionsBoundary,
    });
    this.grantPrincipal = this.role;
    this.grantee = this.grantTarget(this.role);
    this.addExtraStatements(props.extraPolicyStatements ?? []);

    credentials.secret.grantRead(this.grantee);

    this.logGroups = new WorkerLogGroups(this, 'Logs', {
      retention: props.logRetention,
      encryptionKey: props.logEncryptionKey,
      removalPolicy: props.logRemovalPolicy,
    });
    this.logGroups.grantWrite(this.grantee);
    if (props.sessionManagerAccess ?? true) {
      this.grantSessionManager();
    }

    const securityGroups = props.securityGroups ?? [new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      // Fixed text: a changed GroupDescription replaces the group (and with it every worker), and EC2 refuses some
      // characters a construct path may have. The group's Name tag carries the path.
      description: 'Spacelift workers of a cdk-ec2-workerpool pool: no ingress',
      allowAllOutbound: true,
    })];
    if (securityGroups.length === 0) {
      throw new WorkerPoolConfigError(this, 'securityGroups', 'must not be empty; omit it to get a new group');
    }
    this.connections = new ec2.Connections({ securityGroups });

    const warmPoolState = props.warmPool && validateWarmPool(this, props.warmPool, {
      mixedInstances: props.instanceTypes !== undefined,
      rootVolumeEncrypted: props.rootVolume?.encrypted ?? true,
    });
    const poweroffDelay = durationSeconds(this, 'poweroffDelay', props.poweroffDelay, DEFAULT_POWEROFF_DELAY_SECONDS);
    validateInteger(this, 'poweroffDelay', poweroffDelay, 0, 3600);
    this.launchTemplate = new ec2.LaunchTemplate(this, 'LaunchTemplate', {
      machineImage,
      instanceType: props.instanceTypes ? undefined : instanceTypes[0],
      role: this.role,
      securityGroup: securityGroups[0],
      userData: renderWorkerBootstrap(this, workerBootstrapParameters(this, {
        credentials,
        infoLogGroupName: this.logGroups.infoLog.logGroupName,
        errorLogGroupName: this.logGroups.errorLog.logGroupName,
        poweroffDelaySeconds: poweroffDelay,
        powerOffOnError: props.powerOffOnError,
        launcher: props.launcher,
        selfHosted: props.selfHosted,
        preStartHooks: props.preStartHooks,
        downloadBaseUrl: props.downloadBaseUrl,
        signingKey: props.signingKey,
        signingKeyFingerprint: props.signingKeyFingerprint,
      }), { everyBoot: props.warmPool !== undefined }),
      blockDevices: [this.rootVolume(props.rootVolume ?? {})],
      detailedMonitoring: props.detailedMonitoring ?? false,
      instanceInitiatedShutdownBehavior: ec2.InstanceInitiatedShutdownBehavior.TERMINATE,
      ...(warmPoolState === autoscaling.PoolState.HIBERNATED ? { hibernationConfigured: true } : {}),
      ...this.metadataOptions(props),
    });
    if (registration) Tags.of(this.launchTemplate).add(CREDENTIALS_FINGERPRINT_TAG, registration.credentialsFingerprint);
    for (const extra of securityGroups.slice(1)) {
      this.launchTemplate.connections.addSecurityGroup(extra);
    }
    this.grantBootstrapAccess(props);

    this.autoScalingGroup = new autoscaling.AutoScalingGroup(this, 'Group', {
      vpc: props.vpc,
      vpcSubnets: this.workerSubnets(props),
      minCapacity: minSize,
      maxCapacity: maxSize,
      ...(props.instanceTypes
        ? { mixedInstancesPolicy: this.mixedInstancesPolicy(props, instanceTypes), capacityRebalance: props.capacityRebalance ?? false }
        : { launchTemplate: this.launchTemplate }),
      newInstancesProtectedFromScaleIn: true,
      healthChecks: autoscaling.HealthChecks.ec2({ gracePeriod: props.healthCheckGracePeriod ?? Duration.minutes(2) }),
      terminationPolicies: [autoscaling.TerminationPolicy.OLDEST_LAUNCH_TEMPLATE, autoscaling.TerminationPolicy.OLDEST_INSTANCE],
      groupMetrics: [autoscaling.GroupMetrics.all()],
    });
    this.policiesNeededAtBoot.forEach((policy) => this.autoScalingGroup.node.addDependency(policy));
    const instanceRefresh = this.instanceRefreshPolicy(props.instanceRefresh ?? {});
    if (instanceRefresh) {
      // The attribute itself, since UpdatePolicy.instanceRefresh() is missing from older aws-cdk-lib releases.
      // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-updatepolicy.html
      (this.autoScalingGroup.node.defaultChild as autoscaling.CfnAutoScalingGroup)
        .addOverride('UpdatePolicy.AutoScalingInstanceRefresh', instanceRefresh);
    }

    const functionDefaults = { ...functionSettings, autoScalingGroup: this.autoScalingGroup, workerPoolId: this.workerPoolId };
    const tags = { [WORKER_POOL_ID_TAG]: this.workerPoolId, ...props.tags };
    new SuspendAzRebalance(this, 'SuspendAzRebalance', { ...functionDefaults, tags });
    const drain = new WorkerDrain(this, 'Drain', {
      ...functionDefaults,
      ...props.drain,
      maxSize,
      spot: (props.onDemandPercentageAboveBaseCapacity ?? 100) < 100 || (props.capacityRebalance ?? false),
      capacityRebalance: props.capacityRebalance ?? false,
    });
    this.drain = drain;
    if (props.warmPool && warmPoolState) addWarmPool(this.autoScalingGroup, props.warmPool, warmPoolState, drain);
    const autoscaler = (props.autoscaling?.enabled ?? true) ? new WorkerPoolAutoscaler(this, 'Autoscaler', {
      ...functionDefaults, ...props.autoscaling, reapStrays: props.powerOffOnError ?? true,
      // The dashboard plots the gauges, which are sent only on request.
      detailedMetrics: props.autoscaling?.detailedMetrics ?? props.monitoring?.dashboard === true,
    }) : undefined;
    this.autoscaler = autoscaler?.function;
    if (props.webhook && !autoscaler) {
      throw new WorkerPoolConfigError(this, 'webhook', 'needs the autoscaler, which it ticks; remove autoscaling.enabled: false or the webhook');
    }
    this.webhook = props.webhook && autoscaler && new PoolWebhook(this, 'Webhook', {
      ...functionDefaults,
      ...props.webhook,
      autoscaler: autoscaler.function,
      // The key of the credentials secret, when the pool creates that secret (WorkerPoolCredentials.fromValues).
      encryptionKey: this.credentialsSecret instanceof secretsmanager.Secret ? this.credentialsSecret.encryptionKey : undefined,
    });
    const monitoring = props.monitoring
      ? new PoolMonitoring(this, 'Monitoring', { ...props.monitoring, pool: this, drainedReclaimSeconds: autoscaler?.drainedReclaimSeconds,
        scheduleSeconds: autoscaler?.scheduleSeconds })
      : undefined;
    this.alarms = monitoring?.alarms ?? [];
    this.dashboard = monitoring?.dashboard;

    for (const [key, value] of Object.entries(tags)) {
      Tags.of(this).add(key, value);
    }
    if (registration) this.waitForRegistration(registration, credentials.secret);
    this.acknowledgeFindings(props);
    // Tags.of(...) anywhere above the pool reaches its instances too, after the constructor: checked at synth.
    this.node.addValidation({ validate: () => this.instanceTagProblems() });
  }

  /** Tags on the launch template or propagated by the group that EC2 would refuse on the instances (instance-tags.ts). */
  private instanceTagProblems(): string[] {
    const group = this.autoScalingGroup.node.defaultChild as autoscaling.CfnAutoScalingGroup;
    const onTemplate = TagManager.of(this.launchTemplate)?.tagValues() ?? {};
    // The group's tags reach the instances only if they propagate at launch.
    const propagated = (group.tags.renderTags() as { key: string; propagateAtLaunch?: boolean }[] | undefined ?? [])
      .filter((tag) => tag.propagateAtLaunch === true).map((tag) => tag.key);
    const keys = new Set([...Object.keys(onTemplate), ...propagated]);
    const fromResources = [...keys].flatMap((key) => {
      const problem = instanceTagKeyProblem(key);
      return problem === undefined ? [] : [`${problem}. Remove it from the tags applied to the pool (Tags.of or the tags prop)`];
    });
    // Stack tags (StackProps.tags) are not in the template: CloudFormation applies them at deploy, to the group too, whose
    // instances get them (propagation varies by resource type; refused here to be safe). `cdk deploy --tags` cannot be
    // seen here; the README asks for the same keys.
    // https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-resource-tags.html
    const fromStack = Object.keys(Stack.of(this).tags.tagValues()).flatMap((key) => {
      const problem = instanceTagKeyProblem(key);
      return problem === undefined || keys.has(key) ? [] : [`${problem}. Remove it from the stack's tags (StackProps.tags)`];
    });
    return [...fromResources, ...fromStack];
  }

  /**
   * Nothing that uses the pool id or the credentials starts before the registration has created the pool
   * and written its secret: the group (so no instance boots on the placeholder secret) and every function
   * that calls Spacelift. What the id comes from cannot carry it as a tag, or the tag would close a
   * dependency cycle: the registration's own resources, the secret, and the roles, which the policy of
   * the secret's key names when it grants them read (IAM roles cost nothing, so no cost is left untagged).
   */
  private waitForRegistration(registration: PoolRegistration, secret: secretsmanager.ISecret): void {
    this.autoScalingGroup.node.addDependency(registration.resource);
    for (const fn of [this.drain.function, this.autoscaler]) fn?.node.addDependency(registration.resource);
    Tags.of(registration).remove(WORKER_POOL_ID_TAG);
    Tags.of(secret).remove(WORKER_POOL_ID_TAG);
    Tags.of(this).remove(WORKER_POOL_ID_TAG, { includeResourceTypes: ['AWS::IAM::Role'] });
  }

  /**
   * Instance refresh replaces protected instances too (every worker is protected from scale-in),
   * and each replaced worker goes through the termination hook and its drain.
   */
  private instanceRefreshPolicy(options: PoolInstanceRefreshOptions): object | undefined {
    if (!(options.enabled ?? true)) return undefined;
    validateInteger(this, 'instanceRefresh.minHealthyPercentage', options.minHealthyPercentage, 0, 100);
    validateInteger(this, 'instanceRefresh.maxHealthyPercentage', options.maxHealthyPercentage, 100, 200);
    const checkpoints = options.checkpointPercentages;
    if (checkpoints && (checkpoints.length === 0 || checkpoints[checkpoints.length - 1] !== 100
      || checkpoints.some((c, i) => !Number.isInteger(c) || c < 1 || (i > 0 && c <= checkpoints[i - 1])))) {
      throw new WorkerPoolConfigError(this, 'instanceRefresh.checkpointPercentages', 'must be increasing integers from 1 to 100, ending with 100');
    }
    return {
      Strategy: 'Rolling',
      Preferences: {
        MinHealthyPercentage: options.minHealthyPercentage ?? 100,
        MaxHealthyPercentage: options.maxHealthyPercentage ?? 110,
        InstanceWarmup: (options.instanceWarmup ?? Duration.minutes(2)).toSeconds(),
        SkipMatching: true,
        ...(checkpoints ? { CheckpointPercentages: checkpoints } : {}),
        ...(options.checkpointDelay ? { CheckpointDelay: options.checkpointDelay.toSeconds() } : {}),
        ScaleInProtectedInstances: 'Refresh',
        StandbyInstances: 'Terminate',
      },
    };
  }

  /**
   * What the pool's own grants go to: the role, or, when it belongs to another stack, the same role imported here by
   * its name. Grants to a role of another stack are written there and point back at this stack's resources, a
   * reference cycle between the two stacks; the import takes them as a policy of this stack. By name, not by ARN: an
   * ARN with a path (`role/team/name`) would give the import the first path part as its name. An immutable role stays.
   */
  private grantTarget(role: iam.IRole): iam.IRole {
    if (isImmutableRole(role) || Stack.of(role) === Stack.of(this)) return role;
    return iam.Role.fromRoleName(this, 'Role', role.roleName);
  }

  /** The workers' subnets: private with egress unless `vpcSubnets` says otherwise, which a VPC without them needs. */
  private workerSubnets(props: SpaceliftWorkerPoolProps): ec2.SubnetSelection {
    if (props.vpcSubnets !== undefined) return props.vpcSubnets;
    const selection = { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };
    try {
      props.vpc.selectSubnets(selection);
    } catch (error) {
      throw new WorkerPoolConfigError(this, 'vpcSubnets', 'is needed: by default the workers go to private subnets with egress, '
        + `and the VPC has none (${error instanceof Error ? error.message : String(error)})`);
    }
    return selection;
  }

  private resolveInstanceTypes(props: SpaceliftWorkerPoolProps): ec2.InstanceType[] {
    if (props.instanceType && props.instanceTypes) {
      throw new WorkerPoolConfigError(this, 'instanceTypes', 'cannot be combined with instanceType; list every type in instanceTypes');
    }
    [props.instanceType, ...props.instanceTypes ?? []].forEach((type) => requireKnown(this,
      props.instanceTypes ? 'instanceTypes' : 'instanceType', type?.toString(), 'its architecture picks the image'));
    if (props.instanceTypes) {
      if (props.instanceTypes.length === 0) {
        throw new WorkerPoolConfigError(this, 'instanceTypes', 'must list at least one instance type');
      }
      const architectures = new Set(props.instanceTypes.map((t) => t.architecture));
      if (architectures.size > 1) {
        throw new WorkerPoolConfigError(this, 'instanceTypes',
          `mixes architectures (${props.instanceTypes.map((t) => `${t}: ${t.architecture}`).join(', ')}); one launch template has one image`);
      }
      return props.instanceTypes;
    }
    const spotProps = ['onDemandBaseCapacity', 'onDemandPercentageAboveBaseCapacity', 'spotAllocationStrategy', 'capacityRebalance'] as const;
    for (const name of spotProps) {
      if (props[name] !== undefined) {
        throw new WorkerPoolConfigError(this, name, 'only applies to a mixed instances policy; set instanceTypes');
      }
    }
    return [props.instanceType ?? ec2.InstanceType.of(ec2.InstanceClass.T3, ec2.InstanceSize.SMALL)];
  }

  private mixedInstancesPolicy(props: SpaceliftWorkerPoolProps, instanceTypes: ec2.InstanceType[]): autoscaling.MixedInstancesPolicy {
    validateInteger(this, 'onDemandBaseCapacity', props.onDemandBaseCapacity, 0);
    validateInteger(this, 'onDemandPercentageAboveBaseCapacity', props.onDemandPercentageAboveBaseCapacity, 0, 100);
    if ((props.onDemandPercentageAboveBaseCapacity ?? 100) < 100) {
      Annotations.of(this).addWarningV2('cdk-ec2-workerpool:spot',
        'Spot workers can be interrupted with two minutes\' notice; a run in progress then fails. '
        + 'The pool drains interrupted workers at once so they take no new runs.');
    }
    return {
      launchTemplate: this.launchTemplate,
      launchTemplateOverrides: instanceTypes.map((instanceType) => ({ instanceType })),
      instancesDistribution: {
        onDemandBaseCapacity: props.onDemandBaseCapacity ?? 0,
        onDemandPercentageAboveBaseCapacity: props.onDemandPercentageAboveBaseCapacity ?? 100,
        spotAllocationStrategy: props.spotAllocationStrategy ?? autoscaling.SpotAllocationStrategy.PRICE_CAPACITY_OPTIMIZED,
      },
    };
  }

  private metadataOptions(props: SpaceliftWorkerPoolProps): Partial<ec2.LaunchTemplateProps> {
    const requireImdsv2 = props.requireImdsv2 ?? true;
    if (!requireImdsv2) {
      Annotations.of(this).addWarningV2('cdk-ec2-workerpool:imdsv1',
        'requireImdsv2 is false: IMDSv1 lets any SSRF in a run read the instance role credentials');
    }
    const hopLimit = props.allowContainerInstanceCredentials ? 2 : 1;
    if (props.allowContainerInstanceCredentials) {
      Annotations.of(this).addWarningV2('cdk-ec2-workerpool:containerCredentials',
        'allowContainerInstanceCredentials is true: every run container can act with the instance role');
    }
    return {
      requireImdsv2,
      httpTokens: requireImdsv2 ? ec2.LaunchTemplateHttpTokens.REQUIRED : ec2.LaunchTemplateHttpTokens.OPTIONAL,
      httpEndpoint: true,
      httpPutResponseHopLimit: hopLimit,
      instanceMetadataTags: true,
    };
  }

  private rootVolume(options: RootVolumeOptions): ec2.BlockDevice {
    const why = 'aws-cdk-lib checks it against the volume type at synth';
    validateKnownInteger(this, 'rootVolume.sizeGiB', options.sizeGiB, why, 8, 16384);
    validateKnownInteger(this, 'rootVolume.throughput', options.throughput, why, 125, 1000);
    validateKnownInteger(this, 'rootVolume.iops', options.iops, why, 3000, 16000);
    const encrypted = options.encrypted ?? true;
    if (!encrypted) {
      if (options.encryptionKey) {
        throw new WorkerPoolConfigError(this, 'rootVolume.encryptionKey', 'is set but rootVolume.encrypted is false');
      }
      Annotations.of(this).addWarningV2('cdk-ec2-workerpool:unencryptedVolume',
        'rootVolume.encrypted is false: run checkouts, plans and state files are stored unencrypted');
    }
    if (options.encryptionKey) {
      this.allowAutoScalingToUseKey(options.encryptionKey);
    }
    return {
      deviceName: options.deviceName ?? '/dev/xvda',
      volume: ec2.BlockDeviceVolume.ebs(options.sizeGiB ?? 40, {
        volumeType: ec2.EbsDeviceVolumeType.GP3,
        encrypted,
        kmsKey: options.encryptionKey,
        throughput: options.throughput,
        iops: options.iops,
        deleteOnTermination: true,
      }),
    };
  }

  /**
   * Instances with CMK-encrypted volumes fail to launch unless the ASG service-linked role may use the
   * key. The two statements of the AWS guide: using the key, and creating grants for AWS resources
   * (the volumes) only, so the role cannot hand the key to anyone else.
   * @see https://docs.aws.amazon.com/autoscaling/ec2/userguide/key-policy-requirements-EBS-encryption.html
   */
  private allowAutoScalingToUseKey(key: kms.IKey): void {
    const stack = Stack.of(this);
    const serviceLinkedRole = new iam.ArnPrincipal(
      `arn:${stack.partition}:iam::${stack.account}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling`);
    const added = key.addToResourcePolicy(new iam.PolicyStatement({
      principals: [serviceLinkedRole],
      actions: ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey*', 'kms:ReEncrypt*'],
      resources: ['*'],
    }));
    key.addToResourcePolicy(new iam.PolicyStatement({
      principals: [serviceLinkedRole],
      actions: ['kms:CreateGrant'],
      resources: ['*'],
      conditions: { Bool: { 'kms:GrantIsForAWSResource': true } },
    }));
    if (!added.statementAdded) {
      Annotations.of(this).addWarningV2('cdk-ec2-workerpool:volumeKeyPolicy',
        'rootVolume.encryptionKey is imported: let the role AWSServiceRoleForAutoScaling use it, or instances will fail to launch');
    }
  }

  /**
   * An imported immutable role silently drops every statement added to it (CDK reports them as
   * added), so it is recognised by its class and each consequence is spelled out.
   */
  private addExtraStatements(statements: iam.PolicyStatement[]): void {
    const immutable = isImmutableRole(this.role);
    if (immutable && statements.length > 0) {
      throw new WorkerPoolConfigError(this, 'extraPolicyStatements',
        'the given role is immutable, so statements cannot be added to it; attach them to the role yourself, or import it as mutable');
    }
    if (immutable) {
      Annotations.of(this).addWarningV2('cdk-ec2-workerpool:immutableRole',
        'role is immutable: grant it secretsmanager:GetSecretValue on the credentials secret and logs:CreateLogStream/PutLogEvents on the log groups yourself');
    }
    for (const statement of statements) {
      this.grantee.addToPrincipalPolicy(statement);
    }
  }

  /**
   * What the bootstrap reads besides the credentials: the self-hosted launcher object, the secrets
   * of `launcher.secretEnvironment`, and the ECR repositories of the pre-start login.
   */
  private grantBootstrapAccess(props: SpaceliftWorkerPoolProps): void {
    if (props.selfHosted) {
      const { launcherBucket: bucket, launcherObjectKey: key } = props.selfHosted;
      this.grantee.addToPrincipalPolicy(new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [bucket.arnForObjects(key)],
      }));
      bucket.encryptionKey?.grantDecrypt(this.grantee);
    }
    const secrets = new Set(Object.values(props.launcher?.secretEnvironment ?? {}).map((v) => v.secret));
    for (const secret of secrets) {
      secret.grantRead(this.grantee);
    }
    const repositories = props.preStartHooks?.ecrRepositories ?? [];
    for (const repository of repositories) {
      // What grantPull grants per repository; its ecr:GetAuthorizationToken on "*" goes into a policy of its own.
      repository.grant(this.grantee, 'ecr:BatchCheckLayerAvailability', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchGetImage');
    }
    if (repositories.length > 0) {
      this.addPolicyNeededAtBoot(grantUnscoped(this, 'EcrLoginPolicy', this.grantee, ['ecr:GetAuthorizationToken'],
        'ecr:GetAuthorizationToken (the pre-start docker login to ECR) has no resource-level permissions; pulls are granted per repository.'));
    }
  }

  /**
   * The minimal statements Session Manager needs, instead of AmazonSSMManagedInstanceCore, which
   * would also let every run read all SSM parameters of the account.
   */
  private grantSessionManager(): void {
    this.addPolicyNeededAtBoot(grantUnscoped(this, 'SessionManagerPolicy', this.grantee, [
      'ssm:UpdateInstanceInformation',
      'ssmmessages:CreateControlChannel',
      'ssmmessages:CreateDataChannel',
      'ssmmessages:OpenControlChannel',
      'ssmmessages:OpenDataChannel',
    ], 'What AmazonSSMManagedInstanceCore grants for Session Manager: the ssmmessages channel actions have no resource-level '
      + 'permissions, and ssm:UpdateInstanceInformation is called for the instance itself, whose ARN no policy can name before launch.'));
  }

  /** Instances launched before the policy is attached would boot without it: the group waits for it. */
  private addPolicyNeededAtBoot(policy: iam.Policy): void {
    this.policiesNeededAtBoot.push(policy);
  }

  private acknowledgeFindings(props: SpaceliftWorkerPoolProps): void {
    acknowledge(this.autoScalingGroup,
      {
        id: 'AwsSolutions-AS3',
        reason: 'Scaling is done by the autoscaler function, which logs and meters every decision; '
          + 'ASG activity notifications would duplicate that. Subscribe with autoScalingGroup.addNotification if you want them.',
      },
    );
    if (props.instanceTypes && (props.rootVolume?.encrypted ?? true)) {
      acknowledge(this.autoScalingGroup, {
        id: 'AwsSolutions-EC26',
        reason: 'The root volume is encrypted in the launch template; the rule does not follow the template through a MixedInstancesPolicy.',
      });
    }
    acknowledge(this.launchTemplate, {
      id: 'AwsSolutions-EC28',
      reason: 'Detailed monitoring is billed per instance and nothing in the pool reads 1-minute EC2 metrics; set detailedMonitoring to enable it.',
    });
  }
}
