import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.join(__dirname, '..', '..');
const PEERS = ['aws-cdk-lib', 'constructs'].map((name) => `${name}@${require(`${name}/package.json`).version}`);

// What a user does: install the published tarball next to aws-cdk-lib and synthesize a pool from it.
test('the npm tarball installs into a fresh project and synthesizes a SpaceliftWorkerPool', () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'consumer-'));
  const [pack] = JSON.parse(execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: ROOT, encoding: 'utf8' }));
  fs.writeFileSync(path.join(work, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts', path.join(work, pack.filename), ...PEERS], {
    cwd: work, stdio: 'pipe', timeout: 240_000,
  });
  fs.writeFileSync(path.join(work, 'app.js'), `
const { App, Stack } = require('aws-cdk-lib');
const ec2 = require('aws-cdk-lib/aws-ec2');
const sm = require('aws-cdk-lib/aws-secretsmanager');
const { SpaceliftWorkerPool, SpaceliftApiKey, WorkerImage, WorkerPoolCredentials } = require('cdk-ec2-workerpool');
const app = new App({ outdir: 'cdk.out' });
const stack = new Stack(app, 'Consumer');
new SpaceliftWorkerPool(stack, 'Pool', {
  vpc: new ec2.Vpc(stack, 'Vpc'),
  workerPoolId: '01J9ZQ4W8R6T2K3M5N7P9X1Y2Z',
  credentials: WorkerPoolCredentials.fromSecret(sm.Secret.fromSecretNameV2(stack, 'Creds', 'spacelift/pool')),
  spaceliftApiKey: SpaceliftApiKey.fromSecureStringParameter({
    endpoint: 'https://acme.app.spacelift.io', apiKeyId: '01J9ZQ4W8R6T2K3M5N7P9APIKY', parameterName: '/spacelift/api-key',
  }),
  machineImage: WorkerImage.fromMachineImage(ec2.MachineImage.latestAmazonLinux2023(), ec2.InstanceArchitecture.X86_64),
});
app.synth();
`);
  execFileSync(process.execPath, ['app.js'], { cwd: work, stdio: 'pipe' });

  const template = JSON.parse(fs.readFileSync(path.join(work, 'cdk.out', 'Consumer.template.json'), 'utf8'));
  const types = Object.values<any>(template.Resources).map((r) => r.Type);
  expect(types).toEqual(expect.arrayContaining(['AWS::AutoScaling::AutoScalingGroup', 'AWS::AutoScaling::LifecycleHook', 'AWS::Lambda::Function']));
  // Both handler bundles were found inside the installed package and staged as assets.
  const assets = JSON.parse(fs.readFileSync(path.join(work, 'cdk.out', 'Consumer.assets.json'), 'utf8'));
  const staged = Object.values<any>(assets.files)
    .map((f) => path.join(work, 'cdk.out', f.source.path, 'index.js'))
    .filter((file) => fs.existsSync(file))
    .map((file) => fs.readFileSync(file, 'utf8'));
  for (const handler of ['autoscaler', 'drain']) {
    expect(staged).toContain(fs.readFileSync(path.join(ROOT, 'assets', handler, 'index.js'), 'utf8'));
  }
}, 300_000);
