import fc from 'fast-check';
import { decide, ScaleDownDelay, type AsgInstance, type DecisionInput, type Worker } from '../../lambda/core';
import { ASG, instanceId, NOW } from './builders';

const STATES = [
  'Pending', 'Pending:Wait', 'Pending:Proceed', 'InService', 'Terminating', 'Terminating:Wait',
  'Terminating:Proceed', 'Terminated', 'Detaching', 'Detached', 'Standby', 'EnteringStandby', 'Quarantined',
];
const LIVE = new Set(['Pending', 'Pending:Wait', 'Pending:Proceed', 'InService']);

/** Ids 1..10 exist as instances (some of them); workers may name 1..12, so some name nothing. */
const instanceArb = (n: number) =>
  fc.record({
    id: fc.constant(instanceId(n)),
    lifecycleState: fc.constantFrom(...STATES),
    launchTime: fc.option(fc.integer({ min: NOW - 5000, max: NOW + 60 }), { nil: undefined }),
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
  scaleDownDelay: fc.oneof(
    fc.integer({ min: 0, max: 1000 }).map((seconds) => ScaleDownDelay.fixed(seconds)),
    fc.constant(ScaleDownDelay.breakEven()),
  ),
});

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
});

/**
 * A settled group (every instance InService with its own worker, desired = instance count) plus
 * stray workers of all kinds: the shape in which scale-in actually happens.
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
      minSize: fc.integer({ min: 0, max: size }),
      maxSize: fc.integer({ min: size, max: 12 }),
      pendingRuns: fc.integer({ min: 0, max: 3 }),
      config: configArb,
      arrivals: arrivalsArb,
    }),
  )
  .map(({ owners, extras, minSize, maxSize, pendingRuns, config, arrivals }) => {
    const instances = owners.map((owner, n) => ({
      id: instanceId(n + 1),
      lifecycleState: 'InService',
      launchTime: NOW - 20_000,
      protectedFromScaleIn: owner.protectedFromScaleIn,
    }));
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
      asg: { name: ASG, minSize, maxSize, desiredCapacity: instances.length, instances },
      config,
      now: NOW,
      arrivals,
    };
  });

const inputArb = fc.oneof(chaoticInputArb, settledInputArb);

let tDecide = 0; afterAll(() => console.log('decide ms', tDecide));
describe('x', () => {
  test('never breaks a safety rule', () => {
    // How often each action happened, so the property is known not to hold vacuously.
    const seen = { scaleOut: 0, terminate: 0, strays: 0 };
    fc.assert(
      fc.property(inputArb, (input) => {
        const { pool, asg, config } = input;
        const t0 = performance.now(); const plan = decide(input); tDecide += performance.now() - t0;
        seen.scaleOut += plan.desiredCapacity === undefined ? 0 : 1;
        seen.terminate += plan.terminate.length > 0 ? 1 : 0;
        seen.strays += plan.strays.length > 0 ? 1 : 0;
        const workerById = new Map(pool.workers.map((worker) => [worker.id, worker]));
        const instanceById = new Map(asg.instances.map((instance) => [instance.id, instance]));
        const claimedByThisAsg = new Set(
          pool.workers.flatMap((worker) => (worker.metadata.valid && worker.metadata.asgName === ASG ? [worker.metadata.instanceId] : [])),
        );

        // Desired capacity: only raised, only within [min, max].
        if (plan.desiredCapacity !== undefined) {
          expect(plan.desiredCapacity).toBeGreaterThan(asg.desiredCapacity);
          expect(plan.desiredCapacity).toBeLessThanOrEqual(asg.maxSize);
          expect(plan.desiredCapacity).toBeGreaterThanOrEqual(asg.minSize);
          expect(plan.scaleOutBy).toBe(plan.desiredCapacity - asg.desiredCapacity);
          expect(plan.terminate).toEqual([]);
        } else {
          expect(plan.scaleOutBy).toBe(0);
        }

        // Scale-in: capped, and only idle, undrained, valid workers of this ASG on their own InService instance.
        expect(plan.terminate.length).toBeLessThanOrEqual(config.maxTerminatePerTick);
        expect(plan.terminate.length).toBeLessThanOrEqual(Math.max(0, plan.counts.capacity - plan.counts.demand));
        if (plan.terminate.length > 0) {
          expect(asg.desiredCapacity - plan.terminate.length).toBeGreaterThanOrEqual(asg.minSize);
        }
        expect(new Set(plan.terminate.map((t) => t.workerId)).size).toBe(plan.terminate.length);
        expect(new Set(plan.terminate.map((t) => t.instanceId)).size).toBe(plan.terminate.length);
        for (const termination of plan.terminate) {
          const worker = workerById.get(termination.workerId)!;
          expect(worker.busy).toBe(false);
          expect(worker.drained).toBe(false);
          expect(worker.metadata).toEqual({ valid: true, asgName: ASG, instanceId: termination.instanceId });
          expect(instanceById.get(termination.instanceId)?.lifecycleState).toBe('InService');
          const sharing = pool.workers.filter((other) => other.metadata.valid && other.metadata.asgName === ASG && other.metadata.instanceId === termination.instanceId);
          expect(sharing).toEqual([worker]);
          expect(termination.decrement).toBe(true);
        }

        // Strays: capped, live, past the grace period, and no worker of this ASG names them.
        expect(plan.strays.length).toBeLessThanOrEqual(config.maxStraysPerTick);
        for (const stray of plan.strays) {
          const instance = instanceById.get(stray.instanceId)!;
          expect(LIVE.has(instance.lifecycleState)).toBe(true);
          expect(instance.launchTime).toBe(stray.launchTime);
          expect(input.now - stray.launchTime).toBeGreaterThanOrEqual(config.registrationGraceSeconds);
          expect(claimedByThisAsg.has(stray.instanceId)).toBe(false);
          expect(plan.terminate.some((t) => t.instanceId === stray.instanceId)).toBe(false);
        }

        // Bookkeeping adds up.
        const { counts } = plan;
        expect(counts.capacity).toBe(counts.registered + counts.launching + counts.strays);
        expect(counts.demand).toBe(counts.busy + counts.pending + counts.minIdle);
        expect(counts.idle).toBe(counts.registered - counts.busy);
        expect(plan.invalidWorkers.map((w) => w.workerId)).toEqual(pool.workers.filter((w) => !w.metadata.valid).map((w) => w.id));
        expect(plan.foreignWorkers).toBe(pool.workers.filter((w) => w.metadata.valid && w.metadata.asgName !== ASG).length);
      }),
      { numRuns: 1500 },
    );
    expect(seen.scaleOut).toBeGreaterThan(100);
    expect(seen.terminate).toBeGreaterThan(20);
    expect(seen.strays).toBeGreaterThan(100);
  });
});
