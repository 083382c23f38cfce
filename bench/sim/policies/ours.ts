/**
 * This library's autoscaler, run for real: every scheduled invocation calls the handler that
 * `lambda/autoscaler/index.ts` builds (`createHandler`), so the simulated ticks go through the same
 * poll loop, `observeArrivals` estimate, `decide` policy and plan executor the Lambda ships. Only the
 * ports (Spacelift and the ASG), the clock, `sleep`, the logger and the metrics sink are simulated.
 *
 * Assumptions:
 * - One warm container keeps the handler (and so the arrival estimate and pending undrains) between
 *   invocations, as Lambda does with reserved concurrency 1; a cold start (fault mode) or a timeout
 *   builds a new one.
 * - The function timeout is the one the construct sets: loop + 30 s + 30 s per termination + 30 s per
 *   stray (lib/worker-pool-autoscaler.ts). An invocation still running at its timeout is killed.
 * - The pool snapshot includes `availableAt` unless the model turns it off, as the Spacelift adapter
 *   feature-detects it. The adapters' caching of the API key and JWT is not modelled (no extra calls).
 */
import { DEFAULT_METRICS_LEVEL, DEFAULT_POLL_WHEN, type AutoscalerConfig } from '../../../lambda/autoscaler/config';
import { createHandler, type AutoscalerHandler, type AutoscalerLogger } from '../../../lambda/autoscaler/handler';
import { DEFAULT_SCALING_CONFIG, validateScalingConfig, type ScalingConfig } from '../../../lambda/core/config';
import type { PollWhen } from '../../../lambda/core/next-tick';
import type { Fleet, WorkerPoolApi } from '../../../lambda/core/ports';
import type { AutoscalerMetricsLevel } from '../../../lambda/shared/metrics';
import { emptyStats, scheduleInvocations, type Policy, type PolicyStats } from '../policy';
import { OURS_LAMBDA } from '../prices';
import { deriveSeed, Rng } from '../rng';
import { attachWebhook, type WebhookModel } from '../webhook';
import { Process, type World } from '../world';

export interface OursOptions {
  readonly scaling: ScalingConfig;
  /** The Lambda's POLL_INTERVAL_SECONDS. */
  readonly pollIntervalSeconds: number;
  /** The EventBridge schedule rate. */
  readonly scheduleSeconds: number;
  /** LOOP_SECONDS; default scheduleSeconds - 10 as the construct sets it. */
  readonly loopSeconds?: number;
  /** POLL_WHEN; default DEFAULT_POLL_WHEN. */
  readonly pollWhen?: PollWhen;
  /** METRICS; default DEFAULT_METRICS_LEVEL (its CloudWatch bill counts). */
  readonly metrics?: AutoscalerMetricsLevel;
  /** Function timeout; default as the construct computes it. */
  readonly timeoutSeconds?: number;
  /** When the first invocation happens, seconds from trace start. */
  readonly phaseSeconds?: number;
  readonly label?: string;
  /** Spacelift's webhook pokes the autoscaler on run changes (webhook.ts); undefined = schedule only. */
  readonly webhook?: WebhookModel;
  /** Receives the handler's log lines (default: discarded); each gets the simulated time `t`. */
  readonly logger?: AutoscalerLogger;
}

export const DEFAULT_OURS: OursOptions = Object.freeze({
  scaling: DEFAULT_SCALING_CONFIG,
  pollIntervalSeconds: 15,
  scheduleSeconds: 60,
});

const silentLogger = { debug() {}, info() {}, warn() {}, error() {} };

function timestamped(logger: AutoscalerLogger, world: World): AutoscalerLogger {
  const at = (extra: unknown[]) => [{ t: Math.round(world.now * 10) / 10 }, ...extra];
  return {
    debug: (message: string, ...extra: unknown[]) => logger.debug(message, ...(at(extra) as [])),
    info: (message: string, ...extra: unknown[]) => logger.info(message, ...(at(extra) as [])),
    warn: (message: string, ...extra: unknown[]) => logger.warn(message, ...(at(extra) as [])),
    error: (message: string, ...extra: unknown[]) => logger.error(message, ...(at(extra) as [])),
  } as AutoscalerLogger;
}

export function describeScaling(scaling: ScalingConfig): string {
  const parts = [
    `delay ${scaling.scaleDownDelay.toString()}`,
    `maxTerminate ${scaling.maxTerminatePerTick}`,
    `maxCreate ${scaling.maxCreatePerTick ?? 'gap'}`,
  ];
  if (scaling.minIdle > 0) parts.push(`minIdle ${scaling.minIdle}`);
  if (scaling.schedule.length > 0) parts.push(`${scaling.schedule.length} floors`);
  if (scaling.demandSignal !== 'pendingRuns') parts.push(`demand ${scaling.demandSignal}`);
  if (scaling.drainedReclaimSeconds !== DEFAULT_SCALING_CONFIG.drainedReclaimSeconds) {
    parts.push(`drainedReclaim ${scaling.drainedReclaimSeconds}s`);
  }
  return parts.join(', ');
}

