/**
 * Spacelift's `run_updated` webhook, as the library's endpoint (lambda/webhook) relays it: every run queued or
 * finished pokes the autoscaler `delaySeconds` later (Spacelift's delivery, the function URL, and the asynchronous
 * invoke), at most once per `minIntervalSeconds` (the endpoint's rate limit; pokes within it are coalesced). A poke
 * while an invocation runs is throttled and retried when it ends, as for the schedule (policy.ts).
 *
 * Assumption: every delivery arrives (Spacelift retries 5xx up to 3 times); the scheduled invocations stay as the
 * fallback either way.
 */
import type { Invoker } from './policy';
import type { World } from './world';

export interface WebhookModel {
  /** Run state change to autoscaler invocation. */
  readonly delaySeconds: number;
  /** The endpoint's MIN_TRIGGER_INTERVAL_SECONDS. */
  readonly minIntervalSeconds: number;
}

/** Delivery of about a second and a cold-started endpoint now and then; the endpoint's default rate limit. */
export const DEFAULT_WEBHOOK: WebhookModel = Object.freeze({ delaySeconds: 2, minIntervalSeconds: 5 });

export function attachWebhook(world: World, invoker: Invoker, webhook: WebhookModel): void {
  let lastPoke = -Infinity;
  world.onRunChange(() => {
    if (world.now - lastPoke < webhook.minIntervalSeconds) return;
    lastPoke = world.now;
    world.at(world.now + webhook.delaySeconds, () => invoker.invokeNow());
  });
}
