/**
 * In-memory doubles for the autoscaler: both ports with scripted failures, a recording logger and a recording
 * metrics sink that keeps each published batch (one per tick).
 */
import { AutoscalerMetric, type AutoscalerMetrics } from '../../lambda/autoscaler/tick';
import type { AsgSnapshot, DrainResult, Fleet, InstanceFacts, PlanCounts, Plan, PoolSnapshot, WorkerPoolApi, Worker } from '../../lambda/core';

export { ASG, instance, invalidWorker, NOW, worker } from '../core/builders';

export function instanceId(n: number): string {
  return `i-${n.toString(16).padStart(8, '0')}`;
}

type PoolOp = 'snapshot' | 'drain' | 'undrain';

/** A pool whose calls fail when an error is queued for them. `onDrain` may change the world before the reply. */
export class InMemoryPool implements WorkerPoolApi {
  readonly calls: string[] = [];
  pendingRuns = 0;
  onDrain: ((worker: Worker) => void) | undefined;
  private readonly byId = new Map<string, Worker>();
  private readonly failures: { op: PoolOp; error: Error; applied: boolean }[] = [];

  constructor(workers: Worker[] = []) {
    for (const w of workers) this.byId.set(w.id, w);
  }

  add(w: Worker): this {
    this.byId.set(w.id, w);
    return this;
  }

  get(id: string): Worker | undefined {
    return this.byId.get(id);
  }

  update(id: string, fields: Partial<Worker>): void {
    this.byId.set(id, { ...this.byId.get(id)!, ...fields });
  }

  remove(id: string): void {
    this.byId.delete(id);
  }

  /** The next `op` call fails; `applied` makes a drain/undrain change the worker first (as a timeout may). */
  failNext(op: PoolOp, error: Error, applied = false): this {
    this.failures.push({ op, error, applied });
    return this;
  }

  /** The pool as a snapshot would show it, without a call. */
  state(): PoolSnapshot {
    return { pendingRuns: this.pendingRuns, workers: [...this.byId.values()] };
  }

  async snapshot(): Promise<PoolSnapshot> {
    this.calls.push('snapshot');
    this.fail('snapshot', () => undefined);
    return this.state();
  }

  async drain(workerId: string): Promise<DrainResult> {
    return this.setDrained(workerId, true);
  }

  async undrain(workerId: string): Promise<DrainResult> {
    return this.setDrained(workerId, false);
  }

  private setDrained(workerId: string, drained: boolean): DrainResult {
    const op = drained ? 'drain' : 'undrain';
    this.calls.push(`${op} ${workerId}`);
    const apply = () => {
      const current = this.byId.get(workerId);
      if (current === undefined) throw new Error(`could not set worker drain to ${drained}: not found`);
      this.byId.set(workerId, { ...current, drained });
    };
    this.fail(op, apply);
    apply();
    if (drained) this.onDrain?.(this.byId.get(workerId)!);
    return { worker: this.byId.get(workerId)! };
  }

  private fail(op: PoolOp, apply: () => void): void {
    const index = this.failures.findIndex((f) => f.op === op);
    if (index < 0) return;
    const [failure] = this.failures.splice(index, 1);
    if (failure.applied) apply();
    throw failure.error;
  }
}

type FleetOp = 'describe' | 'instanceFacts' | 'markRegistered' | 'setDesiredCapacity' | 'terminateInstance';

export class InMemoryFleet implements Fleet {
  readonly calls: string[] = [];
  private readonly failures: { op: FleetOp; error: Error }[] = [];

  constructor(public group: AsgSnapshot) {}

  failNext(op: FleetOp, error: Error): this {
    this.failures.push({ op, error });
    return this;
  }

  async describe(): Promise<AsgSnapshot> {
    this.record('describe', 'describe');
    return { ...this.group, instances: this.group.instances.map(({ launchTime: _, ...rest }) => rest) };
  }

  /** Instances carrying the registration tag. */
  readonly tagged = new Set<string>();

