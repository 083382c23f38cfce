import * as fs from 'fs';
import * as path from 'path';
import { Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { buildExamples, exampleApp } from '../support/example-app';

// The gate: every example stack passes AwsSolutions with zero unacknowledged findings, and every
// acknowledgement the library ships carries a reason.
test('cdk-nag AwsSolutions finds nothing unacknowledged in any example', () => {
  const app = exampleApp();
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  buildExamples(app);

  let failure: unknown;
  try {
    app.synth();
  } catch (error) {
    failure = error;

  }
  const report = JSON.parse(fs.readFileSync(path.join(app.outdir, 'validation-report.json'), 'utf8'));
  // With the recommended flags, the pool's warnings about legal-but-risky settings (spot in the spot
  // example) are listed in the same report by the 'Construct Annotations' plugin; they are not findings.
  const findings = report.pluginReports.filter((plugin: any) => plugin.pluginName !== 'Construct Annotations');
  const violations = findings.flatMap((plugin: any) => plugin.violations.flatMap((v: any) =>
    v.violatingConstructs.map((c: any) => `${v.ruleName} at ${c.constructPath}`)));
  expect(violations).toEqual([]);
  expect(failure).toBeUndefined();
});
