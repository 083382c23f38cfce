/**
 * A model of Spacelift's own autoscaler, `ec2-workerpool-autoscaler` v2.7/v2.8 (Go), written from
 * the description of its `Scale` and `Decide` in shared/research/spacelift-ec2.md §4.5-§4.7. No code
 * of that project is used. Every assumption the description leaves open is marked ASSUMPTION.
 *
 * One invocation per EventBridge `rate(1 minute)`; each does exactly one `Scale`:
 *   setup: SSM GetParameter (API key) and the apiKeyUser JWT exchange (two calls per invocation)
 *   pool  = workerPool { pendingRuns workers } with drained workers filtered out, sorted by createdAt
 *   asg   = DescribeAutoScalingGroups
 *   sanity reset: if desired - (ceil((valid + pending) * 100 / util) + MAX_CREATE) >= 10 and desired > min,
 *                 SetDesiredCapacity(clamp(that, min, max)) -- lowering it lets AWS pick the victims
 *   strays: InService instances without a worker -> DescribeInstances -> older than 10 min ->
 *           kill without decrement (the ASG replaces them)
 *   Decide: valid workers != desired -> nothing (the freeze)
 *           demand = busy + pending; target = ceil(demand * 100 / util); diff = target - valid
 *           diff = max(diff, min - desired)
 *           diff > 0 -> up by min(diff, MAX_CREATE), capped at max size; none if valid >= max
 *           diff < 0 -> idle workers whose idle-since + delay has passed, oldest createdAt first;
 *                       none if valid <= min; n = min(-diff, eligible, MAX_KILL, desired - min)
 *   down:  per worker: drain; if the reply says busy, undrain and skip; else kill with decrement
 *          (v2.7: DetachInstances(decrement) then TerminateInstances; v2.8: TerminateInstanceInAutoScalingGroup)
 */
import type { Worker } from '../../../lambda/core/types';
import { emptyStats, scheduleInvocations, type Policy, type PolicyStats } from '../policy';
import { SPACELIFT_LAMBDA } from '../prices';
import { Process, type World } from '../world';

export interface SpaceliftV2Options {
  /** AUTOSCALING_MAX_CREATE (default 1). */
  readonly maxCreate: number;
  /** AUTOSCALING_MAX_KILL (default 1). */
  readonly maxKill: number;
  /** AUTOSCALING_SCALE_DOWN_DELAY in minutes (default 0). */
  readonly scaleDownDelayMinutes: number;
  /** AUTOSCALING_SCALE_DOWN_DELAY_USE_IDLE_TIME (default false: the delay counts from createdAt). */
  readonly useIdleTime: boolean;
  /** AUTOSCALING_TARGET_UTILIZATION_PERCENT (default 100; <=0 or >100 means 100). */
  readonly targetUtilizationPercent: number;
  /** AUTOSCALING_CAPACITY_SANITY_CHECK (default 10; 0 also means 10). */
  readonly sanityThreshold: number;
  /** Hard-coded stray age: 10 minutes. */
  readonly strayAgeSeconds: number;
  /** 2.7: detach then terminate (two calls, a zombie if the second fails); 2.8: one atomic call. */
  readonly version: '2.7' | '2.8';
  readonly scheduleSeconds: number;
  readonly phaseSeconds?: number;
  /** The Terraform module's default function timeout: 30 s (TFM PR #80). */
  readonly timeoutSeconds: number;
  readonly label?: string;
}

export const SPACELIFT_V2_DEFAULTS: SpaceliftV2Options = Object.freeze({
  maxCreate: 1,
  maxKill: 1,
  scaleDownDelayMinutes: 0,
  useIdleTime: false,
  targetUtilizationPercent: 100,
  sanityThreshold: 10,
  strayAgeSeconds: 600,
  version: '2.8',
  scheduleSeconds: 60,
  timeoutSeconds: 30,
});

type Decision = { kind: 'none'; reason: string } | { kind: 'up'; n: number } | { kind: 'down'; n: number; workers: Worker[] };

export interface DecideInput {
  readonly validWorkers: readonly Worker[];
  readonly pendingRuns: number;
  readonly desired: number;
  readonly min: number;
  readonly max: number;
  /** Epoch seconds. */
  readonly now: number;
  readonly options: SpaceliftV2Options;
}

