/**
 * Spacelift's side of the simulated world: the run queue, the workers and how runs are assigned to
 * them, and the pool API an autoscaler reads (`workerPool`) and writes (`workerDrainSet`).
 *
 * - Spacelift assigns the oldest queued run to the **newest idle** undrained worker (largest
 *   `createdAt`), the behaviour Spacelift's own autoscaler relies on when it scales in oldest-first.
 *   Assignment is instant once a run and a free worker meet.
 * - A bad worker list (fault): a pool snapshot may omit all workers, or a random part of them, among
 *   those whose instance carries the autoscaler's registration tag (an API that loses workers it had
 *   listed, the glitch, once the autoscaler has recorded them; before that, a worker the API
 *   omits is indistinguishable from a failed boot: see lambda/core/registration.ts). A worker may also
 *   register with invalid metadata. Drain calls still see the truth (they name one worker), and so does
 *   the lifecycle hook's drain, which models the drain handler. A pool may also have every worker registered
 *   with invalid metadata, for the whole run (`allMetadataInvalid`, a launcher that writes none); its workers
 *   are tagged by the same memory, so bad reads omit them too.
 */
import type { PoolSnapshot, Worker } from '../../lambda/core/types';
import { SpaceliftApiError } from '../../lambda/spacelift/errors';
import { faultsActive } from './api-calls';
import type { SimInstance } from './asg-model';
import type { EventLoop } from './event-loop';
import type { SimModel } from './model';
import { deriveSeed, Rng } from './rng';
import type { Trace } from './trace';
import type { WorldStats } from './world-stats';

export interface SimRun {
  readonly id: number;
  /** When it was queued; for a chained run, set when its parent ends. */
  submit: number;
  readonly after?: number;
  /** Runs queued when this one ends (dependants). */
  readonly children: SimRun[];
  readonly duration: number;
  /** False for a chained run until its parent ends. */
  queued: boolean;
  start?: number;
  end?: number;
  killed: boolean;
  workerId?: string;
}

export interface SimWorker {
  readonly id: string;
  readonly instance: SimInstance;
  readonly createdAt: number;
  availableAt: number;
  busy: boolean;
  drained: boolean;
  run?: SimRun;
  /** Registered with metadata the autoscaler cannot read. */
  readonly invalidMetadata: boolean;
}

/** The run state changes a `run_updated` notification reports that matter to capacity. */
export type RunChange = 'queued' | 'finished';

export class SpaceliftScheduler {
  readonly runs: SimRun[];
  /** Whether the latest pool snapshot was a bad read (fault), so tests can tell what a decision was based on. */
  lastReadBad = false;

  private readonly pending: SimRun[] = [];
  private pendingHead = 0;
  private readonly workers = new Map<string, SimWorker>();
  private busyCount = 0;
  private finishedRuns = 0;
  private readonly lastSubmit: number;
  /** Told of every run state change Spacelift would send a `run_updated` webhook for (webhook.ts). */
  private readonly runListeners: ((change: RunChange) => void)[] = [];

  /**
   * Queues the trace's runs at their submit times. `runEndedWhileTerminating` is told when a run ends
   * on a worker whose instance is terminating (its lifecycle hook was waiting for the run).
   */
  constructor(
    private readonly loop: EventLoop,
    private readonly model: SimModel,
    private readonly rng: Rng,
    private readonly stats: WorldStats,
    private readonly asgName: string,
    trace: Trace,
    private readonly runEndedWhileTerminating: (instance: SimInstance) => void,
  ) {
    this.runs = trace.runs.map((run) => ({
      id: run.id,
      submit: run.submit,
      after: run.after,
      children: [],
      duration: run.duration,
      queued: false,
      killed: false,
    }));
    for (const run of this.runs) if (run.after !== undefined) this.runs[run.after].children.push(run);
    this.lastSubmit = this.runs.reduce((last, run) => (run.after === undefined ? Math.max(last, run.submit) : last), 0);
  }

  /** Schedules every run that does not wait for a parent at its submit time. */
  queueTrace(): void {
    for (const run of this.runs) if (run.after === undefined) this.loop.at(run.submit, () => this.submit(run));
  }

  get queuedRuns(): number {
    return this.pending.length - this.pendingHead;
  }

  get busyWorkers(): number {
    return this.busyCount;
  }

  allRunsDone(): boolean {
    return this.loop.now >= this.lastSubmit && this.finishedRuns === this.runs.length;
  }

  /** Whether any worker is drained (a drain or an undrain still in progress, or a hook's drain). */
  anyDrained(): boolean {
    for (const worker of this.workers.values()) if (worker.drained) return true;
    return false;
  }

  onRunChange(listener: (change: RunChange) => void): void {
    this.runListeners.push(listener);
  }

  private runChanged(change: RunChange): void {
    for (const listener of this.runListeners) listener(change);
  }

  private submit(run: SimRun): void {
    run.queued = true;
    this.pending.push(run);
    this.runChanged('queued');
    this.dispatch();
  }

