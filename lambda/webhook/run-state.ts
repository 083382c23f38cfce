/**
 * Which deliveries poke the autoscaler: only runs that now wait for a worker. A poke right after a run finishes
 * would have the autoscaler release its idle worker (scale-down delay 0) seconds before a dependent stack's run is
 * queued, which would then pay a boot (bench/sim/webhook.ts measured +8-10% instance-hours on dependency chains).
 *
 * Spacelift's default run payload carries the new state at the top level (`state`); a notification-policy payload
 * carries whatever the policy puts there (the README's policy sends `state`). A payload without a `state` string
 * pokes: it cannot say it is not waiting. States, from Spacelift's run state machine: QUEUED (waiting for its turn),
 * READY (eligible, waiting for a worker), CONFIRMED and REPLAN_REQUESTED (a tracked run's apply or a replan about to
 * need a worker again).
 */
const WAITING_STATES: ReadonlySet<string> = new Set(['QUEUED', 'READY', 'CONFIRMED', 'REPLAN_REQUESTED']);

export function waitsForWorker(payload: Readonly<Record<string, unknown>>): boolean {
  const state = payload.state;
  return typeof state !== 'string' || WAITING_STATES.has(state.toUpperCase());
}
