/**
 * The webhook's signing secret, read from Secrets Manager (SecretString, plain text; surrounding whitespace is
 * ignored) and cached in the container, so most requests make no API call. For an hour after a rotation the
 * previous value verifies too, so that updating the secret first and Spacelift second loses no delivery.
 */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/** A rotated secret is picked up within this long even if every delivery still verifies. */
export const SECRET_TTL_MS = 5 * 60 * 1000;

/** A signature mismatch re-reads a secret at least this old: the secret may have just been rotated. */
export const REFRESH_MIN_AGE_MS = 60 * 1000;

/**
 * How long after the current value was created (its version's CreatedDate) the previous one (AWSPREVIOUS) still
 * verifies: time to enter the new value in Spacelift. Longer would keep a leaked value valid longer after a rotation.
 */
export const PREVIOUS_SECRET_GRACE_MS = 60 * 60 * 1000;

export interface SigningSecret {
  /** The cached secret, read again once older than SECRET_TTL_MS. Rejects when it cannot be read. */
  current(): Promise<string>;
  /**
   * After a mismatch: the secret read again, if the cached one is at least REFRESH_MIN_AGE_MS old and the new one
   * differs; otherwise undefined. A flood of bad signatures so costs at most one read a minute.
   */
  refreshed(): Promise<string | undefined>;
  /**
   * The previous value (AWSPREVIOUS), read at most once per cached value, while the cached current one is younger
   * than PREVIOUS_SECRET_GRACE_MS; otherwise, or when there is none or it cannot be read, undefined.
   */
  previous(): Promise<string | undefined>;
}

interface Cached {
  readonly value: Promise<string>;
  readonly readAt: number;
  /** Epoch ms the current version was created, when Secrets Manager says. */
  createdAt?: number;
  previous?: Promise<string | undefined>;
}

export function signingSecret(client: SecretsManagerClient, secretArn: string, now: () => number = Date.now): SigningSecret {
  let cached: Cached | undefined;

  async function read(): Promise<{ readonly secret: string; readonly createdAt?: number }> {
    let reply: { SecretString?: string; CreatedDate?: Date };
    try {
      reply = await client.send(new GetSecretValueCommand({ SecretId: secretArn }));
    } catch (err) {
      // AWS error messages name the secret and the denied action, never the value.
      throw new Error(`Could not read the webhook signing secret from Secrets Manager secret ${secretArn}: ${String(err)}`, { cause: err });
    }
    const secret = reply.SecretString?.trim();
    if (!secret) throw new Error(`The webhook signing secret in Secrets Manager secret ${secretArn} is empty or not a string`);
    return { secret, createdAt: reply.CreatedDate?.getTime() };
  }

  function load(): Promise<string> {
    const entry: Cached = {
      readAt: now(),
      value: read().then(({ secret, createdAt }) => {
        entry.createdAt = createdAt;
        return secret;
      }),
    };
    cached = entry;
    // A failed read is not cached: the next request tries again.
    entry.value.catch(() => {
      if (cached === entry) cached = undefined;
    });
    return entry.value;
  }

  async function readPrevious(): Promise<string | undefined> {
    try {
      const reply = await client.send(new GetSecretValueCommand({ SecretId: secretArn, VersionStage: 'AWSPREVIOUS' }));
      return reply.SecretString?.trim() || undefined;
    } catch {
      // No previous version (never rotated), or not readable: only the current value verifies.
      return undefined;
    }
  }

  return {
    current: () => (cached === undefined || now() - cached.readAt >= SECRET_TTL_MS ? load() : cached.value),
    refreshed: async () => {
      if (cached === undefined || now() - cached.readAt < REFRESH_MIN_AGE_MS) return undefined;
      const previous = await cached.value.catch(() => undefined);
      const fresh = await load();
      return fresh === previous ? undefined : fresh;
    },
    previous: async () => {
      const entry = cached;
      if (entry === undefined) return undefined;
      await entry.value.catch(() => undefined);
      if (entry.createdAt === undefined || now() - entry.createdAt >= PREVIOUS_SECRET_GRACE_MS) return undefined;
      entry.previous ??= readPrevious();
      return entry.previous;
    },
  };
}
