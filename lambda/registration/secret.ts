/**
 * Writes the pool's token and private key into its Secrets Manager secret. A failure names the secret and the AWS
 * error (whose message names the resource and the denied action, never the value) and says what the role needs.
 */
import { PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

export type SecretWriter = (secretArn: string, secretString: string) => Promise<void>;

export class SecretWriteError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretWriteError';
  }
}

export function secretsManagerWriter(
  clientFor: (region: string | undefined) => SecretsManagerClient = (region) => new SecretsManagerClient({ region }),
): SecretWriter {
  const clients = new Map<string, SecretsManagerClient>();
  return async (secretArn, secretString) => {
    // The secret's ARN names its region, which is the one to call.
    const region = secretArn.startsWith('arn:') ? secretArn.split(':')[3] : undefined;
    const key = region ?? '';
    let client = clients.get(key);
    if (client === undefined) {
      client = clientFor(region);
      clients.set(key, client);
    }
    try {
      await client.send(new PutSecretValueCommand({ SecretId: secretArn, SecretString: secretString }));
    } catch (err) {
      throw new SecretWriteError(`the credentials could not be written to secret ${secretArn}: ${describe(err)}${hint(err)}`);
    }
  };
}

function describe(err: unknown): string {
  const name = err instanceof Error ? err.name : 'Error';
  const message = err instanceof Error ? err.message : String(err);
  return `${name}: ${message}`;
}

function hint(err: unknown): string {
  const text = describe(err);
  // Secrets Manager uses the key on the caller's behalf: it needs both actions
  // (https://docs.aws.amazon.com/secretsmanager/latest/userguide/security-encryption.html, "Permissions for the KMS key").
  if (/kms/i.test(text)) {
    return '. The function\'s role needs kms:GenerateDataKey and kms:Decrypt on the secret\'s KMS key (through Secrets Manager), and the key policy must allow it';
  }
  if (/AccessDenied/i.test(text)) return '. The function\'s role needs secretsmanager:PutSecretValue on this secret';
  if (/ResourceNotFound/i.test(text)) return '. The secret does not exist (deleted, or scheduled for deletion?)';
  return '';
}
