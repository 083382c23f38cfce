/**
 * Deploys test/integ/app/pool-app.ts into moto with the project's pinned CDK CLI
 * (`node_modules/.bin/cdk`): the prerequisites moto's CloudFormation cannot create, `cdk bootstrap`,
 * then `cdk deploy`. Everything runs in a temporary folder (no cdk.json, cdk.context.json or cdk.out
 * in the repository) and against moto only.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DescribeImagesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { OUTPUTS, STACK_NAME, type StackOutputs } from '../app/constants';
import { ACCOUNT, assertLoopbackOnly, clientConfig, REGION } from './moto';
import { cloudFormation } from './moto-apis';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const CDK = path.join(ROOT, 'node_modules', '.bin', 'cdk');
// The binary, not `npx ts-node`: the CLI runs in a temporary folder, where npx would not find the
// project's ts-node. --prefer-ts-exts loads lib/*.ts even where a stale compiled lib/*.js sits next to it.
const TS_NODE = path.join(ROOT, 'node_modules', '.bin', 'ts-node');
const APP = path.join(ROOT, 'test', 'integ', 'app', 'pool-app.ts');
const CLI_TIMEOUT_MS = 120_000;

/** The Spacelift API key secret the fake accepts; stored in moto before the deploy. */
export const API_KEY_SECRET = 'integ-fake-api-key-secret';

export interface Deployment {
  readonly outputs: StackOutputs;
  /** The synthesized template moto was given. */
  readonly template: CfnTemplate;
  readonly amiId: string;
  readonly credentialsSecretArn: string;
  readonly apiKeySecretArn: string;
  /** What the CLI printed for bootstrap and deploy (for failure messages). */
  readonly log: string;
  /** Removes the temporary folder. moto itself is reset by the suite's releaseMoto(). */
  cleanup(): void;
}

export interface CfnTemplate {
  readonly Resources: Record<string, { readonly Type: string; readonly Properties?: Record<string, unknown>; readonly UpdatePolicy?: unknown }>;
  readonly Outputs?: Record<string, { readonly Value: unknown }>;
}

export interface DeployOptions {
  /** Extra `-c key=value` context for the app (e.g. to try a variant of the stack). */
  readonly context?: Readonly<Record<string, string>>;
}

export async function deployPoolStack(options: DeployOptions = {}): Promise<Deployment> {
  assertLoopbackOnly();
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-ec2-workerpool-deploy-'));
  const logs: string[] = [];
  try {
    const amiId = await pickAmi();
    const secrets = new SecretsManagerClient(clientConfig());
    // moto's CloudFormation skips AWS::SecretsManager::Secret, so both secrets are made here and imported.
    const credentialsSecretArn = (await secrets.send(new CreateSecretCommand({
      Name: 'integ/spacelift-pool-credentials',
      SecretString: JSON.stringify({ SPACELIFT_TOKEN: 'aW50ZWctdG9rZW4=', SPACELIFT_POOL_PRIVATE_KEY: 'aW50ZWcta2V5' }),
    }))).ARN!;
    const apiKeySecretArn = (await secrets.send(new CreateSecretCommand({
      Name: 'integ/spacelift-api-key',
      SecretString: API_KEY_SECRET,
    }))).ARN!;
    secrets.destroy();

    logs.push(await runCdk(['bootstrap', `aws://${ACCOUNT}/${REGION}`], workDir));
    const context = {
      'integ:amiId': amiId,
      'integ:credentialsSecretArn': credentialsSecretArn,
      'integ:apiKeySecretArn': apiKeySecretArn,
      ...options.context,
    };
    const outDir = path.join(workDir, 'cdk.out');
    logs.push(await runCdk([
      'deploy', STACK_NAME,
      '--app', `${TS_NODE} --transpile-only --prefer-ts-exts ${APP}`,
      '--require-approval', 'never',
      '--output', outDir,
      ...Object.entries(context).flatMap(([key, value]) => ['--context', `${key}=${value}`]),
    ], workDir));

    const template = JSON.parse(fs.readFileSync(path.join(outDir, `${STACK_NAME}.template.json`), 'utf8')) as CfnTemplate;
    const outputs = await stackOutputs(template);
    return {
      outputs,
      template,
      amiId,
      credentialsSecretArn,
      apiKeySecretArn,
      log: logs.join('\n'),
      cleanup: () => fs.rmSync(workDir, { recursive: true, force: true }),
    };
  } catch (error) {
    fs.rmSync(workDir, { recursive: true, force: true });
    throw error;
  }
}

