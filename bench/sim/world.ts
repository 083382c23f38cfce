/**
 * The simulated world: a discrete-event clock, Spacelift's run queue and scheduler, an Auto Scaling
 * group with EC2 instances, and the API calls an autoscaler makes against them.
 *
 * Policies run as async processes (the real autoscaler handler is async). A process only waits on
 * the world: `sleep` and `call` return promises that the event loop below settles when simulated
 * time reaches them. After firing an event that wakes a process, the loop yields one macrotask
 * (`setImmediate`), which lets every microtask the process queued run first, so the process always
 * reaches its next wait before simulated time moves on. A killed process (Lambda timeout) is never
 * woken again; calls it had in flight still take effect on the server side.
 *
 * Modelling assumptions (each one is a choice; see bench/README.md):
 * - Spacelift assigns the oldest queued run to the **newest idle** undrained worker (largest
 *   `createdAt`), the behaviour Spacelift's own autoscaler relies on when it scales in oldest-first.
 *   Assignment is instant once a run and a free worker meet.
 * - A worker registers `boot` seconds after its instance launches; the instance is `InService` after
 *   min(inServiceSeconds, boot). A boot failure leaves an InService instance that never registers.
 * - Server-side effects of a call happen when its reply arrives (`latency` after it is sent).
 * - A failed call takes `failureLatency`; a failed mutating call was applied anyway with probability
 *   `appliedOnFailure` (the reply was lost). Spacelift failures surface as the adapter's
 *   SpaceliftApiError (timeout or HTTP 429), AWS failures as a timeout or throttling error.
 * - The ASG honours desired capacity at once: it launches instances when live < desired and, when
 *   desired is lowered below live, terminates instances it picks at random (AWS's default policy is
 *   effectively arbitrary for one AZ, one launch template and per-second billing).
 * - With a termination lifecycle hook, a terminating ASG instance's worker is drained at once and the
 *   instance waits for a busy worker's run to finish; without a hook the run is killed.
 * - An instance death (fault) stops billing and removes the worker at once (its run is killed); the
 *   ASG keeps listing the dead instance as InService until its health check replaces it.
 * - A bad worker list (fault): a pool snapshot may omit all workers, or a random part of them, among
 *   those whose instance carries the autoscaler's registration tag (an API that loses workers it had
 *   listed, the glitch, once the autoscaler has recorded them; before that, a worker the API
 *   omits is indistinguishable from a failed boot: see lambda/core/registration.ts). A worker may also
 *   register with invalid metadata. Drain calls still see the truth (they name one worker), and so does
 *   the lifecycle hook's drain, which models the drain handler. A pool may also have every worker registered
 *   with invalid metadata, for the whole run (`allMetadataInvalid`, a launcher that writes none); its workers
 *   are tagged by the same memory, so bad reads omit them too.
 * - Billing runs from launch until the instance is gone (or dies); `terminateSeconds` of shutdown
 *   after a terminate request are billed. Warm-pool instances are billed in full while being prepared (the
 *   warm-up boot of each replacement), and counted as stopped instance-seconds while they wait in the pool.
 */
import type { InstanceFacts } from '../../lambda/core/ports';
import type { AsgInstance, AsgSnapshot, PoolSnapshot, Worker } from '../../lambda/core/types';
import { SpaceliftApiError } from '../../lambda/spacelift/errors';
import { sample, type SimModel } from './model';
import { deriveSeed, Rng } from './rng';
import type { Trace } from './trace';

export type LifecycleState = 'Pending' | 'InService' | 'Terminating' | 'Terminated';
export type Service = 'spacelift' | 'aws';

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

export interface SimInstance {
  readonly id: string;
  readonly index: number;
  readonly launchedAt: number;
  state: LifecycleState;
  /** False once detached (Spacelift v2.7 detach-then-terminate). */
  inAsg: boolean;
  worker?: SimWorker;
  readonly bootFailed: boolean;
  /** Died abruptly; still listed by the ASG until its health check runs. */
  dead: boolean;
  /** When billing stopped. */
  billedUntil?: number;
  /** Set when a termination started while the worker was busy. */
  terminatedBusy?: boolean;
  /** The autoscaler's registration tag (core/registration.ts). */
  registeredTag: boolean;
}