function utilization(options: SpaceliftV2Options): number {
  const pct = options.targetUtilizationPercent;
  return pct <= 0 || pct > 100 ? 100 : pct;
}

/** The `Decide` step alone (exported for tests). */
export function decideV2(input: DecideInput): Decision {
  const { validWorkers, pendingRuns, desired, min, max, now, options } = input;
  const valid = validWorkers.length;
  if (valid !== desired) return { kind: 'none', reason: 'number of valid workers does not match the desired capacity' };
  const busy = validWorkers.filter((w) => w.busy).length;
  const target = Math.ceil(((busy + pendingRuns) * 100) / utilization(options));
  let diff = target - valid;
  diff = Math.max(diff, min - desired);
  if (diff > 0) {
    if (valid >= max) return { kind: 'none', reason: 'at max size' };
    let n = Math.min(diff, options.maxCreate);
    if (desired + n > max) n = max - desired;
    return n > 0 ? { kind: 'up', n } : { kind: 'none', reason: 'at max size' };
  }
  if (diff < 0) {
    const delay = options.scaleDownDelayMinutes * 60;
    // ASSUMPTION: "idleSince(+delay) passed" means idleSince + delay <= now; idleSince is
    // availableAt with USE_IDLE_TIME (falling back to createdAt when absent), else createdAt.
    const scalable = validWorkers.filter((w) => {
      if (w.busy) return false;
      const idleSince = options.useIdleTime ? (w.availableAt ?? w.createdAt) : w.createdAt;
      return idleSince + delay <= now;
    });
    if (scalable.length === 0) return { kind: 'none', reason: 'no idle worker past the scale-down delay' };
    let n = Math.min(-diff, scalable.length);
    if (valid <= min) return { kind: 'none', reason: 'at min size' };
    n = Math.min(n, options.maxKill, desired - min);
    // Oldest first: the pool is sorted by createdAt ascending.
    return n > 0 ? { kind: 'down', n, workers: scalable.slice(0, n) } : { kind: 'none', reason: 'at min size' };
  }
  return { kind: 'none', reason: 'capacity matches demand' };
}

