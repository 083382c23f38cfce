/**
 * Reads handler configuration from the environment. Every failure names the variable, so a
 * misconfigured function says exactly what to fix in its first log line.
 */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;

export function requireString(env: Env, name: string): string {
  const value = env[name];
  if (value === undefined || value.trim() === '') {
    throw new ConfigError(`environment variable ${name} is required but not set`);
  }
  return value.trim();
}

export function optionalString(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

export function integer(env: Env, name: string, fallback: number, bounds: { min?: number; max?: number } = {}): number {
  const raw = optionalString(env, name);
  if (raw === undefined) return fallback;
  if (!/^-?\d+$/.test(raw)) {
    throw new ConfigError(`environment variable ${name} must be an integer, got "${raw}"`);
  }
  const value = Number(raw);
  if (bounds.min !== undefined && value < bounds.min) {
    throw new ConfigError(`environment variable ${name} must be >= ${bounds.min}, got ${value}`);
  }
  if (bounds.max !== undefined && value > bounds.max) {
    throw new ConfigError(`environment variable ${name} must be <= ${bounds.max}, got ${value}`);
  }
  return value;
}

export function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = optionalString(env, name);
  if (raw === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(`environment variable ${name} must be one of ${allowed.join(', ')}, got "${raw}"`);
  }
  return raw as T;
}

/** Runs `build`, turning any error it throws into a ConfigError that names the variable the input came from. */
export function fromVariable<T>(name: string, build: () => T): T {
  try {
    return build();
  } catch (error) {
    throw new ConfigError(`environment variable ${name}: ${error instanceof Error ? error.message : String(error)}`);
  }
}
