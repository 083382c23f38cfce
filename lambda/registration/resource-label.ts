/**
 * The label that ties a Spacelift worker pool to the custom resource that created it, so a repeated Create (a
 * CloudFormation retry, or our own retry after a timeout) finds and adopts the pool instead of making a second one.
 *
 * It is a hash of the stack id and the logical id rather than the ids themselves: the stack id is an ARN of over
 * a hundred characters with ':' and '/', and labels are short tags that Spacelift shows in lists and matches in
 * policies (some prefixes, like `folder:`, have a meaning there). A fixed 32 hex characters stay small, carry only
 * [0-9a-f], and are unique per stack instance (a re-created stack has a new stack id, so a new pool).
 */
import { createHash } from 'node:crypto';

export const RESOURCE_LABEL_PREFIX = 'cdk-ec2-workerpool:resource=';

export function resourceLabel(stackId: string, logicalResourceId: string): string {
  const digest = createHash('sha256').update(`${stackId}\n${logicalResourceId}`).digest('hex');
  return `${RESOURCE_LABEL_PREFIX}${digest.slice(0, 32)}`;
}

/** The user's labels with ours appended; a user label that looks like ours is dropped so only one can match. */
export function withResourceLabel(labels: readonly string[], own: string): string[] {
  return [...new Set(labels.filter((label) => !label.startsWith(RESOURCE_LABEL_PREFIX))), own];
}
