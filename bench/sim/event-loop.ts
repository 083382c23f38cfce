/**
 * The simulator's discrete-event clock: a queue of events ordered by (time, order of scheduling),
 * and the processes (policy invocations) that wait on it.
 *
 * Policies run as async processes (the real autoscaler handler is async). A process only waits on
 * the world: `sleep` and calls return promises that the loop settles when simulated time reaches
 * them. After firing an event that wakes a process, the loop yields one macrotask (`setImmediate`),
 * which lets every microtask the process queued run first, so the process always reaches its next
 * wait before simulated time moves on. A killed process (Lambda timeout) is never woken again.
 */

/** A policy invocation. Once killed, its waits never resolve. */
export class Process {
  alive = true;
  constructor(readonly name: string) {}
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

export class EventLoop {
  now: number;
  stopped = false;
  private readonly queue = new EventQueue();
  private seq = 0;

  constructor(startTime: number) {
    this.now = startTime;
  }

  /** Schedules `fire` at absolute time `time` (never in the past). */
  at(time: number, fire: () => boolean | void): void {
    this.queue.push({ time: Math.max(time, this.now), seq: this.seq++, fire: () => fire() === true });
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

  /**
   * Processes events until `stop()` holds after one or nothing is left. Processes still waiting then
   * are abandoned.
   */
  async run(stop: () => boolean): Promise<void> {
    for (;;) {
      const event = this.queue.pop();
      if (event === undefined) break;
      this.now = event.time;
      const woke = event.fire();
      if (woke) await yieldMacrotask();
      if (stop()) break;
    }
    this.stopped = true;
  }
}
