/**
 * The labels the registration puts on the Spacelift worker pool it creates, next to the user's. Both are short
 * tags that Spacelift shows in lists and matches in policies (some prefixes, like `folder:`, have a meaning there),
 * so they carry 32 hex characters of a hash, never a name or a key.
 *
 * - The resource label ties the pool to the custom resource that created it, so a repeated Create (a CloudFormation
 *   retry, our own retry after a timeout, or the stack created again under the same name after a failed first
 *   deploy or a deletion that retained the pool) finds and takes over the pool instead of making a second one. It
 *   hashes the stack's partition, region, account and name with the logical id: the stack id without its trailing
 *   unique suffix, which changes each time a stack of that name is created. Two pools in one account and region
 *   differ in stack name or logical id, so they never share it.
 * - The key label names the public key the pool's current certificate was issued for (a hash of its
 *   SubjectPublicKeyInfo). A private key read back from the secret is trusted for the pool only when the pool
 *   carries its key label; the label is removed before each reset and set again only once the reset's key is
 *   stored, so a reset that happened but was never confirmed cannot leave a stale match behind.
 */
import { createHash } from 'node:crypto';

/** Every label with this prefix is the registration's own; a user label with it is refused at synth. */
export const RESERVED_LABEL_PREFIX = 'cdk-ec2-workerpool:';
const RESOURCE_LABEL_PREFIX = `${RESERVED_LABEL_PREFIX}resource=`;
const KEY_LABEL_PREFIX = `${RESERVED_LABEL_PREFIX}key=`;

export function resourceLabel(stackId: string, logicalResourceId: string): string {
  const digest = createHash('sha256').update(`${stackIdentity(stackId)}\n${logicalResourceId}`).digest('hex');
  return `${RESOURCE_LABEL_PREFIX}${digest.slice(0, 32)}`;
}

/** `arn:<partition>:cloudformation:<region>:<account>:stack/<name>/<unique id>` without `/<unique id>`. */
function stackIdentity(stackId: string): string {
  const match = /^(arn:[^:]+:cloudformation:[^:]*:[^:]*:stack\/[^/]+)\/[^/]+$/.exec(stackId);
  return match === null ? stackId : match[1];
}

/** `fingerprint`: credentials.ts `keyFingerprint`. */
export function keyLabel(fingerprint: string): string {
  return `${KEY_LABEL_PREFIX}${fingerprint}`;
}

/** The fingerprint in a pool's key label, or undefined when it carries none. */
export function keyFingerprintOf(labels: readonly string[]): string | undefined {
  return labels.find((label) => label.startsWith(KEY_LABEL_PREFIX))?.slice(KEY_LABEL_PREFIX.length);
}

/** The user's labels, without any that look like ours, then ours: the resource label and the key label if known. */
export function withOwnLabels(labels: readonly string[], resource: string, fingerprint?: string): string[] {
  const own = fingerprint === undefined ? [resource] : [resource, keyLabel(fingerprint)];
  return [...new Set(labels.filter((label) => !label.startsWith(RESERVED_LABEL_PREFIX))), ...own];
}
