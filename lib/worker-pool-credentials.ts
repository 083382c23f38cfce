import { CfnParameter, SecretValue, Stack } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { acknowledge } from './nag';
import type { WorkerPoolRegistrationOptions } from './pool-registration';
import { WorkerPoolConfigError } from './validation';

/** Where the worker pool token and private key live, as the instance bootstrap needs them. */
export interface WorkerPoolCredentialsConfig {
  /** The Secrets Manager secret holding a JSON object with both values. */
  readonly secret: secretsmanager.ISecret;
  /** JSON key of the base64 worker pool token (`SPACELIFT_TOKEN`). */
  readonly tokenKey: string;
  /** JSON key of the base64 PEM private key (`SPACELIFT_POOL_PRIVATE_KEY`). */
  readonly privateKeyKey: string;
  /**
   * The Spacelift pool to create at deploy time, whose registration writes `secret` and provides the
   * pool id (what `WorkerPoolCredentials.register()` returns).
   * @default - the pool exists in Spacelift already, and `secret` holds its credentials
   */
  readonly registration?: WorkerPoolRegistrationOptions;
}

/** JSON key names inside a bring-your-own secret. */
export interface SecretKeyNames {
  /**
   * JSON key of the base64 worker pool token.
   * @default 'SPACELIFT_TOKEN'
   */
  readonly tokenKey?: string;
  /**
   * JSON key of the base64-encoded PEM private key of the pool.
   * @default 'SPACELIFT_POOL_PRIVATE_KEY'
   */
  readonly privateKeyKey?: string;
}

/** Options for credentials stored in a secret created by this library. */
export interface CredentialsFromValuesOptions {
  /**
   * Customer managed key that encrypts the secret.
   * @default - the AWS managed key `aws/secretsmanager`
   */
  readonly encryptionKey?: kms.IKey;
}

const DEFAULT_TOKEN_KEY = 'SPACELIFT_TOKEN';
const DEFAULT_PRIVATE_KEY_KEY = 'SPACELIFT_POOL_PRIVATE_KEY';
const JSON_KEY = /^[A-Za-z0-9_.-]+$/;

/**
 * The worker pool token and private key that the launcher registers with.
 *
 * Only the instance role (and, with `register()`, the function that writes them) can read them, and they
 * never appear in the template or in user data: instances fetch them at service start into tmpfs.
 *
 * @see https://docs.spacelift.io/concepts/worker-pools
 */
export abstract class WorkerPoolCredentials {
  /**
   * Stores the token and private key in a new Secrets Manager secret.
   *
   * Both values must be references that CloudFormation resolves at deploy time:
   * `SecretValue.secretsManager(...)` (or `secret.secretValueFromJson(...)`) or
   * `SecretValue.cfnParameter(...)` of a `NoEcho` parameter in the pool's stack. Anything else,
   * plain text or plain text wrapped in a token, is rejected because it would be written into the
   * template. `SecretValue.ssmSecure(...)` is rejected too: CloudFormation does not resolve SSM
   * SecureString references in a Secrets Manager secret.
   *
   * @param token the base64 worker pool token (the `.config` file Spacelift gave you)
   * @param privateKey the base64-encoded PEM private key the pool's CSR was made from
   */
  public static fromValues(token: SecretValue, privateKey: SecretValue, options: CredentialsFromValuesOptions = {}): WorkerPoolCredentials {
    return new ValueCredentials(token, privateKey, options);
  }

  /**
   * Creates the worker pool in Spacelift at deploy time: one `cdk deploy` from nothing. A custom
   * resource generates the private key and the certificate signing request inside its function, creates
   * the pool, and writes the token and the key into a new secret; no credential goes through
   * CloudFormation. The pool's `workerPoolId` is then the new pool's id, so do not set it.
   *
   * The Spacelift API key must be allowed to create, update and delete worker pools in the space (the
   * `Worker pool controller` role, or Space admin, on it), besides what the autoscaler needs.
   * @see https://docs.spacelift.io/concepts/authorization/rbac-system
   */
  public static register(options: WorkerPoolRegistrationOptions): WorkerPoolCredentials {
    return new RegisteredCredentials(options);
  }

  /**
   * Uses an existing Secrets Manager secret whose JSON holds the token and the private key.
   */
  public static fromSecret(secret: secretsmanager.ISecret, keys: SecretKeyNames = {}): WorkerPoolCredentials {
    return new ExistingSecretCredentials(secret, keys);
  }

  /** Creates or resolves the secret for the given pool construct. */
  public abstract bind(scope: Construct): WorkerPoolCredentialsConfig;
}

class ValueCredentials extends WorkerPoolCredentials {
  constructor(
    private readonly token: SecretValue,
    private readonly privateKey: SecretValue,
    private readonly options: CredentialsFromValuesOptions,
  ) {
    super();
  }

  public bind(scope: Construct): WorkerPoolCredentialsConfig {
    rejectPlainText(scope, 'credentials (token)', this.token);
    rejectPlainText(scope, 'credentials (privateKey)', this.privateKey);
    const secret = new secretsmanager.Secret(scope, 'Credentials', {
      description: `Spacelift worker pool credentials for ${scope.node.path}`,
      encryptionKey: this.options.encryptionKey,
      secretObjectValue: {
        [DEFAULT_TOKEN_KEY]: this.token,
        [DEFAULT_PRIVATE_KEY_KEY]: this.privateKey,
      },
    });
    acknowledge(secret, {
      id: 'AwsSolutions-SMG4',
      reason: 'The pool token and key are issued by Spacelift; rotating them means resetting the pool in Spacelift, which Secrets Manager rotation cannot do.',
    });
    return { secret, tokenKey: DEFAULT_TOKEN_KEY, privateKeyKey: DEFAULT_PRIVATE_KEY_KEY };
  }
}

