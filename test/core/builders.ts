/** Small builders for snapshots; each test states only what matters to it. */
import {
  DEFAULT_SCALING_CONFIG,
  type AsgInstance,
  type AsgSnapshot,
  type DecisionInput,
  type PoolSnapshot,
  type ScalingConfig,
  type Worker,
} from '../../lambda/core';

export const ASG = 'workers-asg';
/** Monday 2024-01-15 12:00:00 UTC. */
export const NOW = Date.UTC(2024, 0, 15, 12, 0, 0) / 1000;

/** Instance ids must be well-formed for the metadata parser: `i-` + 8..17 hex digits. */
export function instanceId(n: number): string {
  return `i-${n.toString(16).padStart(8, '0')}`;
}

export function worker(id: string, onInstance: string, fields: Partial<Omit<Worker, 'id' | 'metadata'>> & { asg?: string } = {}): Worker {
  const { asg = ASG, ...rest } = fields;
  return {
    id,
    busy: false,
    drained: false,
    createdAt: NOW - 3600,
    availableAt: NOW - 3600,
    metadata: { valid: true, asgName: asg, instanceId: onInstance },
    ...rest,
  };
}

export function invalidWorker(id: string, reason = 'no metadata', fields: Partial<Omit<Worker, 'id' | 'metadata'>> = {}): Worker {
  return { id, busy: false, drained: false, createdAt: NOW - 3600, metadata: { valid: false, reason }, ...fields };
}

export function instance(id: string, fields: Partial<Omit<AsgInstance, 'id'>> = {}): AsgInstance {
  return { id, lifecycleState: 'InService', launchTime: NOW - 3600, protectedFromScaleIn: true, ...fields };
}

export function asg(fields: Partial<AsgSnapshot> = {}): AsgSnapshot {
  const instances = fields.instances ?? [];
  return { name: ASG, minSize: 0, maxSize: 10, desiredCapacity: instances.length, instances, ...fields };
}

export function pool(workers: Worker[] = [], pendingRuns = 0, fields: Partial<PoolSnapshot> = {}): PoolSnapshot {
  return { pendingRuns, workers, ...fields };
}

export function config(fields: Partial<ScalingConfig> = {}): ScalingConfig {
  return { ...DEFAULT_SCALING_CONFIG, ...fields };
}

/** N idle instances, each with its worker, idle for an hour. */
export function idleFleet(count: number, firstInstance = 1): { workers: Worker[]; instances: AsgInstance[] } {
  const instances = Array.from({ length: count }, (_, i) => instance(instanceId(firstInstance + i)));
  const workers = instances.map((inst, i) => worker(`w${firstInstance + i}`, inst.id));
  return { workers, instances };
}

export function input(fields: Partial<DecisionInput> & Pick<DecisionInput, 'pool' | 'asg'>): DecisionInput {
  return { config: config(), now: NOW, ...fields };
}