  /** Oldest queued run to the newest idle, undrained worker, until one side runs out. */
  private dispatch(): void {
    while (this.queuedRuns > 0) {
      let chosen: SimWorker | undefined;
      for (const worker of this.workers.values()) {
        if (worker.busy || worker.drained) continue;
        if (chosen === undefined || worker.createdAt > chosen.createdAt ||
          (worker.createdAt === chosen.createdAt && worker.instance.index > chosen.instance.index)) {
          chosen = worker;
        }
      }
      if (chosen === undefined) return;
      const run = this.pending[this.pendingHead++];
      if (this.pendingHead > 1024 && this.pendingHead * 2 > this.pending.length) {
        this.pending.splice(0, this.pendingHead);
        this.pendingHead = 0;
      }
      this.startRun(run, chosen);
    }
  }

  private startRun(run: SimRun, worker: SimWorker): void {
    const loop = this.loop;
    run.start = loop.now;
    run.workerId = worker.id;
    worker.busy = true;
    worker.run = run;
    this.busyCount++;
    loop.at(loop.now + run.duration, () => {
      if (run.killed || worker.run !== run) return;
      run.end = loop.now;
      this.finishedRuns++;
      worker.run = undefined;
      worker.busy = false;
      worker.availableAt = loop.now;
      this.busyCount--;
      this.runChanged('finished');
      this.queueChildren(run);
      const instance = worker.instance;
      if (instance.state === 'Terminating') this.runEndedWhileTerminating(instance);
      else this.dispatch();
    });
  }

  private killRun(worker: SimWorker): void {
    const run = worker.run;
    if (run === undefined) return;
    run.killed = true;
    run.end = this.loop.now;
    this.finishedRuns++;
    this.stats.runsKilled++;
    worker.run = undefined;
    worker.busy = false;
    this.busyCount--;
    this.queueChildren(run);
  }

  /** Dependants are queued their offset after the parent ends (killed counts as ended). */
  private queueChildren(run: SimRun): void {
    for (const child of run.children) {
      const at = this.loop.now + child.submit;
      child.submit = at;
      this.loop.at(at, () => this.submit(child));
    }
  }

  /** The worker of a booted instance registers (`initial`: one running when the simulation starts). */
  registerWorker(instance: SimInstance, initial: boolean): void {
    const { model, loop } = this;
    const invalidRate = model.faults.invalidMetadataRate ?? 0;
    const invalidMetadata = model.faults.allMetadataInvalid === true || (invalidRate > 0 && !initial &&
      faultsActive(model.faults, loop.now) && new Rng(deriveSeed(model.seed, 8, instance.index)).chance(invalidRate));
    // An initial worker has idled for an hour; one with invalid metadata cannot predate its instance, which is
    // all the autoscaler can tell about where it runs, so it registers at the instance's launch.
    const at = initial && !invalidMetadata ? loop.now - 3600 : loop.now;
    const worker: SimWorker = {
      id: `w-${instance.index.toString().padStart(5, '0')}`,
      instance,
      createdAt: at,
      availableAt: at,
      busy: false,
      drained: false,
      invalidMetadata,
    };
    instance.worker = worker;
    this.workers.set(worker.id, worker);
    this.dispatch();
  }

  /** The worker's instance went away: its run, if any, is killed. */
  removeWorker(worker: SimWorker): void {
    if (worker.busy) this.killRun(worker);
    this.workers.delete(worker.id);
    if (worker.instance.worker === worker) worker.instance.worker = undefined;
  }

  private toCoreWorker(worker: SimWorker): Worker {
    const epoch = this.model.epoch;
    return {
      id: worker.id,
      busy: worker.busy,
      drained: worker.drained,
      createdAt: Math.floor(epoch + worker.createdAt),
      availableAt: this.model.availableAt ? Math.floor(epoch + worker.availableAt) : undefined,
      metadata: worker.invalidMetadata
        ? { valid: false, reason: 'metadata has no valid instance_id' }
        : { valid: true, asgName: this.asgName, instanceId: worker.instance.id },
    };
  }

  /**
   * `workerPool { pendingRuns workers {...} }`, drained workers included. A bad read (fault) omits every
   * worker on a tagged instance (half of them) or each with probability 1/2.
   */
  poolSnapshot(): PoolSnapshot {
    let workers = [...this.workers.values()];
    const rate = this.model.faults.badReadRate ?? 0;
    this.lastReadBad = rate > 0 && faultsActive(this.model.faults, this.loop.now) && this.rng.chance(rate);
    if (this.lastReadBad) {
      this.stats.badReads++;
      const all = this.rng.chance(0.5);
      workers = workers.filter((w) => !w.instance.registeredTag || (!all && this.rng.chance(0.5)));
    }
    return { pendingRuns: this.queuedRuns, workers: workers.map((w) => this.toCoreWorker(w)) };
  }

  /** `workerDrainSet`: returns the worker as it is after the change. */
  setDrained(workerId: string, drained: boolean): Worker {
    const worker = this.workers.get(workerId);
    if (worker === undefined) {
      throw new SpaceliftApiError('graphql', `could not set worker drain to ${drained}: not found`, {
        retryable: false,
        operation: 'WorkerDrainSet',
        graphqlMessages: ['not found'],
      });
    }
    worker.drained = drained;
    if (!drained) this.dispatch();
    return this.toCoreWorker(worker);
  }

  /** Every live worker, for invariant checks. */
  liveWorkers(): SimWorker[] {
    return [...this.workers.values()];
  }
}
