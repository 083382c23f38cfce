/**
 * Plays Spacelift and the workers' launchers on top of the fake Spacelift API
 * (test/support/fake-spacelift): a launcher on each instance registers a worker once the instance has
 * "booted", runs go from queued to a worker (pending → busy) and finish (→ idle), drained workers get
 * no new runs, and a worker disappears when its instance is gone.
 */
import type { FakeSpacelift } from '../../support/fake-spacelift';

export interface BootedInstance {
  readonly id: string;
  readonly imageId: string;
}

export class SpaceliftDriver {
  private pending = 0;
  /** Instance id → worker id. */
  private readonly workerOf = new Map<string, string>();

  constructor(private readonly fake: FakeSpacelift, private readonly asgName: string) {}

  get pendingRuns(): number {
    return this.pending;
  }

  workerOn(instanceId: string): string {
    const id = this.workerOf.get(instanceId);
    if (id === undefined) throw new Error(`no worker registered for ${instanceId}`);
    return id;
  }

  queueRuns(count: number): void {
    this.pending += count;
    this.fake.setPendingRuns(this.pending);
  }

  /** The launcher on each booted instance registers a worker with the metadata the bootstrap gives it. */
  registerWorkers(instances: readonly BootedInstance[]): string[] {
    const added: string[] = [];
    for (const instance of instances) {
      if (this.workerOf.has(instance.id)) continue;
      const worker = this.fake.addWorker({
        metadata: JSON.stringify({ asg_id: this.asgName, instance_id: instance.id, ami_id: instance.imageId }),
      });
      this.workerOf.set(instance.id, worker.id);
      added.push(worker.id);
    }
    return added;
  }

  /**
   * Spacelift schedules queued runs onto idle, undrained workers, the newest first. Returns the
   * workers that took a run.
   */
  startRuns(): string[] {
    const idle = this.fake.workers()
      .filter((w) => !w.busy && !w.drained)
      .sort((a, b) => b.createdAt - a.createdAt || b.id.localeCompare(a.id));
    const started: string[] = [];
    for (const worker of idle) {
      if (this.pending === 0) break;
      this.fake.setBusy(worker.id, true);
      this.pending--;
      started.push(worker.id);
    }
    this.fake.setPendingRuns(this.pending);
    return started;
  }

  finishRun(workerId: string): void {
    if (!this.fake.worker(workerId)?.busy) throw new Error(`worker ${workerId} has no run to finish`);
    this.fake.setBusy(workerId, false);
  }

  /** Workers whose instance is no longer in the group leave the pool (their launcher died with it). */
  deregisterGone(liveInstanceIds: readonly string[]): string[] {
    const live = new Set(liveInstanceIds);
    const gone: string[] = [];
    for (const [instanceId, workerId] of [...this.workerOf]) {
      if (live.has(instanceId)) continue;
      this.fake.removeWorker(workerId);
      this.workerOf.delete(instanceId);
      gone.push(workerId);
    }
    return gone;
  }
}
