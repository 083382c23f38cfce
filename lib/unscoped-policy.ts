import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { acknowledgeWildcards } from './nag';

/**
 * Grants actions that have no resource-level permissions on `"*"`, in an inline policy of their own,
 * and acknowledges the cdk-nag wildcard finding on that policy only. An acknowledgement on the role
 * would also cover every later `"*"` statement in the role's default policy (where grants and the
 * user's `extraPolicyStatements` land), hiding exactly what a security review must see.
 *
 * Give the resources that need the permission when they are created a dependency on the returned
 * policy (Lambda checks a VPC function's network interface permissions at creation).
 */
export function grantUnscoped(scope: Construct, id: string, role: iam.IRole, actions: string[], reason: string): iam.Policy {
  const policy = new iam.Policy(scope, id, {
    roles: [role],
    statements: [new iam.PolicyStatement({ actions, resources: ['*'] })],
  });
  acknowledgeWildcards(policy, { resources: ['*'] }, reason);
  return policy;
}
