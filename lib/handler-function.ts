import * as path from 'path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { AUTOSCALER_SERVICE, DRAIN_SERVICE, WEBHOOK_SERVICE } from '../lambda/shared/metrics';
import type { PoolFunctionProps } from './function-placement';
import { grantUnscoped } from './unscoped-policy';

/** Settings of one bundled handler, internal to the library. */
export interface HandlerFunctionProps {
  /** Directory name under `assets/`. */
  readonly asset: 'autoscaler' | 'drain' | 'webhook' | 'registration';
  readonly description: string;
  readonly timeout: Duration;
  readonly environment: { [key: string]: string };
  readonly reservedConcurrentExecutions?: number;
  /** Whether Lambda may stop the function when it detects a recursive loop through its own queue. */
  readonly recursiveLoop?: lambda.RecursiveLoop;
  /** What the pool hands to each of its functions. */
  readonly pool: HandlerPoolProps;
  /**
   * Whether the function calls the Spacelift API: only then may it read the API key, and does it get
   * the variables that locate the key and the pool.
   * @default true
   */
  readonly callsSpaceliftApi?: boolean;
}

/**
 * What a function takes from its pool. The registration function runs before the pool has a group, and
 * before it has an id: it is what creates the pool in Spacelift.
 */
export type HandlerPoolProps = Omit<PoolFunctionProps, 'autoScalingGroup' | 'workerPoolId'> & {
  /**
   * The Spacelift worker pool id, for a function that acts on the pool.
   * @default - no SPACELIFT_WORKER_POOL_ID variable
   */
  readonly workerPoolId?: string;
};

const ASSETS = path.join(__dirname, '..', 'assets');

/**
 * The newest Node.js runtime the installed aws-cdk-lib knows: NODEJS_24_X is missing from the
 * older releases our peer range allows. The bundles target Node.js 22, so both run them.
 */
const NODEJS_RUNTIME = (lambda.Runtime as { NODEJS_24_X?: lambda.Runtime }).NODEJS_24_X ?? lambda.Runtime.NODEJS_22_X;

/** The registration handler's service name (logs only: it publishes no metrics). */
const REGISTRATION_SERVICE = 'spacelift-worker-pool-registration';

/** The `service` dimension of each handler's metrics and logs. */
const SERVICES: Record<HandlerFunctionProps['asset'], string> = {
  autoscaler: AUTOSCALER_SERVICE,
  drain: DRAIN_SERVICE,
  webhook: WEBHOOK_SERVICE,
  registration: REGISTRATION_SERVICE,
};

/**
 * A function running one of the handlers bundled into `assets/` at build time, with its own role,
 * its own log group, and read access to the Spacelift API key if it calls the API. Nothing is shared
 * between functions.
 */
export class HandlerFunction extends Construct {
  public readonly function: lambda.Function;
  public readonly role: iam.Role;
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: HandlerFunctionProps) {
    super(scope, id);
    const { pool } = props;
    const placement = pool.placement ?? {};
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: pool.logRetention,
      encryptionKey: pool.logEncryptionKey,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: props.description,
      permissionsBoundary: pool.permissionsBoundary,
    });
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [this.logGroup.logGroupArn],
    }));
    const unscoped: iam.Policy[] = [];
    if (placement.vpc) {
      // What AWSLambdaVPCAccessExecutionRole grants, minus the managed policy.
      unscoped.push(grantUnscoped(this, 'NetworkInterfacesPolicy', this.role,
        ['ec2:CreateNetworkInterface', 'ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets',
          'ec2:DeleteNetworkInterface', 'ec2:AssignPrivateIpAddresses', 'ec2:UnassignPrivateIpAddresses'],
        'What AWSLambdaVPCAccessExecutionRole grants: the describes have no resource-level permissions, and Lambda creates, '
          + 'assigns and deletes the function\'s interfaces itself, under ids no policy can name in advance.'));
    }
    // Tracing is set on the CfnFunction below, not through lambda.Function, which would add the same X-Ray statement on
    // "*" to the role's default policy, where no acknowledgement may sit (a user's wildcard there must stay a finding).
    const tracing = placement.tracing === lambda.Tracing.ACTIVE || placement.tracing === lambda.Tracing.PASS_THROUGH
      ? placement.tracing : undefined;
    if (tracing !== undefined) {
      unscoped.push(grantUnscoped(this, 'TracingPolicy', this.role, ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'],
        'X-Ray segment uploads have no resource-level permissions.'));
    }
    const callsSpaceliftApi = props.callsSpaceliftApi ?? true;
    if (callsSpaceliftApi) pool.spaceliftApiKey.grantRead(this.role);

    this.function = new lambda.Function(this, 'Function', {
      description: props.description,
      code: lambda.Code.fromAsset(path.join(ASSETS, props.asset)),
      handler: 'index.handler',
      runtime: NODEJS_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      timeout: props.timeout,
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      vpc: placement.vpc,
      vpcSubnets: placement.vpc ? placement.vpcSubnets : undefined,
      securityGroups: placement.vpc ? placement.securityGroups : undefined,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      recursiveLoop: props.recursiveLoop,
      environment: {
        ...(callsSpaceliftApi ? {
          SPACELIFT_API_ENDPOINT: pool.spaceliftApiKey.endpoint,
          SPACELIFT_API_KEY_ID: pool.spaceliftApiKey.apiKeyId,
          SPACELIFT_API_KEY_SECRET_ARN: pool.spaceliftApiKey.secretArn,
          ...(pool.workerPoolId !== undefined ? { SPACELIFT_WORKER_POOL_ID: pool.workerPoolId } : {}),
        } : {}),
        POWERTOOLS_SERVICE_NAME: SERVICES[props.asset],
        AWS_NODEJS_CONNECTION_REUSE_ENABLED: '1',
        ...props.environment,
      },
    });
    if (tracing !== undefined) (this.function.node.defaultChild as lambda.CfnFunction).tracingConfig = { mode: tracing };
    unscoped.forEach((policy) => this.addPolicyNeededAtCreation(policy));
  }

  /**
   * A policy attached to the role besides its default policy, which the function only depends on by
   * this call: Lambda checks a VPC function's permissions when it creates it, and a first invocation
   * should not run before its permissions exist.
   */
  public addPolicyNeededAtCreation(policy: iam.Policy): void {
    this.function.node.addDependency(policy);
  }
}