/** A policy invocation. Once killed, its waits never resolve. */
export class Process {
  alive = true;
  constructor(readonly name: string) {}
}

export class AwsError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

export interface Sample {
  readonly t: number;
  readonly queued: number;
  readonly busy: number;
  readonly instances: number;
  readonly desired: number;
}

export interface WorldStats {
  /** Calls sent, by service and by operation. */
  readonly calls: Record<Service, number>;
  readonly callsByOp: Record<string, number>;
  failedCalls: number;
  /** AWS ValidationErrors by operation (a policy asking for something AWS refuses). */
  readonly validationErrors: Record<string, number>;
  launches: number;
  warmLaunches: number;
  /** SetDesiredCapacity calls that raised desired capacity. */
  scaleOutCalls: number;
  /** SetDesiredCapacity calls that lowered it (AWS picks the victims). */
  scaleDownCalls: number;
  /** Terminations with decrement requested by the policy. */
  scaleInTerminations: number;
  /** Terminations without decrement (stray replacement). */
  replaceTerminations: number;
  /** Instances the ASG itself picked to terminate because desired dropped below live. */
  asgScaleInVictims: number;
  /** Terminations (any cause but death) that began while the instance's worker was busy. */
  busyTerminated: number;
  /** Runs that never finished because their instance went away mid-run. */
  runsKilled: number;
  deaths: number;
  bootFailures: number;
  /** Desired capacity seen outside [min, max] (should never happen: AWS refuses such requests). */
  desiredOutOfRange: number;
  /** Pool snapshots that omitted some or all workers (fault). */
  badReads: number;
  /** Instance-seconds spent preparing warm-pool instances. */
  warmPrepareSeconds: number;
  /** Instance-seconds warm-pool instances spent stopped, from trace time 0 to the last change of the pool. */
  warmStoppedSeconds: number;
}

interface Event {
  readonly time: number;
  readonly seq: number;
  /** Returns true when it woke a process. */
  readonly fire: () => boolean;
}

/** Min-heap of events by (time, seq). */
class EventQueue {
  private readonly items: Event[] = [];

  get size(): number {
    return this.items.length;
  }

  push(event: Event): void {
    const items = this.items;
    items.push(event);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!EventQueue.before(items[i], items[parent])) break;
      [items[i], items[parent]] = [items[parent], items[i]];
      i = parent;
    }
  }

  pop(): Event | undefined {
    const items = this.items;
    if (items.length === 0) return undefined;
    const top = items[0];
    const last = items.pop()!;
    if (items.length > 0) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < items.length && EventQueue.before(items[left], items[smallest])) smallest = left;
        if (right < items.length && EventQueue.before(items[right], items[smallest])) smallest = right;
        if (smallest === i) break;
        [items[i], items[smallest]] = [items[smallest], items[i]];
        i = smallest;
      }
    }
    return top;
  }

  private static before(a: Event, b: Event): boolean {
    return a.time < b.time || (a.time === b.time && a.seq < b.seq);
  }
}

const yieldMacrotask = () => new Promise<void>((resolve) => setImmediate(resolve));

const MIN_SIZE_MESSAGE = (min: number) =>
  `Currently, desiredSize equals minSize (${min}). Terminating instance without replacement will violate group's min size constraint. ` +
  'Either set shouldDecrementDesiredCapacity flag to false or lower group\'s min size.';

export class World {
  now = 0;
  readonly asgName = 'sim-workers';
  readonly model: SimModel;
  readonly runs: SimRun[];
  readonly instances: SimInstance[] = [];
  readonly samples: Sample[] = [];
  readonly stats: WorldStats;
  desired: number;
  stopped = false;
  /** Whether the latest pool snapshot was a bad read (fault), so tests can tell what a decision was based on. */
  lastReadBad = false;