export function spaceliftV2Policy(overrides: Partial<SpaceliftV2Options> = {}): Policy {
  const options: SpaceliftV2Options = { ...SPACELIFT_V2_DEFAULTS, ...overrides };
  const sanityThreshold = options.sanityThreshold === 0 ? 10 : options.sanityThreshold;
  const settings =
    `v${options.version}, MAX_CREATE ${options.maxCreate}, MAX_KILL ${options.maxKill}, ` +
    `SCALE_DOWN_DELAY ${options.scaleDownDelayMinutes}m${options.useIdleTime ? ' (idle time)' : ''}, every ${options.scheduleSeconds}s`;
  const isDefault = options.maxCreate === 1 && options.maxKill === 1 && options.scaleDownDelayMinutes === 0;

  return {
    label: options.label ?? (isDefault ? 'spacelift-v2' : `spacelift-v2 (${options.maxCreate}/${options.maxKill})`),
    kind: 'spacelift-v2',
    lambda: SPACELIFT_LAMBDA,
    settings,
    attach(world: World): PolicyStats {
      const stats = emptyStats();

      async function killInstance(proc: Process, instanceId: string, decrement: boolean): Promise<void> {
        if (options.version === '2.8') {
          await world.call(proc, 'aws', 'asg.terminateInstance', () => world.terminateInAsg(instanceId, decrement), true);
          return;
        }
        try {
          await world.call(proc, 'aws', 'asg.detachInstances', () => world.detach(instanceId, decrement), true);
        } catch (error) {
          // §4.6: "is not part of Auto Scaling group" is ignored; anything else stops here.
          if (!/not part of Auto Scaling group/i.test((error as Error).message)) throw error;
        }
        await world.call(proc, 'aws', 'ec2.terminateInstances', () => world.terminateEc2(instanceId), true);
      }

      async function scale(proc: Process): Promise<void> {
        let errors = 0;
        // Controller setup on every invocation: API key from SSM, then the JWT exchange.
        await world.call(proc, 'aws', 'ssm.getParameter', () => undefined, false);
        await world.call(proc, 'spacelift', 'spacelift.apiKeyUser', () => undefined, false);
        const pool = await world.call(proc, 'spacelift', 'spacelift.workerPool', () => world.poolSnapshot(), false);
        // ASSUMPTION: ties in createdAt (int32 seconds) keep the API's order, which is by worker id here.
        const valid = pool.workers.filter((w) => !w.drained).sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
        const asg = await world.call(proc, 'aws', 'asg.describe', () => world.describeAsg(), false);
        const byInstance = new Map<string, Worker>();
        for (const worker of valid) {
          if (worker.metadata.valid) byInstance.set(worker.metadata.instanceId, worker);
        }
        let desired = asg.desiredCapacity;
        const pendingRuns = pool.pendingRuns;

        // Sanity reset (#43, #59).
        const withHeadroom = Math.ceil(((valid.length + pendingRuns) * 100) / utilization(options));
        if (desired - (withHeadroom + options.maxCreate) >= sanityThreshold && desired > asg.minSize) {
          const target = Math.min(asg.maxSize, Math.max(asg.minSize, withHeadroom));
          try {
            await world.call(proc, 'aws', 'asg.setDesiredCapacity', () => world.setDesiredCapacity(target), true);
          } catch {
            // Errors are ignored here.
          }
          // ASSUMPTION: "asg.desired updated locally" happens whether or not the call succeeded.
          desired = target;
        }

        // Strays: InService instances no valid worker names, older than 10 minutes.
        const strayIds = asg.instances.filter((i) => i.lifecycleState === 'InService' && !byInstance.has(i.id)).map((i) => i.id);
        if (strayIds.length > 0) {
          try {
            const launched = await world.call(proc, 'aws', 'ec2.describeInstances', () => world.instanceFacts(strayIds), false);
            const now = world.epochNow();
            for (const id of strayIds) {
              const launchTime = launched.get(id)?.launchTime;
              if (launchTime === undefined || now - launchTime <= options.strayAgeSeconds) continue;
              try {
                await killInstance(proc, id, false);
              } catch {
                errors++;
              }
            }
          } catch {
            // ASSUMPTION: a failed DescribeInstances counts as an error and skips the strays this run.
            errors++;
          }
        }

        const decision = decideV2({
          validWorkers: valid,
          pendingRuns,
          desired,
          min: asg.minSize,
          max: asg.maxSize,
          now: world.epochNow(),
          options,
        });
        if (decision.kind === 'up') {
          try {
            await world.call(proc, 'aws', 'asg.setDesiredCapacity', () => world.setDesiredCapacity(desired + decision.n), true);
          } catch {
            errors++;
          }
        } else if (decision.kind === 'down') {
          for (const worker of decision.workers) {
            let reply: Worker;
            try {
              reply = await world.call(proc, 'spacelift', 'spacelift.drain', () => world.setDrained(worker.id, true), true);
            } catch {
              errors++;
              continue;
            }
            if (reply.busy) {
              try {
                await world.call(proc, 'spacelift', 'spacelift.undrain', () => world.setDrained(worker.id, false), true);
              } catch {
                errors++;
              }
              continue;
            }
            if (!worker.metadata.valid) continue;
            try {
              await killInstance(proc, worker.metadata.instanceId, true);
            } catch {
              // v2.7 with a failed terminate leaves a detached, drained, billed zombie (§4.7 #1).
              errors++;
            }
          }
        }
        stats.errors += errors;
      }

      scheduleInvocations(world, { everySeconds: options.scheduleSeconds, phaseSeconds: options.phaseSeconds ?? 0, maxEventAgeSeconds: 60 },
        stats, (done) => {
          const proc = new Process('spacelift-v2');
          let finished = false;
          const finish = () => {
            if (finished) return;
            finished = true;
            done();
          };
          world.at(world.now + options.timeoutSeconds, () => {
            if (finished) return false;
            proc.alive = false;
            stats.timeouts++;
            finish();
            return true;
          });
          void scale(proc).then(finish, () => {
            // A GraphQL or DescribeAutoScalingGroups failure fails the whole invocation.
            stats.errors++;
            finish();
          });
        });
      return stats;
    },
  };
}
