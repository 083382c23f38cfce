/**
 * Policy specs as the CLI takes them: `ours`, `spacelift-v2`, `spacelift-v2-tuned`, each optionally
 * followed by `:key=value/key=value` overrides, e.g.
 *
 *   ours:poll=10/delay=breakEven:min=30,max=600/maxTerminate=2
 *   spacelift-v2:create=20/kill=20/delay=5/version=2.7
 *
 * A list separates specs with commas; a comma only starts a new spec when a policy name follows it,
 * so values such as `breakEven:min=30,max=600` keep theirs.
 */
import type { ScalingConfig } from '../../../lambda/core/config';
import { POLL_WHEN_MODES, type PollWhen } from '../../../lambda/core/next-tick';
import { parseScaleDownDelay } from '../../../lambda/core/scale-down-delay';
import type { Policy } from '../policy';
import { DEFAULT_WEBHOOK } from '../webhook';
import { DEFAULT_OURS, oursPolicy, type OursOptions } from './ours';
import { SPACELIFT_V2_DEFAULTS, spaceliftV2Policy, type SpaceliftV2Options } from './spacelift-v2';

export const POLICY_NAMES = ['ours', 'spacelift-v2', 'spacelift-v2-tuned'] as const;

function integer(value: string, key: string, min: number): number {
  if (!/^\d+$/.test(value) || Number(value) < min) throw new Error(`${key} must be an integer >= ${min}, got "${value}"`);
  return Number(value);
}

function seconds(value: string, key: string, min: number): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < min) throw new Error(`${key} must be a number >= ${min}, got "${value}"`);
  return n;
}

export function splitPolicyList(text: string): string[] {
  const names = POLICY_NAMES.map((name) => name.replace(/-/g, '\\-')).join('|');
  return text
    .split(new RegExp(`,(?=\\s*(?:${names})(?::|,|$))`))
    .map((spec) => spec.trim())
    .filter((spec) => spec !== '');
}

/** Applies `key=value` overrides to our autoscaler's options. */
export function applyOursOverride(options: OursOptions, key: string, value: string): OursOptions {
  const scaling = (patch: Partial<ScalingConfig>): OursOptions => ({ ...options, scaling: { ...options.scaling, ...patch } });
  switch (key) {
    case 'poll':
      return { ...options, pollIntervalSeconds: seconds(value, key, 1) };
    case 'schedule':
      return { ...options, scheduleSeconds: seconds(value, key, 1) };
    case 'loop':
      return { ...options, loopSeconds: seconds(value, key, 0) };
    case 'pollWhen':
      if (!(POLL_WHEN_MODES as readonly string[]).includes(value)) {
        throw new Error(`pollWhen must be one of ${POLL_WHEN_MODES.join(', ')}, got "${value}"`);
      }
      return { ...options, pollWhen: value as PollWhen };
    case 'delay':
      return scaling({ scaleDownDelay: parseScaleDownDelay(value) });
    case 'webhook':
      return { ...options, webhook: value === 'off' ? undefined : { ...DEFAULT_WEBHOOK, delaySeconds: seconds(value, key, 0) } };
    case 'soon':
      return scaling({ busyFinishingWithinSeconds: integer(value, key, 0) });
    case 'maxTerminate':
      return scaling({ maxTerminatePerTick: integer(value, key, 0) });
    case 'maxCreate':
      return scaling({ maxCreatePerTick: value === 'gap' ? undefined : integer(value, key, 1) });
    case 'maxStrays':
      return scaling({ maxStraysPerTick: integer(value, key, 0) });
    case 'minIdle':
      return scaling({ minIdle: integer(value, key, 0) });
    case 'grace':
      return scaling({ registrationGraceSeconds: integer(value, key, 0) });
    case 'reclaim':
      return scaling({ drainedReclaimSeconds: integer(value, key, 0) });
    case 'label':
      return { ...options, label: value };
    default:
      throw new Error(
        `unknown option "${key}" for ours; expected poll, schedule, loop, pollWhen, webhook, delay, soon, maxTerminate, maxCreate, maxStrays, minIdle, grace, reclaim or label`,
      );
  }
}

export function applyV2Override(options: SpaceliftV2Options, key: string, value: string): SpaceliftV2Options {
  switch (key) {
    case 'create':
      return { ...options, maxCreate: integer(value, key, 1) };
    case 'kill':
      return { ...options, maxKill: integer(value, key, 1) };
    case 'delay':
      return { ...options, scaleDownDelayMinutes: integer(value, key, 0) };
    case 'idleTime':
      return { ...options, useIdleTime: value === 'true' };
    case 'util':
      return { ...options, targetUtilizationPercent: integer(value, key, 0) };
    case 'version':
      if (value !== '2.7' && value !== '2.8') throw new Error(`version must be 2.7 or 2.8, got "${value}"`);
      return { ...options, version: value };
    case 'schedule':
      return { ...options, scheduleSeconds: seconds(value, key, 1) };
    case 'timeout':
      return { ...options, timeoutSeconds: seconds(value, key, 1) };
    case 'label':
      return { ...options, label: value };
    default:
      throw new Error(`unknown option "${key}" for spacelift-v2; expected create, kill, delay, idleTime, util, version, schedule, timeout or label`);
  }
}

export interface PolicyDefaults {
  readonly ours: OursOptions;
  readonly v2: SpaceliftV2Options;
  /** Max size: what `spacelift-v2-tuned` sets MAX_CREATE and MAX_KILL to. */
  readonly maxSize: number;
  /** First invocation offset for every policy. */
  readonly phaseSeconds: number;
}

export const DEFAULT_POLICY_DEFAULTS: PolicyDefaults = {
  ours: DEFAULT_OURS,
  v2: SPACELIFT_V2_DEFAULTS,
  maxSize: 20,
  phaseSeconds: 0,
};

function overrides(text: string | undefined): [string, string][] {
  if (text === undefined || text === '') return [];
  return text.split('/').map((pair) => {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new Error(`policy option "${pair}" is not key=value`);
    return [pair.slice(0, eq).trim(), pair.slice(eq + 1).trim()];
  });
}

export function parsePolicy(spec: string, defaults: PolicyDefaults = DEFAULT_POLICY_DEFAULTS): Policy {
  const colon = spec.indexOf(':');
  const name = colon < 0 ? spec : spec.slice(0, colon);
  const pairs = overrides(colon < 0 ? undefined : spec.slice(colon + 1));
  try {
    switch (name) {
      case 'ours': {
        let options: OursOptions = { ...defaults.ours, phaseSeconds: defaults.phaseSeconds };
        for (const [key, value] of pairs) options = applyOursOverride(options, key, value);
        if (options.label === undefined && pairs.length > 0) {
          options = { ...options, label: `ours (${pairs.filter(([k]) => k !== 'label').map(([k, v]) => `${k}=${v}`).join(' ')})` };
        }
        return oursPolicy(options);
      }
      case 'spacelift-v2':
      case 'spacelift-v2-tuned': {
        let options: SpaceliftV2Options = { ...defaults.v2, phaseSeconds: defaults.phaseSeconds };
        if (name === 'spacelift-v2-tuned') {
          options = { ...options, maxCreate: Math.max(1, defaults.maxSize), maxKill: Math.max(1, defaults.maxSize) };
        }
        for (const [key, value] of pairs) options = applyV2Override(options, key, value);
        return spaceliftV2Policy(options);
      }
      default:
        throw new Error(`unknown policy "${name}"; expected one of ${POLICY_NAMES.join(', ')}`);
    }
  } catch (error) {
    throw new Error(`policy "${spec}": ${(error as Error).message}`);
  }
}
