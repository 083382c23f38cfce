import fc from 'fast-check';
import { simulate } from '../../bench/sim/engine';
import { DEFAULT_MODEL } from '../../bench/sim/model';
import { oursPolicy } from '../../bench/sim/policies/ours';
import { DEFAULT_SCALING_CONFIG } from '../../lambda/core/config';
import { parseScaleDownDelay } from '../../lambda/core/scale-down-delay';
import { World } from '../../bench/sim/world';
test('probe', async () => {
  const agg: Record<string, number> = {};
  let stranded = 0, unstarted = 0, busy = 0, n = 0;
  const examples: string[] = [];
  for (let seed = 1; seed <= 1500; seed++) {
    const runs = Array.from({ length: 8 }, (_, i) => ({ id: i, submit: i * 60, duration: 300 }));
    const model = { ...DEFAULT_MODEL, maxSize: 3, minSize: 0, seed, settleLimitSeconds: 7200,
      latency: { spacelift: 1, aws: 0.5 },
      faults: { callFailureRate: 0.3, appliedOnFailure: 0.5, failureLatency: 5, deathsPerInstanceHour: 1, bootFailureRate: 0.1, coldStartsPerHour: 0, until: 1800 } };
    const policy = oursPolicy({ scaling: { ...DEFAULT_SCALING_CONFIG, scaleDownDelay: parseScaleDownDelay('fixed:0'), maxTerminatePerTick: 3 }, pollIntervalSeconds: 10, scheduleSeconds: 60 });
    let world: World | undefined;
    const r = await simulate({ name: 'p', runs }, { ...policy, attach(w) { world = w; return policy.attach(w); } }, model);
    n++;
    for (const [k, v] of Object.entries(r.world.callsByOp)) agg[k] = (agg[k] ?? 0) + v;
    agg.failed = (agg.failed ?? 0) + r.world.failedCalls;
    agg.deaths = (agg.deaths ?? 0) + r.world.deaths;
    agg.bootFailures = (agg.bootFailures ?? 0) + r.world.bootFailures;
    agg.coldStarts = (agg.coldStarts ?? 0) + r.invocations.coldStarts;
    agg.replacements = (agg.replacements ?? 0) + r.replacements;
    agg.killed = (agg.killed ?? 0) + r.runsKilled;
    const s = world!.liveWorkers().filter((w) => w.drained && w.instance.inAsg && !w.instance.dead && (w.instance.state === 'InService' || w.instance.state === 'Pending'));
    if (s.length) { stranded++; if (examples.length < 3) examples.push(`seed ${seed} stranded ${s.map(w=>w.id)} settled=${r.settled}`); }
    if (r.unstarted) unstarted++;
    if (r.busyTerminated) busy++;
  }
  console.log(JSON.stringify({ n, stranded, unstarted, busy, agg, examples }, null, 1));
}, 600000);
