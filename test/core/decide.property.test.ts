import fc from 'fast-check';
import { decide, ScaleDownDelay, type AsgInstance, type DecisionInput, type Plan, type Worker } from '../../lambda/core';
import { ASG, instanceId, NOW } from './builders';

const STATES = [
  'Pending', 'Pending:Wait', 'Pending:Proceed', 'InService', 'Terminating', 'Terminating:Wait',
  'Terminating:Proceed', 'Terminating:Retained', 'Terminated', 'Detaching', 'Detached', 'Standby', 'EnteringStandby', 'Quarantined',
];
const LIVE = new Set(['Pending', 'Pending:Wait', 'Pending:Proceed', 'InService']);

/** Ids 1..10 exist as instances (some of them); workers may name 1..12, so some name nothing. */
const instanceArb = (n: number) =>
  fc.record({
    id: fc.constant(instanceId(n)),
    lifecycleState: fc.constantFrom(...STATES),
    launchTime: fc.option(fc.integer({ min: NOW - 5000, max: NOW + 60 }), { nil: undefined }),
    registered: fc.constantFrom(undefined, undefined, undefined, false, true),
    protectedFromScaleIn: fc.boolean(),
  });

const instancesArb = fc
  .uniqueArray(fc.integer({ min: 1, max: 10 }), { maxLength: 10 })
  .chain((ids) => fc.tuple(...ids.map(instanceArb)))
  .map((instances): AsgInstance[] => instances);

const metadataArb: fc.Arbitrary<Worker['metadata']> = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 1, max: 12 }).map((n) => ({ valid: true as const, asgName: ASG, instanceId: instanceId(n) })) },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 12 }).map((n) => ({ valid: true as const, asgName: 'other-asg', instanceId: instanceId(n) })) },
  { weight: 2, arbitrary: fc.constantFrom('no metadata', 'metadata is not JSON').map((reason) => ({ valid: false as const, reason })) },
);

const workersArb = (maxLength: number) => fc
  .array(
    fc.record({
      busy: fc.boolean(),
      drained: fc.boolean(),
      createdAt: fc.integer({ min: NOW - 10_000, max: NOW }),
      availableAt: fc.option(fc.integer({ min: NOW - 10_000, max: NOW + 30 }), { nil: undefined }),
      metadata: metadataArb,
    }),
    { maxLength },
  )
  .map((workers): Worker[] => workers.map((fields, index) => ({ id: `w${index}`, ...fields })));

const configArb = fc.record({
  minIdle: fc.integer({ min: 0, max: 4 }),
  schedule: fc.array(
    fc.record({
      timezone: fc.constantFrom('UTC', 'Europe/Berlin', 'Pacific/Auckland'),
      daysOfWeek: fc.uniqueArray(fc.integer({ min: 0, max: 7 }), { minLength: 1, maxLength: 7 }),
      start: fc.constantFrom('00:00', '08:00', '22:00'),
      end: fc.constantFrom('06:00', '18:00', '24:00'),
      minIdle: fc.integer({ min: 0, max: 5 }),
    }),
    { maxLength: 2 },
  ),
  demandSignal: fc.constantFrom('pendingRuns' as const, 'schedulableRunsCount' as const),
  maxCreatePerTick: fc.option(fc.integer({ min: 1, max: 5 }), { nil: undefined }),
  maxTerminatePerTick: fc.integer({ min: 0, max: 5 }),
  maxStraysPerTick: fc.integer({ min: 0, max: 4 }),
  registrationGraceSeconds: fc.integer({ min: 0, max: 1200 }),
  reapStrays: fc.constantFrom(true, true, true, false),
  scaleDownDelay: fc.oneof(
    fc.integer({ min: 0, max: 1000 }).map((seconds) => ScaleDownDelay.fixed(seconds)),
    fc.constant(ScaleDownDelay.breakEven()),
  ),
  drainedReclaimSeconds: fc.constantFrom(0, 60, 900, 5000),
  lostReclaimSeconds: fc.constantFrom(0, 60, 4800),
  busyFinishingWithinSeconds: fc.constantFrom(0, 75, 300),
});

/** What an earlier tick remembered: since when each of the ids 1..12 (some not in the group) was lost. */
const lostSinceArb = fc.option(
  fc.array(fc.integer({ min: NOW - 6000, max: NOW }), { minLength: 12, maxLength: 12 })
    .map((since) => new Map(since.map((at, i) => [instanceId(i + 1), at]))),
  { nil: undefined },
);

