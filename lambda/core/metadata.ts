import type { WorkerMetadata } from './types';

const INSTANCE_ID = /^i-[0-9a-f]{8,17}$/;

/**
 * Parses the metadata JSON string a worker registered with (`SPACELIFT_METADATA_*` on the launcher).
 * Anything that does not name both an ASG and a well-formed instance id is invalid: such a worker is
 * never drained or terminated by us, because we could not tell which instance it runs on.
 */
export function parseWorkerMetadata(raw: string | null | undefined): WorkerMetadata {
  if (raw === null || raw === undefined || raw === '') {
    return { valid: false, reason: 'no metadata' };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return { valid: false, reason: 'metadata is not JSON' };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return { valid: false, reason: 'metadata is not a JSON object' };
  }
  const fields = parsed as Record<string, unknown>;
  const asgName = fields.asg_id;
  const instanceId = fields.instance_id;
  if (typeof asgName !== 'string' || asgName.trim() === '' || asgName === 'null' || asgName === 'None') {
    return { valid: false, reason: 'metadata has no asg_id' };
  }
  if (typeof instanceId !== 'string' || !INSTANCE_ID.test(instanceId)) {
    return { valid: false, reason: 'metadata has no valid instance_id' };
  }
  return { valid: true, asgName, instanceId };
}
