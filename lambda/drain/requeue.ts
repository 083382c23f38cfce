import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { optionalString } from '../shared/env';
import type { RecheckMessage } from './messages';

/** Sends a re-check of a busy worker to the drain queue, visible after `delaySeconds`. */
export type Requeue = (body: RecheckMessage, delaySeconds: number) => Promise<void>;

/**
 * The SDK picks up `AWS_ENDPOINT_URL(_SQS)` itself, but by default it sends each call to the host of the
 * queue URL instead. Emulators such as moto hand out `https://sqs.<region>.amazonaws.com/...` URLs, so with a
 * custom endpoint the queue URL must not override it.
 */
export function createSqsClient(env: Readonly<Record<string, string | undefined>>): SQSClient {
  const customEndpoint = optionalString(env, 'AWS_ENDPOINT_URL_SQS') ?? optionalString(env, 'AWS_ENDPOINT_URL');
  return new SQSClient(customEndpoint === undefined ? {} : { useQueueUrlAsEndpoint: false });
}

export function createRequeue(client: SQSClient, queueUrl: string): Requeue {
  return async (body, delaySeconds) => {
    await client.send(
      new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(body), DelaySeconds: delaySeconds }),
    );
  };
}