const arrivalsArb = fc.option(
  fc.record({
    at: fc.constant(NOW),
    pendingRuns: fc.constant(0),
    workers: fc.constant({}),
    weightedRate: fc.double({ min: 0, max: 0.2, noNaN: true }),
    weight: fc.constantFrom(0, 0.3, 1),
  }),
  { nil: undefined },
);

/** Anything goes: mostly inconsistent snapshots, where the policy must stay safe. */
const chaoticInputArb: fc.Arbitrary<DecisionInput> = fc.record({
  pool: fc.record({
    pendingRuns: fc.integer({ min: 0, max: 20 }),
    schedulableRunsCount: fc.option(fc.integer({ min: 0, max: 20 }), { nil: undefined }),
    workers: workersArb(14),
  }),
  // Bounds and desired are independent, so inconsistent groups (desired outside [min, max], min > max) occur.
  asg: fc.record({
    name: fc.constant(ASG),
    minSize: fc.integer({ min: 0, max: 6 }),
    maxSize: fc.integer({ min: 0, max: 12 }),
    desiredCapacity: fc.integer({ min: 0, max: 15 }),
    instances: instancesArb,
  }),
  config: configArb,
  now: fc.integer({ min: NOW, max: NOW + 7 * 86_400 }),
  arrivals: arrivalsArb,
  lostSince: lostSinceArb,
});

/**
 * A settled group (every instance InService with its own worker, desired = instance count) plus
 * stray workers of all kinds, and maybe instances that lost their worker: the shape in which scale-in
 * (and the reclaim of lost instances) actually happens.
 */
const settledInputArb: fc.Arbitrary<DecisionInput> = fc
  .integer({ min: 1, max: 8 })
  .chain((size) =>
    fc.record({
      owners: fc.array(
        fc.record({
          busy: fc.boolean(),
          drained: fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
          createdAt: fc.integer({ min: NOW - 10_000, max: NOW }),
          availableAt: fc.option(fc.integer({ min: NOW - 10_000, max: NOW }), { nil: undefined }),
          protectedFromScaleIn: fc.boolean(),
        }),
        { minLength: size, maxLength: size },
      ),
      extras: workersArb(3),
      lost: fc.integer({ min: 0, max: 2 }),
      lostSince: lostSinceArb,
      minSize: fc.integer({ min: 0, max: size }),
      maxSize: fc.integer({ min: size, max: 12 }),
      pendingRuns: fc.integer({ min: 0, max: 3 }),
      config: configArb,
      arrivals: arrivalsArb,
    }),
  )
  .map(({ owners, extras, lost, lostSince, minSize, maxSize, pendingRuns, config, arrivals }) => {
    const instances: AsgInstance[] = [
      ...owners.map((owner, n) => ({
        id: instanceId(n + 1),
        lifecycleState: 'InService',
        launchTime: NOW - 20_000,
        protectedFromScaleIn: owner.protectedFromScaleIn,
      })),
      ...Array.from({ length: lost }, (_, n) => ({
        id: instanceId(owners.length + n + 1), lifecycleState: 'InService', launchTime: NOW - 20_000, registered: true, protectedFromScaleIn: true,
      })),
    ];
    const workers: Worker[] = [
      ...owners.map(({ busy, drained, createdAt, availableAt }, n) => ({
        id: `owner${n}`,
        busy,
        drained,
        createdAt,
        availableAt,
        metadata: { valid: true as const, asgName: ASG, instanceId: instanceId(n + 1) },
      })),
      ...extras,
    ];
    return {
      pool: { pendingRuns, workers },
      asg: { name: ASG, minSize, maxSize: Math.max(maxSize, instances.length), desiredCapacity: instances.length, instances },
      config,
      now: NOW,
      arrivals,
      lostSince,
    };
  });

const inputArb = fc.oneof(chaoticInputArb, settledInputArb);

