/** §6: the fault-mode property test; `undefined` when it was skipped. */
import { PROPERTY_TEST, type PropertyOutcome } from '../measure/property';

export function renderProperty(outcome: PropertyOutcome | undefined): string[] {
  const heading = ['## 6. Fault-mode property test', ''];
  if (outcome === undefined) return [...heading, 'Skipped in this run (`--quick` or `--no-property`).', ''];
  return [
    ...heading,
    `\`SIM_PROPERTY_RUNS=${outcome.runs} jest ${PROPERTY_TEST}\`: ${outcome.passed ? 'passed' : '**FAILED**'} in ${outcome.seconds.toFixed(0)} s.`,
    '',
    ...outcome.summary.map((l) => `    ${l}`),
    '',
    'Invariants (random call failures, some applied anyway; instance deaths; boot failures; random settings, ' +
      'drainedReclaimSeconds 60, 300 or 900 among them): no busy worker terminated; desired capacity within [min, max] and ' +
      'never refused by AWS; every run starts; no live instance left with a drained worker. The second property adds ' +
      'Lambda cold starts, which forget the executor\'s pending undrains, and checks all four: an instance left drained ' +
      'is reclaimed once its workers have idled for drainedReclaimSeconds (it asserts that reclaims happened). The ' +
      'third and fourth tests replay the case deterministically: a failed undrain, then a cold start.',
    '',
  ];
}
