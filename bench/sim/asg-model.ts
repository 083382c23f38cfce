/**
 * The AWS side of the simulated world: an Auto Scaling group with its EC2 instances, their launches,
 * boots, deaths and terminations, the warm pool, and billing.
 *
 * - A worker registers `boot` seconds after its instance launches; the instance is `InService` after
 *   min(inServiceSeconds, boot). A boot failure leaves an InService instance that never registers.
 * - The ASG honours desired capacity at once: it launches instances when live < desired and, when
 *   desired is lowered below live, terminates instances it picks at random (AWS's default policy is
 *   effectively arbitrary for one AZ, one launch template and per-second billing).
 * - With a termination lifecycle hook, a terminating ASG instance's worker is drained at once and the
 *   instance waits for a busy worker's run to finish; without a hook the run is killed.
 * - An instance death (fault) stops billing and removes the worker at once (its run is killed); the
 *   ASG keeps listing the dead instance as InService until its health check replaces it.
 * - Billing runs from launch until the instance is gone (or dies); `terminateSeconds` of shutdown
 *   after a terminate request are billed. Warm-pool instances are billed in full while being prepared (the
 *   warm-up boot of each replacement), and counted as stopped instance-seconds while they wait in the pool.
 */
import type { InstanceFacts } from '../../lambda/core/ports';
import type { AsgInstance, AsgSnapshot } from '../../lambda/core/types';
import { AwsError, faultsActive } from './api-calls';
import type { EventLoop } from './event-loop';
import { sample, type SimModel } from './model';
import { deriveSeed, Rng } from './rng';
import type { SimWorker, SpaceliftScheduler } from './spacelift-scheduler';
import type { WorldStats } from './world-stats';

export type LifecycleState = 'Pending' | 'InService' | 'Terminating' | 'Terminated';

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

const MIN_SIZE_MESSAGE = (min: number) =>
  `Currently, desiredSize equals minSize (${min}). Terminating instance without replacement will violate group's min size constraint. ` +
  'Either set shouldDecrementDesiredCapacity flag to false or lower group\'s min size.';

export class AsgModel {
  readonly instances: SimInstance[] = [];
  desired: number;

  private readonly byId = new Map<string, SimInstance>();
  private billedCount = 0;
  private warmAvailable: number;
  /** When `warmAvailable` last changed (or the trace start), for `warmStoppedSeconds`. */
  private warmSince = 0;

  /** Starts the group at its initial size, every initial instance InService with an idle worker. */
  constructor(
    private readonly loop: EventLoop,
    private readonly model: SimModel,
    private readonly rng: Rng,
    private readonly stats: WorldStats,
    private readonly scheduler: SpaceliftScheduler,
    readonly name: string,
  ) {
    if (model.minSize > model.maxSize) throw new Error(`min size ${model.minSize} is above max size ${model.maxSize}`);
    const initial = Math.min(model.maxSize, Math.max(model.minSize, model.initialInstances));
    this.desired = initial;
    this.warmAvailable = model.warmPool?.size ?? 0;
    for (let i = 0; i < initial; i++) this.launch(true);
  }

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

  /** Stopped instances waiting in the warm pool. */
  get warmPoolSize(): number {
    return this.warmAvailable;
  }

  private instanceId(index: number): string {
    return `i-${(0x10000000 + index).toString(16)}`;
  }

  /** Stopped instance-seconds of the warm pool from trace time 0 until `end` (nothing before time 0 is billed). */
  warmStoppedSecondsUntil(end: number): number {
    return this.stats.warmStoppedSeconds + this.warmAvailable * Math.max(0, end - Math.max(0, this.warmSince));
  }

  private changeWarmPool(delta: number): void {
    const now = this.loop.now;
    this.stats.warmStoppedSeconds = this.warmStoppedSecondsUntil(now);
    this.warmSince = now;
    this.warmAvailable += delta;
  }

  private launch(initial = false): void {
    const { loop, model, stats } = this;
    const now = loop.now;
    const index = stats.launches++;
    const faultsOn = faultsActive(model.faults, now) && !initial;
    const bootFailed = faultsOn && new Rng(deriveSeed(model.seed, 3, index)).chance(model.faults.bootFailureRate);
    const instance: SimInstance = {
      id: this.instanceId(index),
      index,
      launchedAt: now,
      state: initial ? 'InService' : 'Pending',
      inAsg: true,
      bootFailed,
      dead: false,
      registeredTag: false,
    };
    this.instances.push(instance);
    this.byId.set(instance.id, instance);
    this.billedCount++;
    if (bootFailed) stats.bootFailures++;

    const bootDraw = new Rng(deriveSeed(model.seed, 1, index)).next();
    let registerAfter = sample(model.boot, bootDraw);
    if (!initial && this.warmAvailable > 0 && model.warmPool !== undefined) {
      this.changeWarmPool(-1);
      stats.warmLaunches++;
      registerAfter = model.warmPool.resumeSeconds;
      // The group refills the warm pool: a new instance boots, initialises and stops.
      const prepare = sample(model.boot, new Rng(deriveSeed(model.seed, 6, index)).next());
      stats.warmPrepareSeconds += prepare;
      loop.at(now + prepare, () => this.changeWarmPool(+1));
    }
    if (initial) {
      this.register(instance, true);
    } else {
      loop.at(now + Math.min(model.inServiceSeconds, registerAfter), () => {
        if (instance.state === 'Pending') instance.state = 'InService';
      });
      if (!bootFailed) loop.at(now + registerAfter, () => this.register(instance, false));
    }
    const deathRate = model.faults.deathsPerInstanceHour;
    if (deathRate > 0 && faultsOn) {
      const after = new Rng(deriveSeed(model.seed, 4, index)).exponential(3600 / deathRate);
      const until = model.faults.until ?? Infinity;
      if (now + after < until) loop.at(now + after, () => this.die(instance));
    }
  }

  private register(instance: SimInstance, initial: boolean): void {
    if (instance.dead || instance.state === 'Terminating' || instance.state === 'Terminated') return;
    if (instance.state === 'Pending') instance.state = 'InService';
    this.scheduler.registerWorker(instance, initial);
  }

  private stopBilling(instance: SimInstance): void {
    if (instance.billedUntil !== undefined) return;
    instance.billedUntil = this.loop.now;
    this.billedCount--;
  }

  private die(instance: SimInstance): void {
    if (instance.dead || instance.state === 'Terminated') return;
    instance.dead = true;
    this.stats.deaths++;
    this.stopBilling(instance);
    if (instance.worker !== undefined) this.scheduler.removeWorker(instance.worker);
    if (instance.state === 'Terminating' || !instance.inAsg) {
      // Already leaving (or detached): nothing is left to replace.
      instance.state = 'Terminated';
      return;
    }
    this.loop.at(this.loop.now + this.model.healthCheckSeconds, () => {
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
      if (!worker.busy) this.finishTerminationLater(instance);
      return;
    }
    if (worker !== undefined) this.scheduler.removeWorker(worker);
    this.finishTerminationLater(instance);
  }

  /** The instance is gone `terminateSeconds` from now (shutdown, lifecycle hook completion). */
  finishTerminationLater(instance: SimInstance): void {
    this.loop.at(this.loop.now + this.model.terminateSeconds, () => this.finishTermination(instance));
  }

  private finishTermination(instance: SimInstance): void {
    if (instance.state === 'Terminated') return;
    instance.state = 'Terminated';
    this.stopBilling(instance);
    if (instance.worker !== undefined) this.scheduler.removeWorker(instance.worker);
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
      name: this.name,
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
}