/** Every safety rule the plan breaks, as readable lines (one cheap assertion per run keeps 1500 runs fast). */
function violations(input: DecisionInput, plan: Plan): string[] {
  const { pool, asg, config } = input;
  const broken: string[] = [];
  const rule = (holds: boolean, message: string) => {
    if (!holds) broken.push(message);
  };
  const instanceById = new Map(asg.instances.map((instance) => [instance.id, instance]));
  const thisAsgClaims = (id: string) =>
    pool.workers.filter((worker) => worker.metadata.valid && worker.metadata.asgName === ASG && worker.metadata.instanceId === id);

  // Desired capacity: only raised, only within [min, max].
  if (plan.desiredCapacity !== undefined) {
    rule(plan.desiredCapacity > asg.desiredCapacity, 'desired lowered or unchanged but set');
    rule(plan.desiredCapacity <= asg.maxSize, 'desired above max');
    rule(plan.desiredCapacity >= asg.minSize, 'desired below min');
  }
  rule(plan.scaleOutBy === (plan.desiredCapacity ?? asg.desiredCapacity) - asg.desiredCapacity, 'scaleOutBy does not match');

  const scaleIn = plan.terminate.filter((t) => t.kind === 'scaleIn');
  const reclaims = plan.terminate.filter((t) => t.kind === 'reclaim');
  const releases = plan.terminate.filter((t) => t.kind === 'releaseRetained');
  rule(scaleIn.length + reclaims.length + releases.length === plan.terminate.length, 'a termination of unknown kind');
  rule(plan.terminate.findIndex((t) => t.kind === 'scaleIn') < 0 || !plan.terminate.slice(plan.terminate.findIndex((t) => t.kind === 'scaleIn')).some((t) => t.kind !== 'scaleIn'),
    'repairs not ahead of scale-in');
  rule(plan.desiredCapacity === undefined || scaleIn.length === 0, 'scales out and in at once');

  // Every termination: each instance once, and decrements never take desired (after the scale-out) below min.
  const target = plan.desiredCapacity ?? asg.desiredCapacity;
  const decrements = plan.terminate.filter((t) => t.decrement).length;
  const lostDecrements = plan.lostReclaims.filter((l) => l.decrement).length;
  rule(decrements + lostDecrements === 0 || target - decrements - lostDecrements >= asg.minSize, 'terminates below min size');
  rule(new Set(plan.terminate.map((t) => t.instanceId)).size === plan.terminate.length, 'an instance terminated twice');

  // Scale-in: capped, and only idle, undrained, valid workers of this ASG alone on an InService instance.
  rule(scaleIn.length <= config.maxTerminatePerTick, 'more terminations than maxTerminatePerTick');
  rule(scaleIn.length <= Math.max(0, plan.counts.capacity - plan.counts.demand), 'terminates below demand');
  for (const termination of scaleIn) {
    const worker = pool.workers.find((w) => w.id === termination.workerId);
    const claims = thisAsgClaims(termination.instanceId);
    rule(worker !== undefined && claims.length === 1 && claims[0] === worker, `${termination.workerId}: not the only worker of this ASG on its instance`);
    rule(termination.otherWorkerIds.length === 0, `${termination.workerId}: scale-in names other workers`);
    rule(worker?.busy === false, `${termination.workerId}: busy worker terminated`);
    rule(worker?.drained === false, `${termination.workerId}: drained worker terminated`);
    rule(instanceById.get(termination.instanceId)?.lifecycleState === 'InService', `${termination.workerId}: instance not InService`);
    rule(termination.decrement, `${termination.workerId}: terminated without decrement`);
  }

  // Reclaims: on, within the repairs cap, InService, and every worker of this ASG naming the instance (and no
  // other) drained and idle for the grace; decrement whenever that keeps desired at or above min size.
  rule(reclaims.length === 0 || config.drainedReclaimSeconds > 0, 'reclaims while drainedReclaimSeconds is 0');
  rule(plan.strays.length + reclaims.length + releases.length + plan.lostReclaims.length <= config.maxStraysPerTick, 'more repairs than maxStraysPerTick');
  rule(plan.counts.reclaiming === reclaims.length && reclaims.length <= plan.counts.drained, 'reclaims miscounted');
  for (const [index, termination] of reclaims.entries()) {
    const named = [termination.workerId, ...termination.otherWorkerIds];
    const claims = thisAsgClaims(termination.instanceId);
    rule(claims.length === named.length && claims.every((w) => named.includes(w.id)), `${termination.instanceId}: reclaim does not name exactly the instance's workers`);
    rule(claims.every((w) => w.drained && !w.busy), `${termination.instanceId}: reclaims a busy or undrained worker`);
    rule(claims.every((w) => input.now - (w.availableAt ?? w.createdAt) >= config.drainedReclaimSeconds), `${termination.instanceId}: reclaimed within the grace`);
    rule(instanceById.get(termination.instanceId)?.lifecycleState === 'InService', `${termination.instanceId}: reclaimed instance not InService`);
    rule(termination.decrement === (target - (index + 1) >= asg.minSize), `${termination.instanceId}: wrong decrement for a reclaim`);
  }

  // Releases of retained instances: retained, named by at least one worker of this ASG, every such worker named, no
  // worker of another group naming it and none with invalid metadata that may run on it; drained ones all idle unless
  // one is still to drain (the executor drains, and terminates on a later tick); never a decrement.
  rule(plan.counts.releasing === releases.length && releases.length <= plan.counts.retained, 'releases miscounted');
  rule(plan.counts.retained === asg.instances.filter((i) => i.lifecycleState === 'Terminating:Retained').length, 'retained miscounted');
  for (const termination of releases) {
    const named = [termination.workerId, ...termination.otherWorkerIds];
    const claims = thisAsgClaims(termination.instanceId);
    const instance = instanceById.get(termination.instanceId);
    rule(claims.length > 0 && claims.length === named.length && claims.every((w) => named.includes(w.id)),
      `${termination.instanceId}: release does not name exactly the instance's workers`);
    rule(claims.some((w) => !w.drained) || claims.every((w) => !w.busy), `${termination.instanceId}: releases a drained instance with a busy worker`);
    rule(!pool.workers.some((w) => w.metadata.valid && w.metadata.asgName !== ASG && w.metadata.instanceId === termination.instanceId),
      `${termination.instanceId}: releases an instance another group's worker names`);
    rule(!pool.workers.some((w) => !w.metadata.valid && (instance?.launchTime === undefined || w.createdAt >= instance.launchTime)),
      `${termination.instanceId}: releases an instance a worker with invalid metadata may run on`);
    rule(instance?.lifecycleState === 'Terminating:Retained', `${termination.instanceId}: released instance not retained`);
    rule(!termination.decrement, `${termination.instanceId}: release decrements desired capacity`);
  }

  // Strays: capped, live, past the grace period, and no worker of this ASG names them.
  rule(plan.strays.length <= config.maxStraysPerTick, 'more strays than maxStraysPerTick');
  for (const stray of plan.strays) {
    const instance = instanceById.get(stray.instanceId);
    rule(instance !== undefined && LIVE.has(instance.lifecycleState), `${stray.instanceId}: stray not live`);
    rule(instance?.launchTime === stray.launchTime && input.now - stray.launchTime >= config.registrationGraceSeconds, `${stray.instanceId}: stray within grace`);
    rule(thisAsgClaims(stray.instanceId).length === 0, `${stray.instanceId}: stray has a worker of this ASG`);
    rule(instance?.registered !== true, `${stray.instanceId}: stray had a worker before`);
    rule(config.reapStrays, `${stray.instanceId}: stray reaped while reapStrays is off`);
    rule(!plan.terminate.some((t) => t.instanceId === stray.instanceId), `${stray.instanceId}: both stray and terminated`);
    rule(
      !pool.workers.some((w) => !w.metadata.valid && w.createdAt >= stray.launchTime),
      `${stray.instanceId}: stray may run a worker with invalid metadata`,
    );
  }

  // Lost reclaims: on, InService, registered, no worker of this ASG and none with invalid metadata that may be on it,
  // lost since an earlier tick for lostReclaimSeconds; with decrement whenever desired stays at or above min size.
  const invalidMayRunOn = (launchTime: number | undefined) =>
    pool.workers.some((w) => !w.metadata.valid && (launchTime === undefined || w.createdAt >= launchTime));
  for (const [index, lost] of plan.lostReclaims.entries()) {
    const instance = instanceById.get(lost.instanceId);
    const since = input.lostSince?.get(lost.instanceId);
    rule(config.reapStrays && config.lostReclaimSeconds > 0, `${lost.instanceId}: lost reclaimed while off`);
    rule(instance?.lifecycleState === 'InService' && instance.registered === true, `${lost.instanceId}: lost reclaim not InService or never registered`);
    rule(thisAsgClaims(lost.instanceId).length === 0, `${lost.instanceId}: lost reclaim has a worker of this ASG`);
    rule(!invalidMayRunOn(instance?.launchTime), `${lost.instanceId}: lost reclaim may run a worker with invalid metadata`);
    rule(since !== undefined && since === lost.lostSince && input.now - since >= config.lostReclaimSeconds, `${lost.instanceId}: lost reclaimed too early`);
    rule(!plan.terminate.some((t) => t.instanceId === lost.instanceId) && !plan.strays.some((t) => t.instanceId === lost.instanceId),
      `${lost.instanceId}: lost reclaim planned twice`);
    rule(lost.decrement === (target - decrements - (index + 1) >= asg.minSize), `${lost.instanceId}: wrong decrement for a lost reclaim`);
  }
  for (const [id] of plan.lostSince) {
    const instance = instanceById.get(id);
    rule(instance !== undefined, `${id}: remembered as lost but not in the group`);
  }

  // Bookkeeping adds up.
  const { counts } = plan;
  // Strays count as being replaced only when a stray can be replaced this tick: reaping on, and no failed read.
  const failedReadNow = plan.readFailure !== undefined;
  rule(counts.replacingStrays === (config.maxStraysPerTick > 0 && config.reapStrays && !failedReadNow ? counts.strays : 0), 'strays replaced without reaping');

  // A failed read (no live instance with a worker of this ASG, or one with invalid metadata that may be on it, while
  // one had a worker before) removes nothing.
  const live = asg.instances.filter((i) => LIVE.has(i.lifecycleState));
  const failedRead = !live.some((i) => thisAsgClaims(i.id).length > 0 || invalidMayRunOn(i.launchTime)) && live.some((i) => i.registered === true);
  rule((plan.readFailure !== undefined) === failedRead, 'failed read not recognised, or recognised wrongly');
  if (failedRead) rule(plan.terminate.length === 0 && plan.strays.length === 0, 'removes instances on a failed read');
  // ...but for the one blind reclaim (lost.ts planBlindReclaim): at most one lost instance, with runs queued at max size.
  if (failedRead) {
    rule(plan.lostReclaims.length === 0 || (plan.lostReclaims.length === 1 && counts.pending > 0 && counts.desired + plan.scaleOutBy >= asg.maxSize),
      'a blind reclaim beyond its bounds');
  }
  // Instances past the grace that workers with invalid metadata may serve count, but no more than there are such workers.
  const servingInvalid = pool.workers.filter((w) => !w.metadata.valid && !w.drained).length;
  rule(counts.capacity === counts.registered + counts.launching + counts.replacingStrays + Math.min(counts.unidentified, servingInvalid),
    'capacity does not add up');
  rule(counts.demand === counts.busy + counts.pending + counts.minIdle, 'demand does not add up');
  rule(plan.invalidWorkers.length === pool.workers.filter((w) => !w.metadata.valid).length, 'invalid workers miscounted');
  rule(plan.foreignWorkers === pool.workers.filter((w) => w.metadata.valid && w.metadata.asgName !== ASG).length, 'foreign workers miscounted');
  return broken;
}

