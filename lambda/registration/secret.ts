/**
 * Reads and writes the pool's token and private key in its Secrets Manager secret. A failure names the secret and
 * the AWS error (whose message names the resource and the denied action, never the value) and says what the role
 * needs. The handler reads the secret back only to finish a Create that an earlier attempt began: the key it
 * stored before creating the pool is the one the pool's certificate was issued for.
 */
import { GetSecretValueCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/**
 * What a write with a version token did. Secrets Manager keeps one value per `ClientRequestToken`: the same token with
 * the same value is ignored, with another value refused, so the first of two copies of one event to write under a
 * token derived from the event wins, and the other learns of it (`taken`).
 * @see https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_PutSecretValue.html
 */
export type WriteOutcome = 'written' | 'taken';

export interface SecretStore {
  /** Writes a new current value; with `versionToken`, as the version of that token (32 to 64 characters). */
  write(secretArn: string, secretString: string, versionToken?: string): Promise<WriteOutcome>;
  /**
   * The current SecretString, or that of the version `versionToken` (undefined when there is no such version);
   * undefined when the secret holds binary data only.
   */
  read(secretArn: string, versionToken?: string): Promise<string | undefined>;
}

export class SecretAccessError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretAccessError';
  }
}

export function secretsManagerStore(
  clientFor: (region: string | undefined) => SecretsManagerClient = (region) => new SecretsManagerClient({ region }),
): SecretStore {
  const clients = new Map<string, SecretsManagerClient>();
  function clientOf(secretArn: string): SecretsManagerClient {
    // The secret's ARN names its region, which is the one to call.
    const region = secretArn.startsWith('arn:') ? secretArn.split(':')[3] : undefined;
    const key = region ?? '';
    let client = clients.get(key);
    if (client === undefined) {
      client = clientFor(region);
      clients.set(key, client);
    }
    return client;
  }
  return {
    async write(secretArn, secretString, versionToken) {
      try {
        await clientOf(secretArn).send(new PutSecretValueCommand({
          SecretId: secretArn,
          SecretString: secretString,
          ...(versionToken === undefined ? {} : { ClientRequestToken: versionToken }),
        }));
        return 'written';
      } catch (err) {
        if (versionToken !== undefined && errorName(err) === 'ResourceExistsException') return 'taken';
        throw new SecretAccessError(`the credentials could not be written to secret ${secretArn}: ${describe(err)}${hint(err, 'secretsmanager:PutSecretValue')}`);
      }
    },
    async read(secretArn, versionToken) {
      try {
        const reply = await clientOf(secretArn).send(new GetSecretValueCommand({
          SecretId: secretArn,
          ...(versionToken === undefined ? {} : { VersionId: versionToken }),
        }));
        return reply.SecretString;
      } catch (err) {
        if (versionToken !== undefined && errorName(err) === 'ResourceNotFoundException') return undefined;
        throw new SecretAccessError(`the credentials could not be read back from secret ${secretArn}: ${describe(err)}${hint(err, 'secretsmanager:GetSecretValue')}`);
      }
    },
  };
}

function errorName(err: unknown): string | undefined {
  return err instanceof Error ? err.name : undefined;
}

function describe(err: unknown): string {
  const name = err instanceof Error ? err.name : 'Error';
  const message = err instanceof Error ? err.message : String(err);
  return `${name}: ${message}`;
}

function hint(err: unknown, action: string): string {
  const text = describe(err);
  // Secrets Manager uses the key on the caller's behalf: it needs both actions
  // (https://docs.aws.amazon.com/secretsmanager/latest/userguide/security-encryption.html, "Permissions for the KMS key").
  if (/kms/i.test(text)) {
    return '. The function\'s role needs kms:GenerateDataKey and kms:Decrypt on the secret\'s KMS key (through Secrets Manager), and the key policy must allow it';
  }
  if (/AccessDenied/i.test(text)) return `. The function's role needs ${action} on this secret`;
  if (/ResourceNotFound/i.test(text)) return '. The secret does not exist (deleted, or scheduled for deletion?)';
  return '';
}
