/**
 * Spacelift's `run_updated` webhook, as the library's endpoint (lambda/webhook) relays it: every run that becomes
 * ready for a worker pokes the autoscaler `delaySeconds` later (Spacelift's delivery, the function URL, and the
 * asynchronous invoke), at most once per `minIntervalSeconds` (the endpoint's rate limit: the first run inside an
 * interval sends a trailing poke whose tick waits for the interval's end; later ones are coalesced). A poke while
 * an invocation runs is throttled and retried when it ends, as for the schedule (policy.ts).
 *
 * Runs that finish do not poke: a look right after a run ends would release its idle worker (scale-down delay 0)
 * seconds before a dependent stack's run is queued, which then pays a boot (measured: +8-10% instance-hours on the
 * dependency-chain traces when finishes poked too). The endpoint ignores such states, and the README's notification
 * policy sends only runs that become ready.
 *
 * The rate limit is one container's: the endpoint has ten, so a burst of deliveries can poke a few times more, which
 * only adds short invocations (they run one after the other).
 *
 * Assumption: every delivery arrives (Spacelift retries 5xx up to 3 times); the scheduled invocations stay as the
 * fallback either way.
 */
import { pokeEvent } from '../../lambda/shared/poke';
import { NO_POKE_YET, rateLimit } from '../../lambda/webhook/rate-limit';
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
  // The endpoint's own rate limit (lambda/webhook/rate-limit.ts), in trace time; the autoscaler's handler does the
  // waiting for a trailing poke, billed as Lambda time.
  let rate = NO_POKE_YET;
  world.onRunChange((change) => {
    if (change !== 'queued') return;
    // The endpoint decides when the delivery reaches it.
    world.at(world.now + webhook.delaySeconds, () => {
      const decision = rateLimit(rate, world.now, webhook.minIntervalSeconds);
      if (decision.kind === 'coalesce') return;
      rate = decision.next;
      const { notBefore } = decision;
      // The event carries epoch seconds, as the autoscaler's clock reads them.
      invoker.invokeNow(pokeEvent(world.epochNow(), notBefore === undefined ? undefined : world.epochNow() + (notBefore - world.now)));
    });
  });
}
