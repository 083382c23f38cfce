import * as cdk from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** One cdk-nag finding the library acknowledges, with why it is acceptable. */
interface Acknowledgement {
  /** Rule id, such as `AwsSolutions-AS3`. */
  readonly id: string;
  readonly reason: string;
  /** Granular findings of the rule, such as `Resource::*`; all of the rule's findings when absent. */
  readonly appliesTo?: string[];
}

interface ValidationsApi {
  of(scope: IConstruct): { acknowledge?(...acknowledgements: { id: string; reason: string }[]): void };
}

/**
 * The one place the library acknowledges findings, for both ways users run cdk-nag:
 * - cdk-nag v3 (a `Validations` plugin) reads `Validations.of(scope).acknowledge(...)`, which
 *   aws-cdk-lib only has in newer releases, so it is used when it exists;
 * - cdk-nag v2 (an Aspect) reads `cdk_nag` metadata suppressions on each CfnResource under the scope.
 *
 * @see https://github.com/cdklabs/cdk-nag#suppressing-a-rule
 */
export function acknowledge(scope: IConstruct, ...acknowledgements: Acknowledgement[]): void {
  // Absent before aws-cdk-lib added synth-time validations, so typed here rather than imported.
  const validations = (cdk as { Validations?: ValidationsApi }).Validations;
  const target = validations?.of(scope);
  if (typeof target?.acknowledge === 'function') {
    target.acknowledge(...acknowledgements.flatMap(({ id, reason, appliesTo }) =>
      appliesTo ? appliesTo.map((finding) => ({ id: `${id}[${finding}]`, reason })) : [{ id, reason }]));
  }

  const suppressions = acknowledgements.map(({ id, reason, appliesTo }) => ({ id, reason, ...(appliesTo ? { applies_to: appliesTo } : {}) }));
  for (const resource of scope.node.findAll().filter(cdk.CfnResource.isCfnResource)) {
    const existing = resource.getMetadata('cdk_nag')?.rules_to_suppress ?? [];
    resource.addMetadata('cdk_nag', { rules_to_suppress: [...existing, ...suppressions] });
  }
}

/**
 * Acknowledges cdk-nag AwsSolutions-IAM5 findings for specific wildcard actions and resources.
 *
 * cdk-nag matches granular findings exactly (`AwsSolutions-IAM5[Resource::<flattened ARN>]`), so an
 * ARN containing tokens is flattened the way cdk-nag prints it: `Ref`s and `GetAtt`s become
 * `<LogicalId>` / `<LogicalId.Attr>` and joins are concatenated. Acknowledging the exact finding,
 * instead of the whole rule, keeps any other wildcard someone adds later visible. Call it after the
 * statements are added, so the policy resource exists for the cdk-nag v2 metadata.
 */
export function acknowledgeWildcards(scope: IConstruct, wildcards: { actions?: string[]; resources?: string[] }, reason: string): void {
  const stack = cdk.Stack.of(scope);
  acknowledge(scope, {
    id: 'AwsSolutions-IAM5',
    reason,
    appliesTo: [
      ...(wildcards.actions ?? []).map((action) => `Action::${action}`),
      ...(wildcards.resources ?? []).map((arn) => `Resource::${flattenReference(stack.resolve(arn))}`),
    ],
  });
}

function flattenReference(node: unknown): string {
  if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/}/g, '>');
  if (node && typeof node === 'object') {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- CloudFormation intrinsics are untyped JSON
    const fn = node as Record<string, any>;
    if (fn['Fn::Join']) {
      const [delimiter, parts] = fn['Fn::Join'];
      return (parts as unknown[]).map(flattenReference).join(delimiter);
    }
    if (fn['Fn::Sub']) return flattenReference(fn['Fn::Sub']);
    if (fn['Fn::GetAtt']) return `<${flattenReference(fn['Fn::GetAtt'][0])}.${flattenReference(fn['Fn::GetAtt'][1])}>`;
    if (fn['Fn::ImportValue']) return flattenReference(fn['Fn::ImportValue']);
    if (fn.Ref) return `<${flattenReference(fn.Ref)}>`;
  }
  return JSON.stringify(node);
}