  async instanceFacts(ids: readonly string[]): Promise<ReadonlyMap<string, InstanceFacts>> {
    this.record('instanceFacts', `instanceFacts ${ids.join(',')}`);
    return new Map(this.group.instances.flatMap((i) => (ids.includes(i.id) && i.launchTime !== undefined
      ? [[i.id, { launchTime: i.launchTime, registered: this.tagged.has(i.id) }]]
      : [])));
  }

  async markRegistered(ids: readonly string[]): Promise<void> {
    this.record('markRegistered', `markRegistered ${ids.join(',')}`);
    for (const id of ids) this.tagged.add(id);
  }

  async setDesiredCapacity(desired: number): Promise<void> {
    this.record('setDesiredCapacity', `setDesiredCapacity ${desired}`);
    this.group = { ...this.group, desiredCapacity: desired };
  }

  async terminateInstance(id: string, decrement: boolean): Promise<void> {
    this.record('terminateInstance', `terminate ${id} decrement=${decrement}`);
    this.group = {
      ...this.group,
      desiredCapacity: this.group.desiredCapacity - (decrement ? 1 : 0),
      instances: this.group.instances.map((i) => (i.id === id ? { ...i, lifecycleState: 'Terminating' } : i)),
    };
  }

  private record(op: FleetOp, call: string): void {
    this.calls.push(call);
    const index = this.failures.findIndex((f) => f.op === op);
    if (index >= 0) throw this.failures.splice(index, 1)[0].error;
  }
}

export function awsError(name: string, message: string): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}

export const MIN_SIZE_REJECTION = awsError(
  'ValidationError',
  'Currently, desiredSize equals minSize (1). Terminating instance without replacement will violate group\'s min size constraint. Either set shouldDecrementDesiredCapacity flag to false or lower group\'s min size.',
);

const COUNTS: PlanCounts = {
  pending: 0, busy: 0, idle: 0, registered: 0, launching: 0, notYetLaunched: 0, strays: 0, lost: 0, unidentified: 0, replacingStrays: 0,
  drained: 0, reclaiming: 0, retained: 0, releasing: 0, capacity: 0, minIdle: 0, demand: 0, finishingSoon: 0, desired: 0, min: 0, max: 10,
};

/** A plan with nothing to do, plus `fields`. */
export function plan(fields: Partial<Omit<Plan, 'counts'>> & { counts?: Partial<PlanCounts> } = {}): Plan {
  const { counts, ...rest } = fields;
  return {
    scaleOutBy: 0,
    terminate: [],
    strays: [],
    lostReclaims: [],
    lostSince: new Map(),
    blindReclaim: {},
    invalidWorkers: [],
    foreignWorkers: 0,
    scaleDownDelaySeconds: 120,
    moreDue: false,
    reasons: [],
    ...rest,
    counts: { ...COUNTS, ...counts },
  };
}

export { type LogEntry, RecordingLogger } from '../support/recording-logger';

/** Keeps each published batch: one per tick. */
export class RecordingMetrics implements AutoscalerMetrics {
  readonly published: { dimensions: Record<string, string>; values: Record<string, number> }[] = [];
  private dimensions: Record<string, string> = {};
  private values: Record<string, number> = {};

  addDimension(name: string, value: string): void {
    this.dimensions[name] = value;
  }

  addMetric(name: string, _unit: string, value: number): void {
    if (name in this.values) throw new Error(`metric ${name} added twice in one batch`);
    this.values[name] = value;
  }

  publishStoredMetrics(): void {
    this.published.push({ dimensions: this.dimensions, values: this.values });
    this.dimensions = {};
    this.values = {};
  }

  /** Sum of a metric over all batches. */
  total(name: string): number {
    return this.published.reduce((sum, batch) => sum + (batch.values[name] ?? 0), 0);
  }

  /**
   * The last batch as a reader of the metrics sees it: every autoscaler metric, 0 where none was sent (the tick sends
   * only non-zero values, which `lastSent` shows).
   */
  last(): Record<string, number> {
    const zeros = Object.fromEntries(Object.values(AutoscalerMetric).map((name) => [name, 0]));
    return { ...zeros, ...this.lastSent() };
  }

  lastSent(): Record<string, number> {
    return this.published[this.published.length - 1]?.values ?? {};
  }
}
