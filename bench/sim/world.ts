/**
 * The simulated world, a thin facade over its parts, one concept each:
 * - `event-loop.ts`: the discrete-event clock, the processes (policy invocations) that wait on it;
 * - `api-calls.ts`: the calls an autoscaler makes, with latency and fault injection;
 * - `spacelift-scheduler.ts`: Spacelift's run queue, workers, run assignment and pool API;
 * - `asg-model.ts`: the Auto Scaling group, its instances, the warm pool and billing.
 * The world wires them together, records the timeline and tells whether the fleet is steady (for the
 * end of a simulation: engine.ts). Each part's header lists its modelling assumptions (each one is a
 * choice; see bench/README.md).
 *
 * Every random draw comes from the model's seed: streams keyed per instance (boot time, boot
 * failure, death, metadata, warm-up; common random numbers across policies) and one shared stream
 * for call faults, the ASG's choice of scale-in victims and bad reads, drawn in event order.
 */
import type { InstanceFacts } from '../../lambda/core/ports';
import type { AsgSnapshot, PoolSnapshot, Worker } from '../../lambda/core/types';
import { ApiCalls, faultsActive, type Service } from './api-calls';
import { AsgModel, type SimInstance } from './asg-model';
import { EventLoop, type Process } from './event-loop';
import type { SimModel } from './model';
import { deriveSeed, Rng } from './rng';
import { SpaceliftScheduler, type RunChange, type SimRun, type SimWorker } from './spacelift-scheduler';
import type { Trace } from './trace';
import { emptyWorldStats, type WorldStats } from './world-stats';

export { AwsError, type Service } from './api-calls';
export type { LifecycleState, SimInstance } from './asg-model';
export { Process } from './event-loop';
export type { RunChange, SimRun, SimWorker } from './spacelift-scheduler';
export type { WorldStats } from './world-stats';

export interface Sample {
  readonly t: number;
  readonly queued: number;
  readonly busy: number;
  readonly instances: number;
  readonly desired: number;
}

export class World {
  readonly asgName = 'sim-workers';
  readonly model: SimModel;
  readonly samples: Sample[] = [];
  readonly stats: WorldStats = emptyWorldStats();
  /** When the simulation starts: -warmupSeconds (the trace starts at 0). */
  readonly startTime: number;

  private readonly loop: EventLoop;
  private readonly calls: ApiCalls;
  private readonly scheduler: SpaceliftScheduler;
  private readonly asg: AsgModel;

  constructor(model: SimModel, trace: Trace) {
    this.model = model;
    this.startTime = -Math.max(0, model.warmupSeconds);
    this.loop = new EventLoop(this.startTime);
    // One stream shared by the parts, drawn in event order.
    const rng = new Rng(deriveSeed(model.seed, 2));
    this.calls = new ApiCalls(this.loop, model, rng, this.stats);
    this.scheduler = new SpaceliftScheduler(this.loop, model, rng, this.stats, this.asgName, trace,
      (instance) => this.asg.finishTerminationLater(instance));
    this.asg = new AsgModel(this.loop, model, rng, this.stats, this.scheduler, this.asgName);
    this.scheduler.queueTrace();
    this.loop.at(0, () => undefined);
  }

  // ---------------------------------------------------------------- clock and processes

  get now(): number {
    return this.loop.now;
  }

  /** True once `run` has returned: policies schedule no more invocations. */
  get stopped(): boolean {
    return this.loop.stopped;
  }

  /** Schedules `fire` at absolute time `time` (never in the past). */
  at(time: number, fire: () => boolean | void): void {
    this.loop.at(time, fire);
  }

  /** Epoch seconds for `now` (what the autoscaler's clock reads). */
  epochNow(): number {
    return this.model.epoch + this.now;
  }

  sleep(proc: Process, seconds: number): Promise<void> {
    return this.loop.sleep(proc, seconds);
  }

  /**
   * Processes events, recording the timeline after each, until `stop()` holds or nothing is left.
   * Processes still waiting then are abandoned.
   */
  run(stop: () => boolean): Promise<void> {
    return this.loop.run(() => {
      this.record();
      return stop();
    });
  }

  // ---------------------------------------------------------------- API calls

  /** Makes the next call of `op` fail (for tests); `applied` means the server acted anyway. */
  scriptFailure(op: string, applied: boolean): void {
    this.calls.scriptFailure(op, applied);
  }

  faultsActive(): boolean {
    return faultsActive(this.model.faults, this.now);
  }

  /**
   * An API call by `proc`: `effect` runs on the server when the reply arrives. Fault injection may
   * fail it (and maybe apply it anyway when `mutating`).
   */
  call<T>(proc: Process, service: Service, op: string, effect: () => T, mutating: boolean): Promise<T> {
    return this.calls.call(proc, service, op, effect, mutating);
  }

  // ---------------------------------------------------------------- Spacelift side

  get runs(): SimRun[] {
    return this.scheduler.runs;
  }

  get queuedRuns(): number {
    return this.scheduler.queuedRuns;
  }