class RegisteredCredentials extends WorkerPoolCredentials {
  constructor(private readonly options: WorkerPoolRegistrationOptions) {
    super();
  }

  public bind(scope: Construct): WorkerPoolCredentialsConfig {
    // CloudFormation needs a value or a generated one; the registration function replaces this placeholder
    // with the token and key before anything reads the secret, and the template never changes it again.
    const secret = new secretsmanager.Secret(scope, 'Credentials', {
      description: `Spacelift worker pool credentials for ${scope.node.path}, written by its registration`,
      encryptionKey: this.options.encryptionKey,
      generateSecretString: { secretStringTemplate: '{}', generateStringKey: 'placeholder', excludePunctuation: true },
    });
    acknowledge(secret, {
      id: 'AwsSolutions-SMG4',
      reason: 'The pool token and key are issued by Spacelift; they are rotated by changing resetGeneration, which resets '
        + 'the pool in Spacelift, something Secrets Manager rotation cannot do.',
    });
    return { secret, tokenKey: DEFAULT_TOKEN_KEY, privateKeyKey: DEFAULT_PRIVATE_KEY_KEY, registration: this.options };
  }
}

class ExistingSecretCredentials extends WorkerPoolCredentials {
  constructor(private readonly secret: secretsmanager.ISecret, private readonly keys: SecretKeyNames) {
    super();
  }

  public bind(scope: Construct): WorkerPoolCredentialsConfig {
    const tokenKey = this.keys.tokenKey ?? DEFAULT_TOKEN_KEY;
    const privateKeyKey = this.keys.privateKeyKey ?? DEFAULT_PRIVATE_KEY_KEY;
    for (const [prop, key] of [['tokenKey', tokenKey], ['privateKeyKey', privateKeyKey]]) {
      // The key names are rendered into the bootstrap script, so they must be shell- and jq-safe.
      if (!JSON_KEY.test(key)) {
        throw new WorkerPoolConfigError(scope, `credentials (${prop})`, `"${key}" may only contain letters, digits, "_", "." and "-"`);
      }
    }
    if (tokenKey === privateKeyKey) {
      throw new WorkerPoolConfigError(scope, 'credentials (privateKeyKey)', 'must differ from tokenKey');
    }
    return { secret: this.secret, tokenKey, privateKeyKey };
  }
}

/**
 * Only values CloudFormation resolves at deploy time keep a secret out of the template: a Secrets
 * Manager dynamic reference, or a `Ref` of a NoEcho parameter. Anything else (a literal, or plain
 * text wrapped in a token such as `Fn::Sub`) would be written into the template. SSM SecureString
 * references are refused too: CloudFormation resolves `ssm-secure` only in a short list of resource
 * properties, and a Secrets Manager secret's `SecretString` is not one of them.
 *
 * The wrapped value is resolved, never the SecretValue itself: resolving a SecretValue is what
 * `@aws-cdk/core:checkSecretUsage` forbids, and `unsafeUnwrap()` is how aws-cdk-lib's own
 * constructs hand a SecretValue to CloudFormation.
 *
 * @see https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/dynamic-references-secretsmanager.html
 * @see https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/dynamic-references-ssm-secure-strings.html
 */
function rejectPlainText(scope: Construct, prop: string, value: SecretValue): void {
  const stack = Stack.of(scope);
  const resolved = stack.resolve(value.unsafeUnwrap());
  const reference = dynamicReference(resolved);
  if (reference === 'ssm-secure') {
    throw new WorkerPoolConfigError(scope, prop,
      `is an SSM SecureString reference, which CloudFormation does not resolve in a Secrets Manager secret; ${ALTERNATIVES}`);
  }
  if (reference !== 'secretsmanager' && !isNoEchoParameter(stack, resolved)) {
    throw new WorkerPoolConfigError(scope, prop,
      `is a plain-text SecretValue (or plain text wrapped in a token) and would be written into the CloudFormation template; ${ALTERNATIVES}`);
  }
}

const ALTERNATIVES = 'use SecretValue.secretsManager() or SecretValue.cfnParameter() of a NoEcho CfnParameter, '
  + 'or store the values yourself and use WorkerPoolCredentials.fromSecret()';

const DYNAMIC_REFERENCE = /^\{\{resolve:(ssm-secure|secretsmanager):[^{}]+\}\}$/;

/** The service of a value that is one whole dynamic reference, or undefined. */
function dynamicReference(resolved: unknown): string | undefined {
  let text = resolved;
  const join = (resolved as Record<string, unknown> | undefined)?.['Fn::Join'];
  if (Array.isArray(join) && join[0] === '' && Array.isArray(join[1]) && Object.keys(resolved as object).length === 1) {
    // A reference whose secret id is a token, such as `secret.secretValueFromJson(key)`. The tokens
    // stand for the id only; the reference must still be the whole value.
    text = join[1].map((part: unknown) => typeof part === 'string' ? part : 'token').join('');
  }
  return typeof text === 'string' ? DYNAMIC_REFERENCE.exec(text)?.[1] : undefined;
}

function isNoEchoParameter(stack: Stack, resolved: unknown): boolean {
  const ref = (resolved as Record<string, unknown> | undefined)?.Ref;
  if (typeof ref !== 'string' || Object.keys(resolved as object).length !== 1) return false;
  const parameter = stack.node.findAll().find((c): c is CfnParameter => c instanceof CfnParameter && stack.resolve(c.logicalId) === ref);
  return parameter?.noEcho === true;
}
