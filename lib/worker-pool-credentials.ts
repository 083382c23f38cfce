import { SecretValue, Stack, Validations } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { WorkerPoolConfigError } from './validation';

/** Where the worker pool token and private key live, as the instance bootstrap needs them. */
export interface WorkerPoolCredentialsConfig {
  /** The Secrets Manager secret holding a JSON object with both values. */
  readonly secret: secretsmanager.ISecret;
  /** JSON key of the base64 worker pool token (`SPACELIFT_TOKEN`). */
  readonly tokenKey: string;
  /** JSON key of the base64 PEM private key (`SPACELIFT_POOL_PRIVATE_KEY`). */
  readonly privateKeyKey: string;
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
 * Only the instance role can read them, and they never appear in the template or in user data:
 * instances fetch them at service start into tmpfs.
 *
 * @see https://docs.spacelift.io/concepts/worker-pools
 */
export abstract class WorkerPoolCredentials {
  /**
   * Stores the token and private key in a new Secrets Manager secret.
   *
   * Both values must be references that CloudFormation resolves at deploy time, such as
   * `SecretValue.ssmSecure(...)`, `SecretValue.secretsManager(...)` or a `NoEcho` parameter.
   * A plain-text value is rejected because it would be written into the template.
   *
   * @param token the base64 worker pool token (the `.config` file Spacelift gave you)
   * @param privateKey the base64-encoded PEM private key the pool's CSR was made from
   */
  public static fromValues(token: SecretValue, privateKey: SecretValue, options: CredentialsFromValuesOptions = {}): WorkerPoolCredentials {
    return new ValueCredentials(token, privateKey, options);
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
    Validations.of(secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason: 'The pool token and key are issued by Spacelift; rotating them means resetting the pool in Spacelift, which Secrets Manager rotation cannot do.',
    });
    return { secret, tokenKey: DEFAULT_TOKEN_KEY, privateKeyKey: DEFAULT_PRIVATE_KEY_KEY };
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
 * A SecretValue that resolves to a literal string would be written into the template. Deploy-time
 * references resolve to `{{resolve:...}}` strings or to intrinsic objects (`Ref` of a NoEcho parameter).
 */
function rejectPlainText(scope: Construct, prop: string, value: SecretValue): void {
  const resolved = Stack.of(scope).resolve(value);
  if (typeof resolved === 'string' && !resolved.startsWith('{{resolve:')) {
    throw new WorkerPoolConfigError(scope, prop,
      'is a plain-text SecretValue and would be written into the CloudFormation template; '
      + 'use SecretValue.ssmSecure(), SecretValue.secretsManager() or a NoEcho CfnParameter, '
      + 'or store the values yourself and use WorkerPoolCredentials.fromSecret()');
  }
}
