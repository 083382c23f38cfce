/**
 * Lambda entry point (bundled to `assets/autoscaler/index.js`): wires the real adapters into `createHandler`.
 * Invoked every minute by an EventBridge schedule; the event is ignored.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { EC2Client } from '@aws-sdk/client-ec2';
import type { Context } from 'aws-lambda';
import { createAsgFleet } from '../aws/fleet';
import { AUTOSCALER_SERVICE, METRICS_NAMESPACE } from '../shared/metrics';
import { workerPoolApiFromEnv } from '../spacelift/from-env';
import { loadAutoscalerConfig } from './config';
import { createHandler, type AutoscalerHandler, type InvocationSummary } from './handler';

const logger = new Logger({ serviceName: AUTOSCALER_SERVICE });
const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: AUTOSCALER_SERVICE });

// Short per-attempt timeouts keep one slow call from eating the tick; DEFAULT_TICK_RESERVE_MS assumes them.
const SPACELIFT_TIMEOUT_MS = 5_000;
const SPACELIFT_MAX_ATTEMPTS = 3;
const AWS_REQUEST_HANDLER = { connectionTimeout: 3_000, requestTimeout: 5_000 };

let autoscale: AutoscalerHandler | undefined;

/** Built on the first invocation rather than at import, so a configuration error is one clear log line. */
function build(): AutoscalerHandler {
  const config = loadAutoscalerConfig(process.env);
  const workerPool = workerPoolApiFromEnv(config.spacelift, {
    querySchedulableRuns: config.scaling.demandSignal === 'schedulableRunsCount',
    timeoutMs: SPACELIFT_TIMEOUT_MS,
    maxAttempts: SPACELIFT_MAX_ATTEMPTS,
    logger,
  });
  const fleet = createAsgFleet(
    new AutoScalingClient({ requestHandler: AWS_REQUEST_HANDLER }),
    new EC2Client({ requestHandler: AWS_REQUEST_HANDLER }),
    config.asgName,
  );
  logger.info('autoscaler configured', {
    workerPoolId: config.spacelift.workerPoolId,
    asgName: config.asgName,
    pollIntervalSeconds: config.pollIntervalSeconds,
    loopSeconds: config.loopSeconds,
    scaling: { ...config.scaling, scaleDownDelay: config.scaling.scaleDownDelay.toString() },
  });
  return createHandler({
    workerPool,
    fleet,
    config,
    logger,
    metrics,
    clock: () => Date.now() / 1000,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  });
}

export async function handler(event: unknown, context: Context): Promise<InvocationSummary> {
  logger.addContext(context);
  if (autoscale === undefined) {
    try {
      autoscale = build();
    } catch (error) {
      logger.error('autoscaler configuration is invalid; every invocation fails until it is fixed', { error });
      throw error;
    }
  }
  return autoscale(event, context);
}
