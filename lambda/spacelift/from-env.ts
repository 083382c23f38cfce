import { apiKeySecretReader } from '../aws/api-key';
import type { WorkerPoolApi } from '../core/ports';
import { fromVariable } from '../shared/env';
import type { SpaceliftEnv } from '../shared/spacelift-env';
import { createWorkerPoolApi, type SpaceliftApiOptions } from './index';

/** Client tuning each handler chooses for its own timeout budget. */
export type SpaceliftClientTuning = Omit<SpaceliftApiOptions, 'endpoint' | 'apiKeyId' | 'apiKeySecret' | 'workerPoolId'>;

/**
 * The Spacelift client for the four variables the construct sets on both functions. A bad secret
 * reference or endpoint fails with a ConfigError naming the variable it came from.
 */
export function workerPoolApiFromEnv(env: SpaceliftEnv, tuning: SpaceliftClientTuning): WorkerPoolApi {
  const apiKeySecret = fromVariable('SPACELIFT_API_KEY_SECRET_ARN', () => apiKeySecretReader(env.apiKeySecretRef));
  return fromVariable('SPACELIFT_API_ENDPOINT', () => createWorkerPoolApi({
    endpoint: env.endpoint,
    apiKeyId: env.apiKeyId,
    apiKeySecret,
    workerPoolId: env.workerPoolId,
    ...tuning,
  }));
}