describe('decide, over random snapshots', () => {
  /** Runs the property; returns how often each action happened, so it is known not to hold vacuously. */
  function checkRules(seed?: number) {
    const seen = {
      scaleOut: 0, terminate: 0, strays: 0, reclaims: 0, reclaimsAtMin: 0, releases: 0, failedReads: 0, lostReclaims: 0, unidentified: 0,
    };
    fc.assert(
      fc.property(inputArb, (input) => {
        const plan = decide(input);
        seen.scaleOut += plan.desiredCapacity === undefined ? 0 : 1;
        seen.terminate += plan.terminate.some((t) => t.kind === 'scaleIn') ? 1 : 0;
        seen.reclaims += plan.terminate.some((t) => t.kind === 'reclaim') ? 1 : 0;
        seen.reclaimsAtMin += plan.terminate.some((t) => t.kind === 'reclaim' && !t.decrement) ? 1 : 0;
        seen.releases += plan.terminate.some((t) => t.kind === 'releaseRetained') ? 1 : 0;
        seen.strays += plan.strays.length > 0 ? 1 : 0;
        seen.failedReads += plan.readFailure === undefined ? 0 : 1;
        seen.lostReclaims += plan.lostReclaims.length > 0 ? 1 : 0;
        seen.unidentified += plan.counts.unidentified > 0 ? 1 : 0;
        expect(violations(input, plan)).toEqual([]);
      }),
      { numRuns: 1500, ...(seed === undefined ? {} : { seed }) },
    );
    return seen;
  }

  test('never breaks a safety rule', () => {
    // New cases every run; which actions they reach varies, and a rare one (a reclaim at min size) may be missing.
    checkRules();
  });

  test('never breaks a safety rule, over a fixed sample that reaches every kind of action', () => {
    const seen = checkRules(20261126);
    expect(seen.scaleOut).toBeGreaterThan(100);
    expect(seen.terminate).toBeGreaterThan(20);
    expect(seen.strays).toBeGreaterThan(100);
    expect(seen.reclaims).toBeGreaterThan(20);
    expect(seen.reclaimsAtMin).toBeGreaterThan(0);
    expect(seen.releases).toBeGreaterThan(5);
    expect(seen.failedReads).toBeGreaterThan(20);
    expect(seen.lostReclaims).toBeGreaterThan(20);
    expect(seen.unidentified).toBeGreaterThan(20);
  });

  test('an empty or partial worker list never leads to terminating an instance whose worker is busy', () => {
    // The truth: a settled group, every instance with its worker, some busy, all seen before (so tagged). The
    // snapshot the policy gets: the same, minus all or some workers, and maybe with invalid metadata for some.
    const degradedArb = fc.integer({ min: 1, max: 8 }).chain((size) => fc.record({
      truth: fc.array(fc.record({ busy: fc.boolean(), idleFor: fc.integer({ min: 0, max: 5000 }) }), { minLength: size, maxLength: size }),
      read: fc.array(fc.constantFrom('listed', 'missing', 'invalid'), { minLength: size, maxLength: size }),
      empty: fc.boolean(),
      strays: fc.integer({ min: 0, max: 2 }),
      pendingRuns: fc.integer({ min: 0, max: 3 }),
      minSize: fc.integer({ min: 0, max: 2 }),
      config: configArb,
    }));
    let degraded = 0;
    fc.assert(
      fc.property(degradedArb, ({ truth, read, empty, strays, pendingRuns, minSize, config }) => {
        const instances: AsgInstance[] = [
          ...truth.map((_, n) => ({ id: instanceId(n + 1), lifecycleState: 'InService', launchTime: NOW - 20_000, registered: true, protectedFromScaleIn: true })),
          // Boots that failed: never registered, so never tagged.
          ...Array.from({ length: strays }, (_, n) => ({ id: instanceId(20 + n), lifecycleState: 'InService', launchTime: NOW - 20_000, protectedFromScaleIn: true })),
        ];
        const workers: Worker[] = empty ? [] : truth.flatMap(({ busy, idleFor }, n): Worker[] => {
          const base = { id: `w${n}`, busy, drained: false, createdAt: NOW - 19_000, availableAt: busy ? undefined : NOW - idleFor };
          if (read[n] === 'missing') return [];
          if (read[n] === 'invalid') return [{ ...base, metadata: { valid: false, reason: 'no metadata' } }];
          return [{ ...base, metadata: { valid: true, asgName: ASG, instanceId: instanceId(n + 1) } }];
        });
        if (workers.length < truth.length || workers.some((w) => !w.metadata.valid)) degraded++;
        // The registration memory is only there for instances the snapshot shows without a worker (as the tick fills it).
        const claimed = new Set(workers.flatMap((w) => (w.metadata.valid ? [w.metadata.instanceId] : [])));
        const asg = {
          name: ASG,
          minSize: Math.min(minSize, instances.length),
          maxSize: 12,
          desiredCapacity: instances.length,
          instances: instances.map(({ registered, ...rest }) => (claimed.has(rest.id) ? rest : { ...rest, registered })),
        };
        const plan = decide({ pool: { pendingRuns, workers }, asg, config, now: NOW });
        const busyInstances = new Set(truth.flatMap(({ busy }, n) => (busy ? [instanceId(n + 1)] : [])));
        const removed = [...plan.terminate, ...plan.strays, ...plan.lostReclaims].map((t) => t.instanceId);
        expect(removed.filter((id) => busyInstances.has(id))).toEqual([]);
      }),
      { numRuns: 1500 },
    );
    expect(degraded).toBeGreaterThan(500);
  });
});
