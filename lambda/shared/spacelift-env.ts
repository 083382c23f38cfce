import { requireString } from './env';

/** How a handler reaches the Spacelift API; the construct sets these four variables on both functions. */
export interface SpaceliftEnv {
  readonly endpoint: string;
  readonly apiKeyId: string;
  /** Secrets Manager secret ARN, or SSM parameter ARN or name, holding the API key secret. */
  readonly apiKeySecretRef: string;
  readonly workerPoolId: string;
}

export function loadSpaceliftEnv(env: Readonly<Record<string, string | undefined>>): SpaceliftEnv {
  return {
    endpoint: requireString(env, 'SPACELIFT_API_ENDPOINT'),
    apiKeyId: requireString(env, 'SPACELIFT_API_KEY_ID'),
    apiKeySecretRef: requireString(env, 'SPACELIFT_API_KEY_SECRET_ARN'),
    workerPoolId: requireString(env, 'SPACELIFT_WORKER_POOL_ID'),
  };
}
