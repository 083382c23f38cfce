import * as fs from 'fs';
import * as path from 'path';
import { FeatureFlags, Stack } from 'aws-cdk-lib';
import { CURRENTLY_RECOMMENDED_FLAGS } from 'aws-cdk-lib/cx-api';
import { recommendedApp } from '../support/recommended-app';

const ROOT = path.join(__dirname, '..', '..');

// `cdk init` writes the recommended flags into a new app's cdk.json; `cdk synth` of our examples and
// every test App must run with the same set, or we test a CDK our users do not have.
test('cdk.json carries exactly the feature flags `cdk init` writes for the pinned aws-cdk-lib', () => {
  const context = JSON.parse(fs.readFileSync(path.join(ROOT, 'cdk.json'), 'utf8')).context;
  const flags = Object.fromEntries(Object.entries(context).filter(([key]) => key.startsWith('@aws-cdk')));
  expect(flags).toEqual(CURRENTLY_RECOMMENDED_FLAGS);
});

test('test Apps are built with the recommended flags', () => {
  const stack = new Stack(recommendedApp(), 'Flags');
  expect(Object.keys(CURRENTLY_RECOMMENDED_FLAGS).length).toBeGreaterThan(50);
  expect(FeatureFlags.of(stack).isEnabled('@aws-cdk/core:checkSecretUsage')).toBe(true);
});