  private readonly queue = new EventQueue();
  private seq = 0;
  private readonly pending: SimRun[] = [];
  private pendingHead = 0;
  private readonly workers = new Map<string, SimWorker>();
  private readonly byId = new Map<string, SimInstance>();
  private readonly rng: Rng;
  private readonly scripted: { op: string; applied: boolean }[] = [];
  private busyCount = 0;
  private billedCount = 0;
  private warmAvailable: number;
  /** When `warmAvailable` last changed (or the trace start), for `warmStoppedSeconds`. */
  private warmSince = 0;
  private finishedRuns = 0;
  private readonly lastSubmit: number;

  /** When the simulation starts: -warmupSeconds (the trace starts at 0). */
  readonly startTime: number;

  constructor(model: SimModel, trace: Trace) {
    this.model = model;
    this.startTime = -Math.max(0, model.warmupSeconds);
    this.now = this.startTime;
    this.rng = new Rng(deriveSeed(model.seed, 2));
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
    this.stats = {
      calls: { spacelift: 0, aws: 0 },
      callsByOp: {},
      failedCalls: 0,
      validationErrors: {},
      launches: 0,
      warmLaunches: 0,
      scaleOutCalls: 0,
      scaleDownCalls: 0,
      scaleInTerminations: 0,
      replaceTerminations: 0,
      asgScaleInVictims: 0,
      busyTerminated: 0,
      runsKilled: 0,
      deaths: 0,
      bootFailures: 0,
      desiredOutOfRange: 0,
      badReads: 0,
      warmPrepareSeconds: 0,
      warmStoppedSeconds: 0,
    };
    if (model.minSize > model.maxSize) throw new Error(`min size ${model.minSize} is above max size ${model.maxSize}`);
    const initial = Math.min(model.maxSize, Math.max(model.minSize, model.initialInstances));
    this.desired = initial;
    this.warmAvailable = model.warmPool?.size ?? 0;
    for (let i = 0; i < initial; i++) this.launch(true);
    for (const run of this.runs) if (run.after === undefined) this.at(run.submit, () => this.submit(run));
    this.at(0, () => undefined);
  }

  // ---------------------------------------------------------------- clock and processes

  /** Schedules `fire` at absolute time `time` (never in the past). */
  at(time: number, fire: () => boolean | void): void {
    this.queue.push({ time: Math.max(time, this.now), seq: this.seq++, fire: () => fire() === true });
  }

  /** Epoch seconds for `now` (what the autoscaler's clock reads). */
  epochNow(): number {
    return this.model.epoch + this.now;
  }

  sleep(proc: Process, seconds: number): Promise<void> {
    return new Promise((resolve) => {
      this.at(this.now + Math.max(0, seconds), () => {
        if (!proc.alive) return false;
        resolve();
        return true;
      });
    });
  }

  /** Starts a process body now; the loop lets it run until its first wait. */
  spawn(body: () => Promise<void>): void {
    this.at(this.now, () => {
      void body();
      return true;
    });
  }

  /** Makes the next call of `op` fail (for tests); `applied` means the server acted anyway. */
  scriptFailure(op: string, applied: boolean): void {
    this.scripted.push({ op, applied });
  }

  faultsActive(): boolean {
    const until = this.model.faults.until;
    return until === undefined || this.now < until;
  }