export function oursPolicy(options: OursOptions = DEFAULT_OURS): Policy {
  validateScalingConfig(options.scaling);
  const scheduleSeconds = options.scheduleSeconds;
  const loopSeconds = options.loopSeconds ?? Math.max(0, scheduleSeconds - 10);
  const { maxTerminatePerTick, maxStraysPerTick } = options.scaling;
  const timeoutSeconds = options.timeoutSeconds ?? loopSeconds + 30 + 30 * maxTerminatePerTick + 30 * maxStraysPerTick;
  const pollWhen = options.pollWhen ?? DEFAULT_POLL_WHEN;
  const webhook = options.webhook === undefined
    ? ''
    : `, webhook (${options.webhook.delaySeconds}s delay, ${options.webhook.minIntervalSeconds}s interval)`;
  const settings = `poll ${options.pollIntervalSeconds}s (${pollWhen}) every ${scheduleSeconds}s${webhook}, ${describeScaling(options.scaling)}`;

  return {
    label: options.label ?? 'ours',
    kind: 'ours',
    lambda: OURS_LAMBDA,
    settings,
    attach(world: World): PolicyStats {
      const stats = emptyStats();
      const rng = new Rng(deriveSeed(world.model.seed, 7));
      const config: AutoscalerConfig = {
        spacelift: { endpoint: 'https://sim.app.spacelift.io', apiKeyId: 'sim', apiKeySecretRef: 'sim', workerPoolId: 'sim-pool' },
        asgName: world.asgName,
        scaling: options.scaling,
        pollIntervalSeconds: options.pollIntervalSeconds,
        loopSeconds,
        scheduleSeconds,
        pollWhen,
        metrics: options.metrics ?? DEFAULT_METRICS_LEVEL,
      };

      /** One Lambda container: a handler and the process of its current invocation. */
      interface Container {
        proc: Process;
        readonly handler: AutoscalerHandler;
      }
      let container: Container | undefined;

      const newContainer = (): Container => {
        const self: Container = { proc: new Process('ours'), handler: undefined as unknown as AutoscalerHandler };
        const workerPool: WorkerPoolApi = {
          snapshot: () => world.call(self.proc, 'spacelift', 'spacelift.workerPool', () => world.poolSnapshot(), false),
          drain: (id) => world.call(self.proc, 'spacelift', 'spacelift.drain', () => ({ worker: world.setDrained(id, true) }), true),
          undrain: (id) => world.call(self.proc, 'spacelift', 'spacelift.undrain', () => ({ worker: world.setDrained(id, false) }), true),
        };
        const fleet: Fleet = {
          describe: () => world.call(self.proc, 'aws', 'asg.describe', () => world.describeAsg(), false),
          instanceFacts: (ids) => world.call(self.proc, 'aws', 'ec2.describeInstances', () => world.instanceFacts(ids), false),
          markRegistered: (ids) => world.call(self.proc, 'aws', 'ec2.createTags', () => world.tagRegistered(ids), true),
          setDesiredCapacity: (desired) =>
            world.call(self.proc, 'aws', 'asg.setDesiredCapacity', () => world.setDesiredCapacity(desired), true),
          terminateInstance: (id, decrement) =>
            world.call(self.proc, 'aws', 'asg.terminateInstance', () => world.terminateInAsg(id, decrement), true),
        };
        const handler = createHandler({
          workerPool,
          fleet,
          config,
          logger: options.logger ? timestamped(options.logger, world) : silentLogger,
          metrics: {
            addDimension() {},
            // What CloudWatch bills: each metric sent, for each hour of trace time in which it was sent.
            addMetric: (name: string) => {
              if (world.now >= 0) stats.metricHours.add(`${Math.floor(world.now / 3600)}:${name}`);
            },
            publishStoredMetrics() {},
          },
          clock: () => world.epochNow(),
          sleep: (ms) => world.sleep(self.proc, ms / 1000),
        });
        (self as { handler: AutoscalerHandler }).handler = handler;
        return self;
      };

      const invoker = scheduleInvocations(world, { everySeconds: scheduleSeconds, phaseSeconds: options.phaseSeconds ?? 0, maxEventAgeSeconds: 60 },
        stats, (done, event) => {
          const faults = world.model.faults;
          const coldStart = world.faultsActive() && rng.chance((faults.coldStartsPerHour * scheduleSeconds) / 3600);
          if (container === undefined || coldStart) {
            if (container !== undefined) stats.coldStarts++;
            container = newContainer();
          }
          const current = container;
          const proc = new Process('ours');
          current.proc = proc;
          const started = world.now;
          let finished = false;
          world.at(started + timeoutSeconds, () => {
            if (finished) return false;
            finished = true;
            proc.alive = false;
            stats.timeouts++;
            // Lambda discards the sandbox of a timed-out invocation: the next one starts cold.
            if (container === current) container = undefined;
            done();
            return true;
          });
          const context = { getRemainingTimeInMillis: () => Math.max(0, (started + timeoutSeconds - world.now) * 1000) };
          void current.handler(event, context).then(
            (summary) => {
              if (finished) return;
              finished = true;
              stats.errors += summary.errors;
              done();
            },
            () => {
              if (finished) return;
              finished = true;
              stats.errors++;
              done();
            },
          );
        });
      if (options.webhook !== undefined) attachWebhook(world, invoker, options.webhook);
      return stats;
    },
  };
}
