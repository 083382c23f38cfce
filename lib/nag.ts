import { Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * Acknowledges cdk-nag AwsSolutions-IAM5 findings for specific wildcard actions and resources.
 *
 * cdk-nag v3 matches granular ids exactly (`AwsSolutions-IAM5[Resource::<flattened ARN>]`), so an
 * ARN containing tokens is flattened the way cdk-nag prints it: `Ref`s and `GetAtt`s become
 * `<LogicalId>` / `<LogicalId.Attr>` and joins are concatenated. Acknowledging the exact finding,
 * instead of the whole rule, keeps any other wildcard someone adds later visible.
 */
export function acknowledgeWildcards(scope: IConstruct, wildcards: { actions?: string[]; resources?: string[] }, reason: string): void {
  const stack = Stack.of(scope);
  const ids = [
    ...(wildcards.actions ?? []).map((action) => `AwsSolutions-IAM5[Action::${action}]`),
    ...(wildcards.resources ?? []).map((arn) => `AwsSolutions-IAM5[Resource::${flattenReference(stack.resolve(arn))}]`),
  ];
  Validations.of(scope).acknowledge(...ids.map((id) => ({ id, reason })));
}

function flattenReference(node: unknown): string {
  if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/}/g, '>');
  if (node && typeof node === 'object') {
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
