import * as fs from 'fs';
import * as path from 'path';
import { CfnParameter, SecretValue, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { SpaceliftWorkerPool, WorkerImage, WorkerPoolCredentials } from '../../lib';
import { buildExamples, exampleApp } from '../support/example-app';
import { testApiKey } from '../support/pool-stack';
import { recommendedApp } from '../support/recommended-app';

const CANARY = 'CANARY-4f1e9c0d-secret-must-not-leak';

function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(full) : [full];
  });
}

test('a plain-text credential is refused at synth, without echoing it', () => {
  const stack = new Stack(recommendedApp(), 'Leaky');
  const vpc = new ec2.Vpc(stack, 'Vpc');
  let message = '';
  try {
    new SpaceliftWorkerPool(stack, 'Pool', {
      vpc,
      workerPoolId: '01J9ZQ4W8R6T2K3M5N7P9X1Y2Z',
      credentials: WorkerPoolCredentials.fromValues(SecretValue.unsafePlainText(CANARY), SecretValue.unsafePlainText(CANARY)),
      spaceliftApiKey: testApiKey(),
      machineImage: WorkerImage.fromMachineImage(ec2.MachineImage.latestAmazonLinux2023(), ec2.InstanceArchitecture.X86_64),
    });
  } catch (error) {
    message = (error as Error).message;
  }
  expect(message).toMatch(/credentials \(token\).*plain-text SecretValue/);
  expect(message).not.toContain(CANARY);
});

test('no file of a synthesized cloud assembly contains a credential value', () => {
  const app = exampleApp();
  buildExamples(app);
  // A pool whose credentials arrive as NoEcho parameters; the canary is what a user would pass at deploy.
  const stack = new Stack(app, 'Canary', { env: { account: '123456789012', region: 'us-east-1' } });
  const token = new CfnParameter(stack, 'Token', { noEcho: true });
  const key = new CfnParameter(stack, 'Key', { noEcho: true });
  new SpaceliftWorkerPool(stack, 'Pool', {
    vpc: new ec2.Vpc(stack, 'Vpc'),
    workerPoolId: '01J9ZQ4W8R6T2K3M5N7P9X1Y2Z',
    credentials: WorkerPoolCredentials.fromValues(SecretValue.cfnParameter(token), SecretValue.cfnParameter(key)),
    spaceliftApiKey: testApiKey(),
  });
  process.env.SPACELIFT_TOKEN = CANARY; // a token in the synth environment must not be picked up either
  try {
    const assembly = app.synth();
    const files = filesUnder(assembly.directory);
    expect(files.length).toBeGreaterThan(10);
    const leaking = files.filter((file) => fs.readFileSync(file).includes(CANARY));
    expect(leaking).toEqual([]);
    // The credentials reach the secret only as parameter references.
    const template = JSON.parse(fs.readFileSync(path.join(assembly.directory, 'Canary.template.json'), 'utf8'));
    const secret = Object.values<any>(template.Resources).find((r) => r.Type === 'AWS::SecretsManager::Secret');
    expect(JSON.stringify(secret.Properties.SecretString)).toContain('"Ref":"Token"');
  } finally {
    delete process.env.SPACELIFT_TOKEN;
  }
});
