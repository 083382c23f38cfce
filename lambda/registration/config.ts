/**
 * The registration function's environment: the same variables the autoscaler and the drain read to reach
 * Spacelift, minus SPACELIFT_WORKER_POOL_ID (this function creates the pool).
 */
import { ConfigError, requireString } from '../shared/env';

export interface RegistrationEnv {
  readonly endpoint: string;
  readonly apiKeyId: string;
  /** Secrets Manager secret ARN, or SSM parameter ARN or name, holding the API key secret. */
  readonly apiKeySecretRef: string;
}

export function loadRegistrationEnv(env: Readonly<Record<string, string | undefined>>): RegistrationEnv {
  return {
    endpoint: requireString(env, 'SPACELIFT_API_ENDPOINT'),
    apiKeyId: requireString(env, 'SPACELIFT_API_KEY_ID'),
    apiKeySecretRef: requireString(env, 'SPACELIFT_API_KEY_SECRET_ARN'),
  };
}

/**
 * `<endpoint>/graphql`. The API key secret is posted there, so plain http is accepted only for a loopback test
 * server. Same rule as the autoscaler's client (lambda/spacelift/index.ts), which does not export it.
 */
export function graphqlUrl(endpoint: string): string {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new ConfigError(`environment variable SPACELIFT_API_ENDPOINT: "${endpoint}" is not a URL`);
  }
  const loopback = url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]';
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new ConfigError(`environment variable SPACELIFT_API_ENDPOINT: "${endpoint}" must use https`);
  }
  url.pathname = `${url.pathname.replace(/\/+$/, '').replace(/\/graphql$/, '')}/graphql`;
  return url.toString();
}