  /**
   * An API call by `proc`: `effect` runs on the server when the reply arrives. Fault injection may
   * fail it (and maybe apply it anyway when `mutating`).
   */
  call<T>(proc: Process, service: Service, op: string, effect: () => T, mutating: boolean): Promise<T> {
    const stats = this.stats;
    stats.calls[service]++;
    stats.callsByOp[op] = (stats.callsByOp[op] ?? 0) + 1;
    const faults = this.model.faults;
    const scriptIndex = this.scripted.findIndex((entry) => entry.op === op);
    const script = scriptIndex < 0 ? undefined : this.scripted.splice(scriptIndex, 1)[0];
    const fail = script !== undefined || (this.faultsActive() && this.rng.chance(faults.callFailureRate));
    const applied = script !== undefined ? script.applied : fail && mutating && this.rng.chance(faults.appliedOnFailure);
    const ambiguous = script !== undefined ? true : fail && (applied || this.rng.chance(0.5));
    const latency = fail ? faults.failureLatency : this.model.latency[service];
    return new Promise<T>((resolve, reject) => {
      this.at(this.now + latency, () => {
        let outcome: { ok: true; value: T } | { ok: false; error: unknown };
        if (fail) {
          stats.failedCalls++;
          if (applied) {
            try {
              effect();
            } catch {
              // The server refused it anyway; the caller sees the transport failure either way.
            }
          }
          outcome = { ok: false, error: this.transportError(service, op, ambiguous) };
        } else {
          try {
            outcome = { ok: true, value: effect() };
          } catch (error) {
            if (error instanceof AwsError && error.name === 'ValidationError') {
              stats.validationErrors[op] = (stats.validationErrors[op] ?? 0) + 1;
            }
            outcome = { ok: false, error };
          }
        }
        if (!proc.alive) return false;
        if (outcome.ok) resolve(outcome.value);
        else reject(outcome.error);
        return true;
      });
    });
  }

  private transportError(service: Service, op: string, ambiguous: boolean): Error {
    if (service === 'spacelift') {
      return ambiguous
        ? new SpaceliftApiError('timeout', `${op}: request timed out (simulated)`, { retryable: true, operation: op })
        : new SpaceliftApiError('http', `${op}: HTTP 429 (simulated)`, { retryable: true, operation: op, status: 429 });
    }
    return ambiguous
      ? new AwsError('TimeoutError', `${op}: socket timed out (simulated)`)
      : new AwsError('ThrottlingException', `${op}: Rate exceeded (simulated)`);
  }

  /**
   * Processes events until `stop()` holds or nothing is left. Processes still waiting then are
   * abandoned.
   */
  async run(stop: () => boolean): Promise<void> {
    for (;;) {
      const event = this.queue.pop();
      if (event === undefined) break;
      this.now = event.time;
      const woke = event.fire();
      if (woke) await yieldMacrotask();
      this.record();
      if (stop()) break;
    }
    this.stopped = true;
  }

  // ---------------------------------------------------------------- Spacelift side

  get queuedRuns(): number {
    return this.pending.length - this.pendingHead;
  }

  get busyWorkers(): number {
    return this.busyCount;
  }

  allRunsDone(): boolean {
    return this.now >= this.lastSubmit && this.finishedRuns === this.runs.length;
  }

  private submit(run: SimRun): void {
    run.queued = true;
    this.pending.push(run);
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
    run.start = this.now;
    run.workerId = worker.id;
    worker.busy = true;
    worker.run = run;
    this.busyCount++;
    this.at(this.now + run.duration, () => {
      if (run.killed || worker.run !== run) return;
      run.end = this.now;
      this.finishedRuns++;
      worker.run = undefined;
      worker.busy = false;
      worker.availableAt = this.now;
      this.busyCount--;
      this.queueChildren(run);
      const instance = worker.instance;
      if (instance.state === 'Terminating') {
        // The lifecycle hook was waiting for this run.
        this.at(this.now + this.model.terminateSeconds, () => this.finishTermination(instance));
      } else {
        this.dispatch();
      }
    });
  }

