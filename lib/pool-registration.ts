import { CustomResource, Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { RESERVED_LABEL_PREFIX } from '../lambda/registration/pool-labels';
import { HandlerFunction, type HandlerPoolProps } from './handler-function';
import { acknowledgeWildcards } from './nag';
import type { SpaceliftApiKey } from './spacelift-api-key';
import { WorkerPoolConfigError } from './validation';
import type { WorkerPoolCredentialsConfig } from './worker-pool-credentials';

/**
 * The Spacelift worker pool that the stack creates, for `WorkerPoolCredentials.register()`.
 *
 * A custom resource creates the pool in Spacelift on the first deploy, updates it when these settings
 * change, and deletes it with the stack only if `removalPolicy` says so. Its function generates the
 * RSA key and the certificate signing request itself and writes the pool token and the private key
 * into the pool's secret: neither ever appears in the template, in the custom resource's response or in
 * a log. The Spacelift API key then needs the right to create pools in `space`: the `Worker pool
 * controller` role, or Space admin, on it.
 * @see https://docs.spacelift.io/concepts/worker-pools
 * @see https://docs.spacelift.io/concepts/authorization/rbac-system
 */
export interface WorkerPoolRegistrationOptions {
  /** The pool's name in Spacelift. */
  readonly name: string;
  /**
   * The pool's description in Spacelift.
   * @default - no description
   */
  readonly description?: string;
  /**
   * The pool's labels in Spacelift.
   * @default - no labels
   */
  readonly labels?: string[];
  /**
   * The id of the Spacelift space the pool belongs to.
   * @default - the root space (`root`), Spacelift's default
   * @see https://docs.spacelift.io/concepts/spaces
   */
  readonly space?: string;
  /**
   * What happens to the pool in Spacelift when the stack deletes it. `RemovalPolicy.DESTROY` deletes
   * the Spacelift pool, which the function refuses, failing the stack deletion, while Spacelift lists any
   * of its workers as busy; `RemovalPolicy.RETAIN` leaves the pool in Spacelift, without workers. Neither
   * protects the stack's own runs: CloudFormation deletes the group, and its termination hook first,
   * before the registration, so the stack's instances are terminated without a drain. Drain the pool, or
   * let its runs finish, before `cdk destroy`.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Any string: change it to reset the pool's credentials (a new key and token, written into the
   * secret). The workers' launch template carries a fingerprint of the key, so every reset changes it and
   * the pool's instance refresh replaces the running workers, draining each, with workers that read the
   * new credentials; with `instanceRefresh.enabled: false`, replace them yourself.
   * @default - the credentials are created once and never reset
   */
  readonly resetGeneration?: string;
  /**
   * Customer managed key that encrypts the credentials secret.
   * @default - the AWS managed key `aws/secretsmanager`
   */
  readonly encryptionKey?: kms.IKey;
  /**
   * A Spacelift API key for the registration alone, with the right to create, update and delete pools in `space`.
   *
   * The autoscaler and the drain function then keep the pool's `spaceliftApiKey`, which needs only `Space:Read` and
   * `Worker Pool:Drain Worker`, and no long-running function of the pool can read a key that can delete pools.
   * @default - the pool's `spaceliftApiKey`, which then needs the rights to create pools too
   */
  readonly spaceliftApiKey?: SpaceliftApiKey;
}

/** Internal props of {@link PoolRegistration}. */
export interface PoolRegistrationProps extends WorkerPoolRegistrationOptions {
  /** The secret the function writes the token and key into, and their JSON keys. */
  readonly credentials: WorkerPoolCredentialsConfig;
  /** What the functions of the pool share: API key, placement, logs, permissions boundary. */
  readonly pool: HandlerPoolProps;
}

/** The custom resource type; the handler in `lambda/registration` answers for it. */
export const REGISTRATION_RESOURCE_TYPE = 'Custom::SpaceliftWorkerPool';

/** How long CloudFormation waits for the registration's response before it fails the resource. */
const REGISTRATION_SERVICE_TIMEOUT = Duration.minutes(20);

/**
 * The custom resource that creates the worker pool in Spacelift, and the function behind it. Internal: the
 * pool creates it for `WorkerPoolCredentials.register()` and exposes only the id.
 */
export class PoolRegistration extends Construct {
  /** The Spacelift worker pool id, known at deploy time (the custom resource's `WorkerPoolId`). */
  public readonly workerPoolId: string;
  /**
   * A hash of the public half of the key now in the secret (the custom resource's `CredentialsFingerprint`):
   * it changes with every reset of the credentials, rollbacks included. Not secret.
   */
  public readonly credentialsFingerprint: string;
  /** The custom resource: what needs the pool and its credentials depends on it. */
  public readonly resource: CustomResource;

  constructor(scope: Construct, id: string, props: PoolRegistrationProps) {
    super(scope, id);
    const deletionPolicy = this.deletionPolicy(props.removalPolicy);
    if (!Token.isUnresolved(props.name) && props.name.trim() === '') {
      throw new WorkerPoolConfigError(this, 'credentials (name)', 'must not be empty');
    }
    if (props.space !== undefined && !Token.isUnresolved(props.space) && props.space.trim() === '') {
      throw new WorkerPoolConfigError(this, 'credentials (space)', 'must not be empty; omit it for the root space');
    }
    (props.labels ?? []).forEach((label, index) => {
      if (Token.isUnresolved(label)) return;
      if (label.trim() === '') throw new WorkerPoolConfigError(this, `credentials (labels[${index}])`, 'must not be empty');
      if (label.startsWith(RESERVED_LABEL_PREFIX)) {
        throw new WorkerPoolConfigError(this, `credentials (labels[${index}])`,
          `must not start with "${RESERVED_LABEL_PREFIX}": the registration sets labels with that prefix itself, to find its pool and its key again`);
      }
    });

    const ownKey = props.spaceliftApiKey?.bind(this);
    const poolEndpoint = props.pool.spaceliftApiKey.endpoint;
    if (ownKey !== undefined && !Token.isUnresolved(ownKey.endpoint) && !Token.isUnresolved(poolEndpoint) && ownKey.endpoint !== poolEndpoint) {
      // The registration would create the pool in one Spacelift account and the autoscaler and drain read another.
      throw new WorkerPoolConfigError(this, 'credentials (spaceliftApiKey.endpoint)',
        `must be the pool's Spacelift endpoint (${poolEndpoint}), got ${ownKey.endpoint}`);
    }
    const pool = ownKey === undefined ? props.pool : { ...props.pool, spaceliftApiKey: ownKey };
    const handler = new HandlerFunction(this, 'Handler', {
      asset: 'registration',
      description: `Creates and updates the Spacelift worker pool of ${scope.node.path}`,
      // RSA 4096 key generation at 256 MB, then a few Spacelift calls and their retries, each bounded by the time left.
      timeout: Duration.minutes(5),
      pool,
      environment: {},
    });
    this.grantCredentialsAccess(handler.role, props.credentials);

    const framework = this.frameworkIdentity(props.pool);
    const provider = new cr.Provider(this, 'Provider', { onEventHandler: handler.function, ...framework });
    acknowledgeWildcards(framework.frameworkOnEventRole, { resources: [`${handler.function.functionArn}:*`] },
      'The provider framework\'s function invokes only the registration function; CDK\'s Provider grants '
      + 'lambda:InvokeFunction on its ARN and its qualified ARNs (versions and aliases).');

    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: provider.serviceToken,
      resourceType: REGISTRATION_RESOURCE_TYPE,
      // The framework's function answers within Lambda's 15 minutes (the registration function runs 5, twice at
      // most); a response that never arrives (its S3 upload failed) would otherwise hold the stack for an hour.
      serviceTimeout: REGISTRATION_SERVICE_TIMEOUT,
      properties: {
        Name: props.name,
        ...(props.description !== undefined ? { Description: props.description } : {}),
        ...(props.labels !== undefined ? { Labels: props.labels } : {}),
        ...(props.space !== undefined ? { Space: props.space } : {}),
        SecretArn: props.credentials.secret.secretArn,
        TokenKey: props.credentials.tokenKey,
        PrivateKeyKey: props.credentials.privateKeyKey,
        ...(props.resetGeneration !== undefined ? { ResetGeneration: props.resetGeneration } : {}),
        DeletionPolicy: deletionPolicy,
      },
    });
    this.workerPoolId = this.resource.getAttString('WorkerPoolId');
    this.credentialsFingerprint = this.resource.getAttString('CredentialsFingerprint');
  }

  /** The handler's deletion policy: the Spacelift pool outlives the stack unless the user says otherwise. */
  private deletionPolicy(removalPolicy: RemovalPolicy | undefined): 'retain' | 'delete' {
    switch (removalPolicy ?? RemovalPolicy.RETAIN) {
      case RemovalPolicy.RETAIN: return 'retain';
      case RemovalPolicy.DESTROY: return 'delete';
      default:
        throw new WorkerPoolConfigError(this, 'credentials (removalPolicy)',
          `${removalPolicy} is not supported for a Spacelift worker pool; use RemovalPolicy.RETAIN or RemovalPolicy.DESTROY`);
    }
  }

  /**
   * PutSecretValue and GetSecretValue on the pool's secret only: the function writes the token and key, and
   * reads the key back when it takes over a pool an earlier attempt created (the key stored before the create,
   * trusted only when the pool carries that key's fingerprint label). With a customer managed key, what Secrets
   * Manager needs of the caller who reads or changes a secret value (Decrypt, GenerateDataKey; "Permissions for
   * the KMS key"), for this secret and through Secrets Manager only.
   * @see https://docs.aws.amazon.com/secretsmanager/latest/userguide/security-encryption.html#security-encryption-authz
   */
  private grantCredentialsAccess(role: iam.IRole, credentials: WorkerPoolCredentialsConfig): void {
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue'],
      resources: [credentials.secret.secretArn],
    }));
    const key = credentials.secret.encryptionKey;
    if (key) {
      role.addToPrincipalPolicy(new iam.PolicyStatement({
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: [key.keyArn],
        conditions: {
          StringEquals: {
            'kms:ViaService': `secretsmanager.${Stack.of(this).region}.amazonaws.com`,
            'kms:EncryptionContext:SecretARN': credentials.secret.secretArn,
          },
        },
      }));
    }
  }

  /**
   * The provider framework's function gets what every function of the pool gets: a role of its own
   * under the permissions boundary, with no AWS managed policy, and a log group with the pool's
   * retention and key. It stays outside any VPC: it only invokes the registration function and answers
   * CloudFormation's pre-signed S3 URL.
   */
  private frameworkIdentity(pool: HandlerPoolProps): { frameworkOnEventRole: iam.Role; logGroup: logs.LogGroup } {
    const logGroup = new logs.LogGroup(this, 'ProviderLogs', {
      retention: pool.logRetention,
      encryptionKey: pool.logEncryptionKey,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const role = new iam.Role(this, 'ProviderRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Relays CloudFormation events to the Spacelift worker pool registration function',
      permissionsBoundary: pool.permissionsBoundary,
    });
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [logGroup.logGroupArn],
    }));
    return { frameworkOnEventRole: role, logGroup };
  }
}
