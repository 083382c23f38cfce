/**
 * The webhook's signing secret, read from Secrets Manager (SecretString, plain text; surrounding whitespace is
 * ignored) and cached in the container, so most requests make no API call.
 */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/** A rotated secret is picked up within this long even if every delivery still verifies. */
export const SECRET_TTL_MS = 5 * 60 * 1000;

/** A signature mismatch re-reads a secret at least this old: the secret may have just been rotated. */
export const REFRESH_MIN_AGE_MS = 60 * 1000;

export interface SigningSecret {
  /** The cached secret, read again once older than SECRET_TTL_MS. Rejects when it cannot be read. */
  current(): Promise<string>;
  /**
   * After a mismatch: the secret read again, if the cached one is at least REFRESH_MIN_AGE_MS old and the new one
   * differs; otherwise undefined. A flood of bad signatures so costs at most one read a minute.
   */
  refreshed(): Promise<string | undefined>;
}

export function signingSecret(client: SecretsManagerClient, secretArn: string, now: () => number = Date.now): SigningSecret {
  let cached: { readonly value: Promise<string>; readonly readAt: number } | undefined;

  async function read(): Promise<string> {
    let value: string | undefined;
    try {
      value = (await client.send(new GetSecretValueCommand({ SecretId: secretArn }))).SecretString;
    } catch (err) {
      // AWS error messages name the secret and the denied action, never the value.
      throw new Error(`Could not read the webhook signing secret from Secrets Manager secret ${secretArn}: ${String(err)}`, { cause: err });
    }
    const secret = value?.trim();
    if (!secret) throw new Error(`The webhook signing secret in Secrets Manager secret ${secretArn} is empty or not a string`);
    return secret;
  }

  function load(): Promise<string> {
    const entry = { value: read(), readAt: now() };
    cached = entry;
    // A failed read is not cached: the next request tries again.
    entry.value.catch(() => {
      if (cached === entry) cached = undefined;
    });
    return entry.value;
  }

  return {
    current: () => (cached === undefined || now() - cached.readAt >= SECRET_TTL_MS ? load() : cached.value),
    refreshed: async () => {
      if (cached === undefined || now() - cached.readAt < REFRESH_MIN_AGE_MS) return undefined;
      const previous = await cached.value.catch(() => undefined);
      const fresh = await load();
      return fresh === previous ? undefined : fresh;
    },
  };
}
