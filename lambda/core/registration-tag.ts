/**
 * EC2 tag the autoscaler puts on an instance once it has seen the instance's worker (registration.ts); the
 * construct scopes the autoscaler's ec2:CreateTags permission to this key. The value is unused.
 */
export const REGISTERED_TAG_KEY = 'cdk-ec2-workerpool:worker-registered';
