/**
 * The simulator's model of Spacelift's webhook (bench/sim/webhook.ts): a run queued or finished pokes the
 * autoscaler after the delivery delay, at most once per rate-limit interval, and a poke during a running invocation
 * waits for it to end.
 */
import { simulate } from '../../bench/sim/engine';
import { DEFAULT_MODEL, type SimModel } from '../../bench/sim/model';
import { DEFAULT_OURS, oursPolicy } from '../../bench/sim/policies/ours';
import { parseTrace, type Trace } from '../../bench/sim/trace';
import { DEFAULT_WEBHOOK } from '../../bench/sim/webhook';

const exact: SimModel = { ...DEFAULT_MODEL, boot: { kind: 'fixed', value: 90 }, latency: { spacelift: 0, aws: 0 }, warmupSeconds: 0 };
const trace = (csv: string): Trace => parseTrace(`submit_s,duration_s\n${csv}`, 'test.csv');

describe('webhook model', () => {
  test('a run queued between two scheduled invocations is seen after the delivery delay, not at the next minute', async () => {
    const scheduleOnly = await simulate(trace('10,100'), oursPolicy(DEFAULT_OURS), exact);
    // Invocations at 0, 60, ...: seen at 60, registered at 150.
    expect(scheduleOnly.wait.max).toBe(140);
    const withWebhook = await simulate(trace('10,100'), oursPolicy({ ...DEFAULT_OURS, webhook: { delaySeconds: 2, minIntervalSeconds: 5 } }), exact);
    // Poked at 12, launched at 12, registered at 102.
    expect(withWebhook.wait.max).toBe(92);
  });

  test('pokes within the rate-limit interval are coalesced into one invocation', async () => {
    const runs = trace('10,100\n11,100\n12,100');
    const coalesced = await simulate(runs, oursPolicy({ ...DEFAULT_OURS, webhook: { delaySeconds: 2, minIntervalSeconds: 5 } }), exact);
    const every = await simulate(runs, oursPolicy({ ...DEFAULT_OURS, webhook: { delaySeconds: 2, minIntervalSeconds: 0 } }), exact);
    expect(coalesced.invocations.invocations).toBeLessThan(every.invocations.invocations);
    // The one poke, delivered at 12, finds all three runs queued: all launch at 12.
    expect(coalesced.wait.max).toBe(92);
  });

  test('a run queued just after a poke\'s tick is seen when the interval ends (a trailing poke), not at the next minute', async () => {
    // Run 1's delivery reaches the endpoint at 12 and pokes (tick at 12); run 2's, queued at 13, arrives at 15 and sends
    // the trailing poke for the interval's end, 17: registered at 107, a wait of 94 s. Without it, seen at 60: 137 s.
    const result = await simulate(trace('10,100\n13,100'), oursPolicy({ ...DEFAULT_OURS, webhook: { delaySeconds: 2, minIntervalSeconds: 5 } }), exact);
    expect(result.wait.max).toBe(94);
  });

  test('a finished run does not poke: its idle worker is still there for the dependent run queued 10 s later', async () => {
    const chain = parseTrace('submit_s,duration_s,id,after\n0,100,a,\n10,50,b,a', 'chain.csv');
    const result = await simulate(chain, oursPolicy({ ...DEFAULT_OURS, webhook: DEFAULT_WEBHOOK }), exact);
    // a: poked at 2, registered at 92, ends at 192; b queued at 202 takes the same worker at once.
    expect(result.launches).toBe(1);
    expect(result.runs).toBe(2);
    expect(result.wait.p50).toBe(0);
  });

  test('the default model is a 2 s delivery and the endpoint\'s 5 s rate limit', () => {
    expect(DEFAULT_WEBHOOK).toEqual({ delaySeconds: 2, minIntervalSeconds: 5 });
  });
});
