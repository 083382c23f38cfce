import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { SpaceliftWorkerPool, WorkerImage } from '../../lib';
import { poolStack } from '../support/pool-stack';
import { recommendedApp } from '../support/recommended-app';

/** Runs fn and returns what it wrote to console.error and stderr. */
function errorOutput(fn: () => void): string {
  const written: string[] = [];
  const error = jest.spyOn(console, 'error').mockImplementation((...args) => void written.push(args.join(' ')));
  const stderr = jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => written.push(String(chunk)) > 0);
  try {
    fn();
  } finally {
    error.mockRestore();
    stderr.mockRestore();
  }
  return written.join('');
}

describe('the default Spacelift AMI before the CLI has looked it up (as in every unit test)', () => {
  test('synthesizes quietly under the recommended flags and asks the CLI for the lookup', () => {
    const { app, stack, props } = poolStack();
    const output = errorOutput(() => {
      new SpaceliftWorkerPool(stack, 'Pool', { ...props, machineImage: WorkerImage.spacelift() });
      Template.fromStack(stack);
    });
    expect(output).toBe('');
    const lookups = app.synth().manifest.missing!.filter((m) => m.provider === 'ami');
    expect(lookups).toHaveLength(1);
  });

  test('keeps the context key of ec2.MachineImage.lookup, so cdk.context.json entries still apply', () => {
    const key = 'ami:account=123456789012:filters.architecture.0=x86_64:filters.image-type.0=machine:filters.name.0=spacelift-??????????-x86_64'
      + ':filters.root-device-type.0=ebs:filters.state.0=available:filters.virtualization-type.0=hvm:owners.0=643313122712:region=eu-west-1';
    const app = recommendedApp({ context: { [key]: 'ami-0fedcba9876543210' } });
    const stack = new Stack(app, 'Test', { env: { account: '123456789012', region: 'eu-west-1' } });
    const { props } = poolStack();
    new SpaceliftWorkerPool(stack, 'Pool', { ...props, vpc: new ec2.Vpc(stack, 'Vpc'), credentials: props.credentials, machineImage: WorkerImage.spacelift() });
    Template.fromStack(stack).hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: { ImageId: 'ami-0fedcba9876543210' },
    });
  });
});

describe('WorkerImage.fromAmiMap', () => {
  test('pins the image of the stack region, with no lookup and no output', () => {
    const { app, stack, build } = poolStack({ machineImage: WorkerImage.fromAmiMap({ 'eu-west-1': 'ami-0123456789abcdef0', 'us-east-1': 'ami-0abcdef0123456789' }) });
    const output = errorOutput(() => {
      build();
      Template.fromStack(stack).hasResourceProperties('AWS::EC2::LaunchTemplate', {
        LaunchTemplateData: { ImageId: 'ami-0123456789abcdef0' },
      });
    });
    expect(output).toBe('');
    expect((app.synth().manifest.missing ?? []).filter((m) => m.provider === 'ami')).toEqual([]);
  });

  test.each<[string, WorkerImage, ec2.InstanceType | undefined, RegExp]>([
    ['a region the map lacks', WorkerImage.fromAmiMap({ 'us-east-1': 'ami-0abcdef0123456789' }), undefined,
      /invalid "machineImage": the AMI map has no image for the stack's region eu-west-1 \(it lists us-east-1\)/],
    ['a malformed AMI id', WorkerImage.fromAmiMap({ 'eu-west-1': 'ami-1234' }), undefined,
      /invalid "machineImage": the AMI map needs at least one region and AMI ids like ami-0123456789abcdef0/],
    ['an empty map', WorkerImage.fromAmiMap({}), undefined, /invalid "machineImage": the AMI map needs at least one region/],
    ['an x86 map on Graviton instances', WorkerImage.fromAmiMap({ 'eu-west-1': 'ami-0123456789abcdef0' }), new ec2.InstanceType('c7g.large'),
      /invalid "machineImage": the image is x86_64 but the instance types are arm64/],
  ])('refuses %s, naming the prop', (_name, machineImage, instanceType, message) => {
    const { build } = poolStack({ machineImage, ...(instanceType ? { instanceType } : {}) });
    expect(build).toThrow(message);
  });
});
