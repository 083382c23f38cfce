/**
 * Lambda entry point (bundled to `assets/drain/index.js`): wires the real adapters into `createHandler`.
 * Fed by the drain queue through an event source mapping with `reportBatchItemFailures`.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { EC2Client } from '@aws-sdk/client-ec2';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { describeInstanceFacts } from '../aws/instance-facts';
import { createLifecycleActions } from '../aws/lifecycle';
import { DRAIN_SERVICE, METRICS_NAMESPACE } from '../shared/metrics';
import { workerPoolApiFromEnv } from '../spacelift/from-env';
import { loadDrainConfig } from './config';
import { createHandler } from './handler';
import { createRequeue, createSqsClient } from './requeue';

const logger = new Logger({ serviceName: DRAIN_SERVICE });
const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: DRAIN_SERVICE });

// A Spacelift call: 3 attempts of at most 8 s each (backoff between them adds under a second). The handler starts
// one only when this much of the 60 s function timeout, plus the call that ends the record, is left; a slower
// Spacelift (a long Retry-After) can still make a record time out and be redelivered, after its heartbeat.
const SPACELIFT_TIMEOUT_MS = 8_000;
const SPACELIFT_MAX_ATTEMPTS = 3;
// DescribeInstances is asked only when a busy worker has invalid metadata; a failure holds the termination.
const EC2_REQUEST_HANDLER = { connectionTimeout: 2_000, requestTimeout: 3_000 };

let drain: ReturnType<typeof createHandler> | undefined;

/** Built on the first invocation rather than at import, so a configuration error is one clear log line. */
function build(): ReturnType<typeof createHandler> {
  const config = loadDrainConfig(process.env);
  const workerPool = workerPoolApiFromEnv(config.spacelift, {
    timeoutMs: SPACELIFT_TIMEOUT_MS,
    maxAttempts: SPACELIFT_MAX_ATTEMPTS,
    logger,
  });
  const ec2 = new EC2Client({ requestHandler: EC2_REQUEST_HANDLER });
  logger.info('drain handler configured', { workerPoolId: config.spacelift.workerPoolId, schedule: config.schedule });
  return createHandler({
    workerPool,
    instanceFacts: (instanceIds) => describeInstanceFacts(ec2, instanceIds),
    lifecycle: createLifecycleActions(new AutoScalingClient({})),
    requeue: createRequeue(createSqsClient(process.env), config.queueUrl),
    config: config.schedule,
    asgName: config.asgName,
    logger,
    metrics,
    clock: () => Date.now() / 1000,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    spaceliftCallMs: SPACELIFT_MAX_ATTEMPTS * SPACELIFT_TIMEOUT_MS + 1_000,
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