/** An x86_64 Amazon Linux 2 AMI from the images moto preloads; moto refuses launches from unknown AMIs. */
async function pickAmi(): Promise<string> {
  const ec2 = new EC2Client(clientConfig());
  try {
    const { Images = [] } = await ec2.send(new DescribeImagesCommand({
      Filters: [
        { Name: 'architecture', Values: ['x86_64'] },
        { Name: 'name', Values: ['amzn2-ami-hvm-*-x86_64-gp2'] },
      ],
    }));
    const image = Images.filter((i) => i.ImageId !== undefined).sort((a, b) => (a.Name ?? '').localeCompare(b.Name ?? '')).pop();
    if (image?.ImageId === undefined) throw new Error('moto preloads no x86_64 Amazon Linux 2 AMI; cannot pick an image');
    return image.ImageId;
  } finally {
    ec2.destroy();
  }
}

/**
 * The stack's outputs. moto 5.2.1 keeps no Outputs for stacks created through a change set, which is
 * what `cdk deploy` does (ChangeSet.apply in moto/cloudformation/models.py updates the resources but
 * never rebuilds the output map), so each output, a plain Ref in this app, is resolved from the
 * stack's resources instead. If moto does return outputs, they are used and must agree.
 */
async function stackOutputs(template: CfnTemplate): Promise<StackOutputs> {
  const stack = await cloudFormation.describeStack(STACK_NAME);
  if (stack.status !== 'CREATE_COMPLETE') throw new Error(`stack ${STACK_NAME} is ${stack.status} after cdk deploy`);
  const physical = new Map((await cloudFormation.describeStackResources(STACK_NAME)).map((r) => [r.logicalId, r.physicalId]));
  const resolved: Record<string, string> = {};
  for (const [key, outputId] of Object.entries(OUTPUTS)) {
    const value = template.Outputs?.[outputId]?.Value as { Ref?: string } | undefined;
    if (value?.Ref === undefined) throw new Error(`output ${outputId} must be a plain Ref, got ${JSON.stringify(value)}`);
    const id = physical.get(value.Ref);
    if (id === undefined) throw new Error(`moto has no physical id for ${value.Ref} (output ${outputId})`);
    if (stack.outputs?.[outputId] !== undefined && stack.outputs[outputId] !== id) {
      throw new Error(`moto's output ${outputId} (${stack.outputs[outputId]}) disagrees with the resource's id ${id}`);
    }
    resolved[key] = id;
  }
  return resolved as StackOutputs;
}

/** Runs the pinned CLI against moto; resolves with its output, rejects with it on failure. */
function runCdk(args: readonly string[], cwd: string): Promise<string> {
  const env = {
    ...process.env,
    // Only used to write the TemplateURL string CloudFormation is given: moto parses this form (not
    // an http://127.0.0.1 URL) and reads the template from its own S3. Nothing connects to it.
    AWS_ENDPOINT_URL_S3_FOR_CLOUDFORMATION: `https://s3.${REGION}.amazonaws.com`,
    // aws-cdk-lib's built-in template validation costs seconds per synth; the unit gates cover it.
    CDK_VALIDATION: 'false',
    CDK_DISABLE_VERSION_CHECK: '1',
    CDK_DISABLE_CLI_TELEMETRY: 'true',
  };
  assertLoopbackOnly(env);
  const fullArgs = [...args, '--no-notices', '--no-version-reporting', '--ci'];
  return new Promise((resolve, reject) => {
    // Own process group, so a timeout stops the CLI and the app it spawned together.
    const child = spawn(CDK, fullArgs, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    const timer = setTimeout(() => {
      try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* already gone */ }
    }, CLI_TIMEOUT_MS);
    child.once('error', (error) => { clearTimeout(timer); reject(error); });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const transcript = `$ cdk ${fullArgs.join(' ')}\n${output}`;
      if (code === 0) resolve(transcript);
      else reject(new Error(`cdk ${args[0]} failed (${signal ?? `exit ${code}`}):\n${transcript.slice(-6000)}`));
    });
  });
}
