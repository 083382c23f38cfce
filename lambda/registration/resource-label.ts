/**
 * The label that ties a Spacelift worker pool to the custom resource that created it, so a repeated Create (a
 * CloudFormation retry, our own retry after a timeout, or the stack created again under the same name after a
 * failed first deploy or a deletion that retained the pool) finds and adopts the pool instead of making a second one.
 *
 * It hashes the stack's partition, region, account and name with the logical id: the stack id without its
 * trailing unique suffix, which changes each time a stack of that name is created. Two pools in one account and
 * region differ in stack name or logical id, so they never share a label. A hash rather than the names: labels are
 * short tags that Spacelift shows in lists and matches in policies (some prefixes, like `folder:`, have a meaning
 * there); 32 hex characters stay small and carry only [0-9a-f].
 */
import { createHash } from 'node:crypto';

export const RESOURCE_LABEL_PREFIX = 'cdk-ec2-workerpool:resource=';

export function resourceLabel(stackId: string, logicalResourceId: string): string {
  const digest = createHash('sha256').update(`${stackIdentity(stackId)}\n${logicalResourceId}`).digest('hex');
  return `${RESOURCE_LABEL_PREFIX}${digest.slice(0, 32)}`;
}

/** `arn:<partition>:cloudformation:<region>:<account>:stack/<name>/<unique id>` without `/<unique id>`. */
function stackIdentity(stackId: string): string {
  const match = /^(arn:[^:]+:cloudformation:[^:]*:[^:]*:stack\/[^/]+)\/[^/]+$/.exec(stackId);
  return match === null ? stackId : match[1];
}

/** The user's labels with ours appended; a user label that looks like ours is dropped so only one can match. */
export function withResourceLabel(labels: readonly string[], own: string): string[] {
  return [...new Set(labels.filter((label) => !label.startsWith(RESOURCE_LABEL_PREFIX))), own];
}
