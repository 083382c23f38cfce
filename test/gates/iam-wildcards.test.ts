import { Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';
import { buildExamples, exampleApp } from '../support/example-app';

// Read-only verbs; anything else is treated as mutating.
const READ_ONLY = /^[a-z0-9-]+:(Describe|Get|List|BatchGet)[A-Za-z]*$/;

function acknowledgements(construct: IConstruct): Record<string, string> {
  const found: Record<string, string> = {};
  for (let c: IConstruct | undefined = construct; c; c = c.node.scope) {
    for (const entry of c.node.metadata) {
      if (entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY) Object.assign(found, entry.data);
    }
  }
  return found;
}

test('every mutating action on "*" in any example is acknowledged with a reason', () => {
  const app = buildExamples(exampleApp());
  const findings: string[] = [];
  let mutatingOnStar = 0;
  for (const construct of app.node.findAll()) {
    if (!(construct instanceof iam.CfnPolicy)) continue;
    const document = Stack.of(construct).resolve(construct.policyDocument);
    for (const statement of document.Statement) {
      const resources: unknown[] = [].concat(statement.Resource);
      if (statement.Effect !== 'Allow' || !resources.includes('*')) continue;
      const mutating = ([] as string[]).concat(statement.Action).filter((action) => !READ_ONLY.test(action));
      if (mutating.length === 0) continue;
      mutatingOnStar++;
      const reason = acknowledgements(construct)['Annotation::AwsSolutions-IAM5[Resource::*]'] ?? '';
      // A real reason says why, in a sentence; not just "ok".
      if (reason.split(/\s+/).length < 8) {
        findings.push(`${construct.node.path}: ${mutating.join(', ')} on "*" (acknowledgement: "${reason}")`);
      }
    }
  }
  expect(findings).toEqual([]);
  // The examples do contain such statements (Session Manager channels), so this test is not vacuous.
  expect(mutatingOnStar).toBeGreaterThan(0);
});
