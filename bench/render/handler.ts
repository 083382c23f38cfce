/** §4: the handler's tick against in-memory fakes. */
import type { TickMeasurement } from '../handler-bench';
import { markdownTable } from '../sim/report';

/** `snapshot, drain x5, ...`: each call name once, in order of first use, with its count. */
function countedCalls(calls: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const call of calls) {
    const name = call.split(':')[1];
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return [...counts].map(([name, n]) => (n > 1 ? `${name} x${n}` : name)).join(', ');
}

export function renderHandler(rows: readonly TickMeasurement[]): string[] {
  const steady1000 = rows.find((r) => r.workers === 1000 && r.scenario === 'steady');
  const met = steady1000 !== undefined && steady1000.awsCalls <= 5 && steady1000.spaceliftCalls <= 2;
  return [
    '## 4. Autoscaler handler tick (in-process, in-memory fakes)',
    '',
    '`createHandler` from lambda/autoscaler/handler.ts, one tick per invocation, against fakes that answer at once: the ' +
      'latency is the handler\'s own CPU time. Measured in a fresh process; heap figures include that process\'s baseline ' +
      '(ts-node and the loaded modules), shown in brackets.',
    '',
    markdownTable(rows, [
      { title: 'workers', value: (r) => String(r.workers) },
      { title: 'tick', value: (r) => r.scenario, right: false },
      { title: 'AWS calls', value: (r) => String(r.awsCalls) },
      { title: 'Spacelift calls', value: (r) => String(r.spaceliftCalls) },
      { title: 'calls', value: (r) => countedCalls(r.calls), right: false },
      { title: 'p50 ms', value: (r) => r.p50Ms.toFixed(3) },
      { title: 'p95 ms', value: (r) => r.p95Ms.toFixed(3) },
      { title: 'heap MiB (baseline)', value: (r) => `${r.peakHeapMiB.toFixed(1)} (${r.heapBaselineMiB.toFixed(1)})` },
      { title: 'max RSS MiB', value: (r) => r.maxRssMiB.toFixed(0) },
    ]),
    '',
    steady1000
      ? `Target at 1,000 workers, steady tick: <= 5 AWS and <= 2 Spacelift calls: ${steady1000.awsCalls} and ` +
        `${steady1000.spaceliftCalls}, ${met ? 'met' : '**not met**'}.`
      : '',
    '',
  ];
}
