/**
 * Lambda entry point (bundled to `assets/drain/index.js`): wires the real adapters into `createHandler`.
 * Fed by the drain queue through an event source mapping with `reportBatchItemFailures`.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createLifecycleActions } from '../aws/lifecycle';
import { workerPoolApiFromEnv } from '../spacelift/from-env';
import { loadDrainConfig } from './config';
import { createHandler, METRICS_NAMESPACE } from './handler';
import { createRequeue, createSqsClient } from './requeue';

const SERVICE_NAME = 'spacelift-worker-drain';
const logger = new Logger({ serviceName: SERVICE_NAME });
const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });

let drain: ReturnType<typeof createHandler> | undefined;

/** Built on the first invocation rather than at import, so a configuration error is one clear log line. */
function build(): ReturnType<typeof createHandler> {
  const config = loadDrainConfig(process.env);
  const workerPool = workerPoolApiFromEnv(config.spacelift, {
    // Two calls per message (snapshot, drain, or a second snapshot NO_WORKER_CONFIRM_MS later) should fit the
    // 60 s function timeout: 3 attempts of at most 8 s each plus backoff. A slower Spacelift makes the record
    // time out and be redelivered; the heartbeat sent before any Spacelift call has already kept the hook alive.
    timeoutMs: 8_000,
    maxAttempts: 3,
    logger,
  });
  logger.info('drain handler configured', { workerPoolId: config.spacelift.workerPoolId, schedule: config.schedule });
  return createHandler({
    workerPool,
    lifecycle: createLifecycleActions(new AutoScalingClient({})),
    requeue: createRequeue(createSqsClient(process.env), config.queueUrl),
    config: config.schedule,
    logger,
    metrics,
    clock: () => Date.now() / 1000,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  });
}

export async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  logger.addContext(context);
  if (drain === undefined) {
    try {
      drain = build();
    } catch (error) {
      logger.error('drain handler configuration is invalid; every message fails until it is fixed', { error });
      throw error;
    }
  }
  return drain(event, context);
}
