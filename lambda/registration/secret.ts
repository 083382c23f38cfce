/**
 * Reads and writes the pool's token and private key in its Secrets Manager secret. A failure names the secret and
 * the AWS error (whose message names the resource and the denied action, never the value) and says what the role
 * needs. The handler reads the secret back only to finish a Create that an earlier attempt began: the key it
 * stored before creating the pool is the one the pool's certificate was issued for.
 */
import { GetSecretValueCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

export interface SecretStore {
  write(secretArn: string, secretString: string): Promise<void>;
  /** The current SecretString; undefined when the secret holds binary data only. */
  read(secretArn: string): Promise<string | undefined>;
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
    async write(secretArn, secretString) {
      try {
        await clientOf(secretArn).send(new PutSecretValueCommand({ SecretId: secretArn, SecretString: secretString }));
      } catch (err) {
        throw new SecretAccessError(`the credentials could not be written to secret ${secretArn}: ${describe(err)}${hint(err, 'secretsmanager:PutSecretValue')}`);
      }
    },
    async read(secretArn) {
      try {
        const reply = await clientOf(secretArn).send(new GetSecretValueCommand({ SecretId: secretArn }));
        return reply.SecretString;
      } catch (err) {
        throw new SecretAccessError(`the credentials could not be read back from secret ${secretArn}: ${describe(err)}${hint(err, 'secretsmanager:GetSecretValue')}`);
      }
    },
  };
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
