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
 *    ("lost") is not capacity and the autoscaler never terminates it: its worker died (the launcher then powers
 *    the instance off, unless powerOffOnError is false, which keeps it on purpose) or it is still there.
 * 2. A snapshot in which no live instance has a worker of this group while some instance had one is a failed
 *    read: every worker lost at once is far likelier a bad answer than a fleet-wide crash. The tick then
 *    carries out no scale-in, stray replacement or reclaim, and logs and meters the failure. Scale-out still
 *    happens: adding capacity never kills a run.
 *
 * A worker with invalid metadata names no instance, so every live instance it may run on (launched before it
 * registered, with no worker of its own) is remembered the same way: once a list has shown such a worker busy,
 * a later list that omits it cannot turn its instance into a stray.
 *
 * A worker omitted from every list since it registered stays indistinguishable from a boot that failed; the
 * executor's re-check against a second snapshot, taken just before a stray is terminated, narrows that window.
 * So does a third rule, for the one gap in the memory (a tag write that failed, then a cold start): a process
 * reaps no stray before it has read snapshots for a whole registration grace itself, so any worker registered
 * in that time had a grace's worth of lists to show up in (`DecisionInput.watchingSince`).
 */
import { isLive } from './capacity';
import { invalidWorkerMayRunOn } from './strays';
import type { AsgSnapshot, PoolSnapshot } from './types';

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
 * Why the snapshot is a failed read (rule 2), or undefined when it can be acted on. `asg.instances` carry
 * `registered` for the instances without a worker.
 */
export function readFailure(pool: PoolSnapshot, asg: AsgSnapshot): string | undefined {
  const claimed = claimedInstances(pool, asg.name);
  const live = asg.instances.filter(isLive);
  if (live.some((instance) => claimed.has(instance.id))) return undefined;
  const lost = live.filter((instance) => instance.registered === true);
  if (lost.length === 0) return undefined;
  return (
    `failed read: the snapshot shows no worker on any live instance (${pool.workers.length} workers listed) while ` +
    `${lost.length} had one (${lost.slice(0, 5).map((i) => i.id).join(', ')}${lost.length > 5 ? ', ...' : ''}); ` +
    'no scale-in, stray replacement or reclaim this tick'
  );
}
