/**
 * Reads the Spacelift API key secret at run time, from Secrets Manager or an SSM SecureString.
 *
 * - `arn:<partition>:secretsmanager:...` → `GetSecretValue`; the `SecretString` is the API key
 *   secret as plain text (not JSON). Surrounding whitespace is ignored.
 * - `arn:<partition>:ssm:<region>:<account>:parameter/<name>`, or a bare name starting with `/` →
 *   `GetParameter` with decryption. The ARN form is passed as is, which also works across accounts. A parameter
 *   that is not a SecureString (stored unencrypted) is refused.
 *
 * Build the reader once per container: it caches the value for CACHE_TTL_MS so warm invocations
 * skip the API call, and rotation is still picked up within that time.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { ConfigError } from '../shared/env';

const CACHE_TTL_MS = 15 * 60 * 1000;

const SECRET_ARN = /^arn:[a-z0-9-]+:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$/;
const PARAMETER_ARN = /^arn:[a-z0-9-]+:ssm:[a-z0-9-]+:\d{12}:parameter\/.+$/;

export function apiKeySecretReader(
  ref: string,
  clients: { secretsManager?: SecretsManagerClient; ssm?: SSMClient } = {},
): () => Promise<string> {
  const source = sourceOf(ref);
  // An ARN may point at another region than the function's; the client has to call that region.
  const region = ref.startsWith('arn:') ? ref.split(':')[3] : undefined;
  let secretsManager = clients.secretsManager;
  let ssm = clients.ssm;
  let cached: { readonly value: Promise<string>; readonly expiresAt: number } | undefined;

  async function read(): Promise<string> {
    let value: string | undefined;
    let type: string | undefined;
    try {
      if (source === 'secretsmanager') {
        secretsManager ??= new SecretsManagerClient({ region });
        value = (await secretsManager.send(new GetSecretValueCommand({ SecretId: ref }))).SecretString;
      } else {
        ssm ??= new SSMClient({ region });
        const parameter = (await ssm.send(new GetParameterCommand({ Name: ref, WithDecryption: true }))).Parameter;
        type = parameter?.Type;
        value = parameter?.Value;
      }
    } catch (err) {
      // AWS error messages name the resource and the denied action, never the value.
      throw new Error(`Could not read the Spacelift API key secret from ${describe(source, ref)}: ${String(err)}`, { cause: err });
    }
    // A String parameter is stored unencrypted and readable by anyone with ssm:GetParameter: refuse it, naming the fix.
    if (source === 'ssm' && type !== 'SecureString') {
      throw new Error(`The Spacelift API key secret in ${describe(source, ref)} is a ${type ?? 'parameter of unknown type'}, `
        + 'stored unencrypted: store it as a SecureString parameter (or in Secrets Manager)');
    }
    const secret = value?.trim();
    if (!secret) {
      throw new Error(`The Spacelift API key secret in ${describe(source, ref)} is empty or not a string`);
    }
    return secret;
  }

  return () => {
    const now = Date.now();
    if (cached === undefined || now >= cached.expiresAt) {
      const entry = { value: read(), expiresAt: now + CACHE_TTL_MS };
      cached = entry;
      // A failed read is not cached: the next call tries again.
      entry.value.catch(() => {
        if (cached === entry) cached = undefined;
      });
    }
    return cached.value;
  };
}

function sourceOf(ref: string): 'secretsmanager' | 'ssm' {
  if (SECRET_ARN.test(ref)) return 'secretsmanager';
  if (PARAMETER_ARN.test(ref) || ref.startsWith('/')) return 'ssm';
  throw new ConfigError(
    `Spacelift API key secret reference "${ref}" must be a Secrets Manager secret ARN, an SSM parameter ARN or an SSM parameter name starting with "/"`,
  );
}

function describe(source: 'secretsmanager' | 'ssm', ref: string): string {
  return source === 'secretsmanager' ? `Secrets Manager secret ${ref}` : `SSM parameter ${ref}`;
}