  private killRun(worker: SimWorker): void {
    const run = worker.run;
    if (run === undefined) return;
    run.killed = true;
    run.end = this.now;
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
      const at = this.now + child.submit;
      child.submit = at;
      this.at(at, () => this.submit(child));
    }
  }

  private removeWorker(worker: SimWorker): void {
    if (worker.busy) this.killRun(worker);
    this.workers.delete(worker.id);
    if (worker.instance.worker === worker) worker.instance.worker = undefined;
  }

  private toCoreWorker(worker: SimWorker): Worker {
    return {
      id: worker.id,
      busy: worker.busy,
      drained: worker.drained,
      createdAt: Math.floor(this.model.epoch + worker.createdAt),
      availableAt: this.model.availableAt ? Math.floor(this.model.epoch + worker.availableAt) : undefined,
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
    this.lastReadBad = rate > 0 && this.faultsActive() && this.rng.chance(rate);
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

  // ---------------------------------------------------------------- AWS side

  private isLive(instance: SimInstance): boolean {
    return instance.inAsg && (instance.state === 'Pending' || instance.state === 'InService');
  }

  liveInstances(): SimInstance[] {
    return this.instances.filter((instance) => this.isLive(instance));
  }

  /** Instances currently billed (launched, not yet gone, not dead). */
  get billedInstances(): number {
    return this.billedCount;
  }

  private instanceId(index: number): string {
    return `i-${(0x10000000 + index).toString(16)}`;
  }

  /** Stopped instance-seconds of the warm pool from trace time 0 until `end` (nothing before time 0 is billed). */
  warmStoppedSecondsUntil(end: number): number {
    return this.stats.warmStoppedSeconds + this.warmAvailable * Math.max(0, end - Math.max(0, this.warmSince));
  }

  private changeWarmPool(delta: number): void {
    this.stats.warmStoppedSeconds = this.warmStoppedSecondsUntil(this.now);
    this.warmSince = this.now;
    this.warmAvailable += delta;
  }
  private launch(initial = false): void {
    const index = this.stats.launches++;
    const model = this.model;
    const faultsOn = this.faultsActive() && !initial;
    const bootFailed = faultsOn && new Rng(deriveSeed(model.seed, 3, index)).chance(model.faults.bootFailureRate);
    const instance: SimInstance = {
      id: this.instanceId(index),
      index,
      launchedAt: this.now,
      state: initial ? 'InService' : 'Pending',
      inAsg: true,
      bootFailed,
      dead: false,
      registeredTag: false,
    };
    this.instances.push(instance);
    this.byId.set(instance.id, instance);
    this.billedCount++;
    if (bootFailed) this.stats.bootFailures++;

    const bootDraw = new Rng(deriveSeed(model.seed, 1, index)).next();
    let registerAfter = sample(model.boot, bootDraw);
    if (!initial && this.warmAvailable > 0 && model.warmPool !== undefined) {
      this.changeWarmPool(-1);
      this.stats.warmLaunches++;
      registerAfter = model.warmPool.resumeSeconds;
      // The group refills the warm pool: a new instance boots, initialises and stops.
      const prepare = sample(model.boot, new Rng(deriveSeed(model.seed, 6, index)).next());
      this.stats.warmPrepareSeconds += prepare;
      this.at(this.now + prepare, () => this.changeWarmPool(+1));
    }
    if (initial) {
      this.register(instance, true);
    } else {
      this.at(this.now + Math.min(model.inServiceSeconds, registerAfter), () => {
        if (instance.state === 'Pending') instance.state = 'InService';
      });
      if (!bootFailed) this.at(this.now + registerAfter, () => this.register(instance, false));
    }
    const deathRate = model.faults.deathsPerInstanceHour;
    if (deathRate > 0 && faultsOn) {
      const after = new Rng(deriveSeed(model.seed, 4, index)).exponential(3600 / deathRate);
      const until = model.faults.until ?? Infinity;
      if (this.now + after < until) this.at(this.now + after, () => this.die(instance));
    }
  }

  private register(instance: SimInstance, initial: boolean): void {
    if (instance.dead || instance.state === 'Terminating' || instance.state === 'Terminated') return;
    if (instance.state === 'Pending') instance.state = 'InService';
    const invalidRate = this.model.faults.invalidMetadataRate ?? 0;
    const invalidMetadata = this.model.faults.allMetadataInvalid === true || (invalidRate > 0 && !initial && this.faultsActive() &&
      new Rng(deriveSeed(this.model.seed, 8, instance.index)).chance(invalidRate));
    // An initial worker has idled for an hour; one with invalid metadata cannot predate its instance, which is
    // all the autoscaler can tell about where it runs, so it registers at the instance's launch.
    const at = initial && !invalidMetadata ? this.now - 3600 : this.now;
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

  private stopBilling(instance: SimInstance): void {
    if (instance.billedUntil !== undefined) return;
    instance.billedUntil = this.now;
    this.billedCount--;
  }

  private die(instance: SimInstance): void {
    if (instance.dead || instance.state === 'Terminated') return;
    instance.dead = true;
    this.stats.deaths++;
    this.stopBilling(instance);
    if (instance.worker !== undefined) this.removeWorker(instance.worker);
    if (instance.state === 'Terminating' || !instance.inAsg) {
      // Already leaving (or detached): nothing is left to replace.
      instance.state = 'Terminated';
      return;
    }
    this.at(this.now + this.model.healthCheckSeconds, () => {
      if (instance.state === 'Terminated') return;
      // The health check finds it; the ASG terminates and replaces it (desired unchanged).
      instance.state = 'Terminated';
      this.reconcile();
    });
  }

  /** Starts a termination: through the lifecycle hook's drain when `hook`, else at once. */
  private beginTermination(instance: SimInstance, hook: boolean): void {
    if (instance.state === 'Terminating' || instance.state === 'Terminated') return;
    instance.state = 'Terminating';
    if (instance.dead) {
      this.finishTermination(instance);
      return;
    }
    const worker = instance.worker;
    if (worker !== undefined && worker.busy) {
      this.stats.busyTerminated++;
      instance.terminatedBusy = true;
    }
    if (hook && worker !== undefined) {
      // The drain handler drains the worker, then waits for its run.
      worker.drained = true;
      if (!worker.busy) this.at(this.now + this.model.terminateSeconds, () => this.finishTermination(instance));
      return;
    }
    if (worker !== undefined) this.removeWorker(worker);
    this.at(this.now + this.model.terminateSeconds, () => this.finishTermination(instance));
  }

  private finishTermination(instance: SimInstance): void {
    if (instance.state === 'Terminated') return;
    instance.state = 'Terminated';
    this.stopBilling(instance);
    if (instance.worker !== undefined) this.removeWorker(instance.worker);
  }

  /** Launches or removes instances so that live instances match desired capacity. */
  private reconcile(): void {
    const live = this.liveInstances();
    for (let i = live.length; i < this.desired; i++) this.launch();
    let surplus = live.length - this.desired;
    while (surplus > 0) {
      const candidates = this.liveInstances();
      const victim = candidates[Math.floor(this.rng.next() * candidates.length)];
      this.stats.asgScaleInVictims++;
      this.beginTermination(victim, this.model.lifecycleHook);
      surplus--;
    }
  }

  private checkDesired(): void {
    if (this.desired < this.model.minSize || this.desired > this.model.maxSize) this.stats.desiredOutOfRange++;
  }

  /** `DescribeAutoScalingGroups`; `withLaunchTimes` adds EC2 launch times (the real call does not). */
  describeAsg(withLaunchTimes = false): AsgSnapshot {
    const instances: AsgInstance[] = [];
    for (const instance of this.instances) {
      if (!instance.inAsg || instance.state === 'Terminated') continue;
      let lifecycleState: string = instance.state;
      if (instance.state === 'Terminating' && this.model.lifecycleHook) lifecycleState = 'Terminating:Wait';
      instances.push({
        id: instance.id,
        lifecycleState,
        protectedFromScaleIn: false,
        ...(withLaunchTimes ? { launchTime: Math.floor(this.model.epoch + instance.launchedAt) } : {}),
      });
    }
    return {
      name: this.asgName,
      minSize: this.model.minSize,
      maxSize: this.model.maxSize,
      desiredCapacity: this.desired,
      instances,
    };
  }

  /** EC2 `DescribeInstances` launch times (epoch seconds) and registration tags; unknown or gone ids are omitted. */
  instanceFacts(ids: readonly string[]): Map<string, InstanceFacts> {
    const result = new Map<string, InstanceFacts>();
    for (const id of ids) {
      const instance = this.byId.get(id);
      if (instance !== undefined && instance.state !== 'Terminated') {
        result.set(id, { launchTime: Math.floor(this.model.epoch + instance.launchedAt), registered: instance.registeredTag });
      }
    }
    return result;
  }

  /** EC2 `CreateTags` with the registration tag. */
  tagRegistered(ids: readonly string[]): void {
    for (const id of ids) {
      const instance = this.byId.get(id);
      if (instance === undefined || instance.state === 'Terminated') {
        throw new AwsError('InvalidInstanceID.NotFound', `The instance ID '${id}' does not exist`);
      }
    }
    for (const id of ids) this.byId.get(id)!.registeredTag = true;
  }

  /** `SetDesiredCapacity`, with AWS's bounds check. Lowering it lets the ASG pick victims. */
  setDesiredCapacity(desired: number): void {
    const { minSize, maxSize } = this.model;
    if (!Number.isInteger(desired) || desired < minSize || desired > maxSize) {
      throw new AwsError(
        'ValidationError',
        `New SetDesiredCapacity value ${desired} is outside the group's bounds [${minSize}, ${maxSize}].`,
      );
    }
    if (desired > this.desired) this.stats.scaleOutCalls++;
    if (desired < this.desired) this.stats.scaleDownCalls++;
    this.desired = desired;
    this.checkDesired();
    this.reconcile();
  }

  private asgMember(instanceId: string): SimInstance {
    const instance = this.byId.get(instanceId);
    if (instance === undefined || !instance.inAsg || instance.state === 'Terminated') {
      throw new AwsError('ValidationError', `Instance Id not found - No managed instance found for instance ID: ${instanceId}`);
    }
    return instance;
  }

  /** `TerminateInstanceInAutoScalingGroup`. */
  terminateInAsg(instanceId: string, decrement: boolean): void {
    const instance = this.asgMember(instanceId);
    if (instance.state === 'Terminating') return;
    this.removeFromDesired(decrement);
    this.beginTermination(instance, this.model.lifecycleHook);
    this.reconcile();
  }

  /** `DetachInstances` (Spacelift v2.7): the instance leaves the group but keeps running. */
  detach(instanceId: string, decrement: boolean): void {
    const instance = this.asgMember(instanceId);
    this.removeFromDesired(decrement);
    instance.inAsg = false;
    this.reconcile();
  }

  /** An instance leaves the group: with decrement desired shrinks (never below min), else the group replaces it. */
  private removeFromDesired(decrement: boolean): void {
    if (decrement && this.desired - 1 < this.model.minSize) {
      throw new AwsError('ValidationError', MIN_SIZE_MESSAGE(this.model.minSize));
    }
    if (decrement) {
      this.desired--;
      this.stats.scaleInTerminations++;
    } else {
      this.stats.replaceTerminations++;
    }
    this.checkDesired();
  }

  /** EC2 `TerminateInstances` (no lifecycle hook for detached instances). */
  terminateEc2(instanceId: string): void {
    const instance = this.byId.get(instanceId);
    if (instance === undefined || instance.state === 'Terminated') {
      throw new AwsError('InvalidInstanceID.NotFound', `The instance ID '${instanceId}' does not exist`);
    }
    this.beginTermination(instance, this.model.lifecycleHook && instance.inAsg);
  }

  // ---------------------------------------------------------------- recording

  private record(): void {
    if (this.now < 0) return;
    const sample: Sample = {
      t: this.now,
      queued: this.queuedRuns,
      busy: this.busyCount,
      instances: this.billedCount,
      desired: this.desired,
    };
    const last = this.samples[this.samples.length - 1];
    if (last !== undefined && last.queued === sample.queued && last.busy === sample.busy &&
      last.instances === sample.instances && last.desired === sample.desired) return;
    if (last !== undefined && last.t === sample.t) this.samples[this.samples.length - 1] = sample;
    else this.samples.push(sample);
  }

  /**
   * True when nothing is queued, running, booting or terminating, the group is at min size, and no
   * live instance has a drained worker (a drain or an undrain still in progress).
   */
  settled(): boolean {
    if (!this.allRunsDone()) return false;
    if (this.desired > this.model.minSize) return false;
    for (const instance of this.instances) {
      if (instance.state === 'Pending' || instance.state === 'Terminating') return false;
    }
    for (const worker of this.workers.values()) if (worker.drained) return false;
    return this.billedCount <= this.model.minSize;
  }
}
