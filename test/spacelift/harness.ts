import { createWorkerPoolApi, type SpaceliftApiOptions, type SpaceliftLogger } from '../../lambda/spacelift';
import { FakeSpacelift, type FakeSpaceliftOptions } from '../support/fake-spacelift';

export interface LogEntry {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly message: string;
  readonly attributes: Record<string, unknown>;
}

export function recordingLogger(): SpaceliftLogger & { readonly entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const at = (level: LogEntry['level']) => (message: string, attributes: Record<string, unknown>) => {
    entries.push({ level, message, attributes });
  };
  return { entries, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/**
 * A fake Spacelift plus a client wired to it with a shared, manual clock and no real backoff
 * sleeps. Call `closeAll()` in afterEach.
 */
export class Harness {
  private readonly fakes: FakeSpacelift[] = [];
  now = 1_700_000_000_000;
  readonly clock = () => this.now;

  async fake(options: FakeSpaceliftOptions = {}): Promise<FakeSpacelift> {
    const fake = await FakeSpacelift.start({ clock: this.clock, ...options });
    this.fakes.push(fake);
    return fake;
  }

  client(fake: FakeSpacelift, overrides: Partial<SpaceliftApiOptions> = {}) {
    const logger = recordingLogger();
    const sleeps: number[] = [];
    const api = createWorkerPoolApi({
      endpoint: fake.endpoint,
      apiKeyId: fake.apiKeyId,
      apiKeySecret: async () => fake.apiKeySecret,
      workerPoolId: fake.workerPoolId,
      clock: this.clock,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      random: () => 0.5,
      timeoutMs: 2_000,
      logger,
      ...overrides,
    });
    return { api, logger, sleeps };
  }

  advance(ms: number): void {
    this.now += ms;
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.fakes.splice(0).map((f) => f.close()));
  }
}
