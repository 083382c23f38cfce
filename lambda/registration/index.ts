/**
 * Lambda entry point (bundled to `assets/registration/index.js`): the onEvent handler of the custom resource that
 * registers the worker pool with Spacelift, invoked through the aws-cdk-lib custom-resources Provider framework.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { CloudFormationCustomResourceEvent, Context } from 'aws-lambda';
import { apiKeySecretReader } from '../aws/api-key';
import { fromVariable } from '../shared/env';
import { graphqlUrl, loadRegistrationEnv } from './config';
import { generateWorkerPoolCredentials } from './credentials';
import { createRegistrationHandler, type RegistrationResponse } from './handler';
import { createPoolManagementApi } from './pools';
import { secretsManagerStore } from './secret';

const logger = new Logger({ serviceName: 'spacelift-worker-pool-registration' });

// One attempt; retryOnce adds at most one more, and both stay within the function's remaining time.
const SPACELIFT_TIMEOUT_MS = 20_000;

let onEvent: ReturnType<typeof createRegistrationHandler> | undefined;

/** Built on the first invocation rather than at import, so a configuration error fails the event with its message. */
function build(): ReturnType<typeof createRegistrationHandler> {
  const env = loadRegistrationEnv(process.env);
  const url = graphqlUrl(env.endpoint);
  const apiKeySecret = fromVariable('SPACELIFT_API_KEY_SECRET_ARN', () => apiKeySecretReader(env.apiKeySecretRef));
  const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
  return createRegistrationHandler({
    connect: (retry) => createPoolManagementApi({ url, apiKeyId: env.apiKeyId, apiKeySecret, timeoutMs: SPACELIFT_TIMEOUT_MS, retry, logger }),
    secret: secretsManagerStore(),
    newCredentials: () => generateWorkerPoolCredentials(),
    logger,
    sleep,
    random: Math.random,
    apiKeyId: env.apiKeyId,
    endpoint: env.endpoint,
  });
}

export async function handler(event: CloudFormationCustomResourceEvent, context: Context): Promise<RegistrationResponse> {
  logger.addContext(context);
  if (onEvent === undefined) {
    try {
      onEvent = build();
    } catch (error) {
      logger.error('worker pool registration configuration is invalid', { error: error instanceof Error ? error.message : String(error) });
      throw error;
    }
  }
  return onEvent(event, context);
}