  get busyWorkers(): number {
    return this.scheduler.busyWorkers;
  }

  /** Whether the latest pool snapshot was a bad read (fault), so tests can tell what a decision was based on. */
  get lastReadBad(): boolean {
    return this.scheduler.lastReadBad;
  }

  allRunsDone(): boolean {
    return this.scheduler.allRunsDone();
  }

  /** Calls `listener` on every run queued or finished (what a Spacelift `run_updated` webhook reports). */
  onRunChange(listener: (change: RunChange) => void): void {
    this.scheduler.onRunChange(listener);
  }

  /** `workerPool { pendingRuns workers {...} }` (see SpaceliftScheduler.poolSnapshot for bad reads). */
  poolSnapshot(): PoolSnapshot {
    return this.scheduler.poolSnapshot();
  }

  /** `workerDrainSet`: returns the worker as it is after the change. */
  setDrained(workerId: string, drained: boolean): Worker {
    return this.scheduler.setDrained(workerId, drained);
  }

  /** Every live worker, for invariant checks. */
  liveWorkers(): SimWorker[] {
    return this.scheduler.liveWorkers();
  }

  // ---------------------------------------------------------------- AWS side

  get instances(): SimInstance[] {
    return this.asg.instances;
  }

  get desired(): number {
    return this.asg.desired;
  }

  liveInstances(): SimInstance[] {
    return this.asg.liveInstances();
  }

  /** Instances currently billed (launched, not yet gone, not dead). */
  get billedInstances(): number {
    return this.asg.billedInstances;
  }

  /** Stopped instance-seconds of the warm pool from trace time 0 until `end` (nothing before time 0 is billed). */
  warmStoppedSecondsUntil(end: number): number {
    return this.asg.warmStoppedSecondsUntil(end);
  }

  /** `DescribeAutoScalingGroups`; `withLaunchTimes` adds EC2 launch times (the real call does not). */
  describeAsg(withLaunchTimes = false): AsgSnapshot {
    return this.asg.describeAsg(withLaunchTimes);
  }

  /** EC2 `DescribeInstances` launch times (epoch seconds) and registration tags; unknown or gone ids are omitted. */
  instanceFacts(ids: readonly string[]): Map<string, InstanceFacts> {
    return this.asg.instanceFacts(ids);
  }

  /** EC2 `CreateTags` with the registration tag. */
  tagRegistered(ids: readonly string[]): void {
    this.asg.tagRegistered(ids);
  }

  /** `SetDesiredCapacity`, with AWS's bounds check. Lowering it lets the ASG pick victims. */
  setDesiredCapacity(desired: number): void {
    this.asg.setDesiredCapacity(desired);
  }

  /** `TerminateInstanceInAutoScalingGroup`. */
  terminateInAsg(instanceId: string, decrement: boolean): void {
    this.asg.terminateInAsg(instanceId, decrement);
  }

  /** `DetachInstances` (Spacelift v2.7): the instance leaves the group but keeps running. */
  detach(instanceId: string, decrement: boolean): void {
    this.asg.detach(instanceId, decrement);
  }

  /** EC2 `TerminateInstances` (no lifecycle hook for detached instances). */
  terminateEc2(instanceId: string): void {
    this.asg.terminateEc2(instanceId);
  }

  // ---------------------------------------------------------------- recording

  private record(): void {
    if (this.now < 0) return;
    const sample: Sample = {
      t: this.now,
      queued: this.queuedRuns,
      busy: this.busyWorkers,
      instances: this.billedInstances,
      desired: this.desired,
    };
    const last = this.samples[this.samples.length - 1];
    if (last !== undefined && last.queued === sample.queued && last.busy === sample.busy &&
      last.instances === sample.instances && last.desired === sample.desired) return;
    if (last !== undefined && last.t === sample.t) this.samples[this.samples.length - 1] = sample;
    else this.samples.push(sample);
  }

  /**
   * True when every run has finished and nothing is in flight: no instance launching or terminating, no
   * dead instance awaiting its health check, no drained worker (a drain, an undrain or a hook's drain in
   * progress), and no billed instance outside the group (detached and never terminated: it would bill
   * forever, so a fleet holding one is never steady). What is left can only change if a policy acts.
   */
  steady(): boolean {
    if (!this.allRunsDone()) return false;
    for (const instance of this.instances) {
      if (instance.state === 'Pending' || instance.state === 'Terminating') return false;
      if (instance.dead && instance.state !== 'Terminated') return false;
      if (!instance.inAsg && instance.billedUntil === undefined) return false;
    }
    return !this.scheduler.anyDrained();
  }

  /** Desired capacity and billed instances at min size: nothing is left to release. */
  atMinSize(): boolean {
    return this.desired <= this.model.minSize && this.billedInstances <= this.model.minSize;
  }

  /** What the fleet costs from now on while it stays steady: desired capacity, billed instances, warm pool. */
  fleetState(): string {
    return `${this.desired}/${this.billedInstances}/${this.asg.warmPoolSize}`;
  }
}
