/**
 * What the autoscaler remembers about registrations, and when it does not trust a snapshot.
 *
 * The worker list is the only evidence that an instance runs a worker, and Spacelift can get it wrong: an API
 * glitch or partial outage can list fewer workers than there are, or none. Reaping an instance because its
 * worker is missing from one list would kill a busy run without a drain. Two rules stop that:
 *
 * 1. An instance that was ever seen with a worker of this group is never a "never registered" stray. The memory
 *    must outlive the Lambda container (the autoscaler runs one ~55 s invocation a minute, and a cold start
 *    forgets everything), so it is an EC2 tag on the instance, REGISTERED_TAG_KEY, written by the autoscaler
 *    the first time it sees the instance's worker; the container's own memory covers a tag write that failed.
 *    Reading it costs nothing extra: the tick already describes the instances without a worker (for their
 *    launch times), and the tag comes with them. We chose the tag over the alternatives: worker metadata
 *    names the instance only while the worker is listed, which is exactly what fails; and a rule without memory
 *    cannot tell an instance whose boot failed from one whose busy worker the list omitted. Such an instance
 *    ("lost") is not capacity and is never a stray: its worker died (the launcher then powers the instance off,
 *    unless powerOffOnError is false, which keeps it on purpose), wedged, or is still there. Only once it has
 *    been lost on every trusted read for `lostReclaimSeconds` is it terminated, through the lifecycle hook
 *    (lost.ts).
 * 2. A snapshot in which no live instance has a worker of this group while some instance had one is a failed
 *    read: every worker lost at once is far likelier a bad answer than a fleet-wide crash. The tick then
 *    carries out no scale-in, stray replacement or reclaim, and logs and meters the failure. Scale-out still
 *    happens: adding capacity never kills a run. One exception, for liveness (lost.ts `planBlindReclaim`): after
 *    `lostReclaimSeconds` of failed reads in a row, with runs queued at max size, one lost instance per
 *    `lostReclaimSeconds`, or a pool whose every worker did die would never recover.
 * 3. A list that shows fewer busy workers than Spacelift's own count of them (`busyWorkers`, asked with the list)
 *    misses a busy worker, so its instance may look worker-less (`partialList`): that tick terminates nothing that no
 *    listed worker stands for (strays, lost and retained instances). Scale-in and reclaims go on: they act only on
 *    listed workers, each re-checked with a drain.
 *
 * A worker with invalid metadata names no instance, so every live instance it may run on (launched before it
 * registered, with no worker of its own) is remembered the same way: once a list has shown such a worker busy,
 * a later list that omits it cannot turn its instance into a stray. While a listed worker with invalid metadata
 * may run on a remembered instance, that instance is not lost but "unidentified": it counts as capacity (as
 * booting within the grace; after it, at most one instance per such worker), and a list showing such a worker
 * is no failed read. Without this, a launcher that writes bad metadata (a custom AMI) would tag every instance
 * with its own invalid worker, each would stop counting as capacity, and the pool would scale out on every
 * boot up to max size while every read counted as failed, which stops scale-in and repairs for good. We kept
 * the memory rather than drop it for invalid workers (planStrays and the executor keep a stray an invalid
 * worker listed now may run on): without it, a list that omits such a busy worker, twice in a row, would let
 * its instance be reaped as a stray without a drain. An instance is unidentified only while the list shows
 * such a worker that may be on it; when none is, it is lost again, which is the safe side: not capacity,
 * and reclaimed only through the hook, and only after `lostReclaimSeconds`. What such a pool still lacks: a
 * busy worker with invalid metadata is not demand (nothing says which instance it keeps busy), so the pool
 * keeps no idle worker above its busy ones and launches for queued runs only once they outnumber its
 * instances; and it never scales in. Fixing the launcher's metadata is the cure, which the log says every tick.
 *
 * A worker omitted from every list since it registered stays indistinguishable from a boot that failed; the
 * executor's re-check against a second snapshot, taken just before a stray is terminated, narrows that window.
 * So does a third rule, for the one gap in the memory (a tag write that failed, then a cold start): a process
 * reaps no stray before it has read snapshots for a whole registration grace itself, so any worker registered
 * in that time had a grace's worth of lists to show up in (`DecisionInput.watchingSince`).
 */
import { isLive } from './capacity';
import { invalidWorkerMayRunOn } from './strays';
import type { AsgInstance, AsgSnapshot, PoolSnapshot } from './types';

export { REGISTERED_TAG_KEY } from './registration-tag';

/**
 * The live instances to remember as registered (rule 1): those a worker of this group names, and those without
 * one that a worker with invalid metadata may run on. An instance of unknown launch time is only remembered
 * once its worker names it.
 */
export function instancesToRemember(pool: PoolSnapshot, asg: AsgSnapshot): string[] {
  const claimed = claimedInstances(pool, asg.name);
  return asg.instances.filter(isLive).flatMap((instance) =>
    claimed.has(instance.id) ||
    (instance.launchTime !== undefined && invalidWorkerMayRunOn(instance.launchTime, pool.workers))
      ? [instance.id]
      : []);
}

/** Instances named by a worker of this group with valid metadata. */
export function claimedInstances(pool: PoolSnapshot, asgName: string): Set<string> {
  const claimed = new Set<string>();
  for (const worker of pool.workers) {
    if (worker.metadata.valid && worker.metadata.asgName === asgName) claimed.add(worker.metadata.instanceId);
  }
  return claimed;
}

/**
 * Why the worker list is partial, or undefined: it shows fewer busy workers than Spacelift counts, so a busy worker
 * is missing from it (a run starting between the count and the list errs the same, safe, way).
 */
export function partialList(pool: PoolSnapshot): string | undefined {
  if (pool.busyWorkers === undefined) return undefined;
  const listed = pool.workers.filter((worker) => worker.busy).length;
  if (listed >= pool.busyWorkers) return undefined;
  return `partial list: Spacelift counts ${pool.busyWorkers} busy workers but lists ${listed}`;
}

/**
 * Why the snapshot is a failed read (rule 2), or undefined when it can be acted on. `asg.instances` carry
 * `registered` for the instances without a worker. A worker with invalid metadata that may run on a live
 * instance counts as a worker shown on it.
 */
export function readFailure(pool: PoolSnapshot, asg: AsgSnapshot): string | undefined {
  const claimed = claimedInstances(pool, asg.name);
  const live = asg.instances.filter(isLive);
  const shown = (instance: AsgInstance) => claimed.has(instance.id) || invalidWorkerMayRunOn(instance.launchTime, pool.workers);
  if (live.some(shown)) return undefined;
  const lost = live.filter((instance) => instance.registered === true);
  if (lost.length === 0) return undefined;
  return (
    `failed read: the snapshot shows no worker on any live instance (${pool.workers.length} workers listed) while ` +
    `${lost.length} had one (${lost.slice(0, 5).map((i) => i.id).join(', ')}${lost.length > 5 ? ', ...' : ''}); ` +
    'no scale-in, stray replacement or reclaim this tick'
  );
}
