/**
 * Lambda entry point (bundled to `assets/webhook/index.js`): wires Secrets Manager and the Lambda API into
 * `createHandler`. Invoked through a function URL (payload format 2.0); see README.md for the Spacelift setup.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context, LambdaFunctionURLEvent } from 'aws-lambda';
import { METRICS_NAMESPACE, WEBHOOK_SERVICE } from '../shared/metrics';
import { pokeEvent } from '../shared/poke';
import { loadWebhookConfig } from './config';
import { createHandler, type WebhookResult } from './handler';
import { signingSecret } from './secret';

const logger = new Logger({ serviceName: WEBHOOK_SERVICE });
const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: WEBHOOK_SERVICE });

// Short timeouts and one retry, so a cold request (secret read and invoke) fits the construct's 10 s function
// timeout: Spacelift waits on the answer, and retries a 5xx itself.
const AWS_CLIENT = { maxAttempts: 2, requestHandler: { connectionTimeout: 1_000, requestTimeout: 2_000 } };

let webhook: ReturnType<typeof createHandler> | undefined;

/** Built on the first invocation rather than at import, so a configuration error is one clear log line. */
function build(): ReturnType<typeof createHandler> {
  const config = loadWebhookConfig(process.env);
  // The secret ARN may name another region than the function's; the client has to call that region.
  const secrets = new SecretsManagerClient({ ...AWS_CLIENT, region: config.secretArn.split(':')[3] });
  const lambda = new LambdaClient(AWS_CLIENT);
  logger.info('webhook endpoint configured', {
    autoscalerFunction: config.autoscalerFunction,
    minTriggerIntervalSeconds: config.minTriggerIntervalSeconds,
    maxBodyBytes: config.maxBodyBytes,
    replayWindowSeconds: config.replayWindowSeconds,
  });
  return createHandler({
    config,
    secret: signingSecret(secrets, config.secretArn),
    // What the autoscaler receives: a poke's tick only scales out (lambda/autoscaler/handler.ts).
    poke: async (notBefore) => {
      const response = await lambda.send(new InvokeCommand({
        FunctionName: config.autoscalerFunction,
        InvocationType: 'Event',
        Payload: Buffer.from(JSON.stringify(pokeEvent(Date.now() / 1000, notBefore))),
      }));
      // An accepted asynchronous invocation answers 202 (https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html).
      if (response.StatusCode !== 202) throw new Error(`Lambda answered the asynchronous invoke with status ${response.StatusCode}`);
    },
    logger,
    metrics,
    clock: () => Date.now() / 1000,
  });
}

export async function handler(event: LambdaFunctionURLEvent, context: Context): Promise<WebhookResult> {
  logger.addContext(context);
  if (webhook === undefined) {
    try {
      webhook = build();
    } catch (error) {
      logger.error('webhook configuration is invalid; every request fails until it is fixed', { error });
      throw error;
    }
  }
  return webhook(event);
}
