import { Stack, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type { Construct } from 'constructs';
import { WorkerPoolConfigError } from './validation';

/** Options for the Spacelift worker AMI. */
export interface SpaceliftImageOptions {
  /**
   * AWS account that publishes the Spacelift AMIs.
   * @default - 643313122712, or 092348861888 in AWS GovCloud (US) regions
   */
  readonly owner?: string;
}

/**
 * The machine image of the workers.
 *
 * The image architecture must match the instance types; a mismatch fails at synth instead of
 * producing instances that never boot.
 */
export abstract class WorkerImage {
  /**
   * The newest Spacelift worker AMI for the architecture of the pool's instance types.
   *
   * The lookup runs once per account and region and is cached in `cdk.context.json`, so the AMI
   * does not change on every deploy. The stack needs a concrete `env`.
   *
   * @see https://github.com/spacelift-io/spacelift-worker-image
   */
  public static spacelift(options: SpaceliftImageOptions = {}): WorkerImage {
    return new SpaceliftImage(options);
  }

  /**
   * Any machine image, with its architecture stated explicitly.
   *
   * The image needs docker, the AWS CLI, jq, gpg and curl, like the Spacelift AMI has.
   */
  public static fromMachineImage(image: ec2.IMachineImage, architecture: ec2.InstanceArchitecture): WorkerImage {
    return new ExplicitImage(image, architecture);
  }

  /** Returns the image for instances of the given architecture, or throws on a mismatch. */
  public abstract bind(scope: Construct, architecture: ec2.InstanceArchitecture): ec2.IMachineImage;
}

class SpaceliftImage extends WorkerImage {
  constructor(private readonly options: SpaceliftImageOptions) {
    super();
  }

  public bind(scope: Construct, architecture: ec2.InstanceArchitecture): ec2.IMachineImage {
    const stack = Stack.of(scope);
    if (Token.isUnresolved(stack.account) || Token.isUnresolved(stack.region)) {
      throw new WorkerPoolConfigError(scope, 'machineImage',
        'the default Spacelift AMI is looked up per account and region, so the stack needs an explicit env '
        + '(account and region); or pass WorkerImage.fromMachineImage(image, architecture)');
    }
    const amiArch = architecture === ec2.InstanceArchitecture.ARM_64 ? 'arm64' : 'x86_64';
    const owner = this.options.owner ?? (stack.region.startsWith('us-gov-') ? '092348861888' : '643313122712');
    return ec2.MachineImage.lookup({
      // Spacelift names its AMIs spacelift-<unix timestamp>-<arch>.
      name: `spacelift-??????????-${amiArch}`,
      owners: [owner],
      filters: {
        'architecture': [amiArch],
        'root-device-type': ['ebs'],
        'virtualization-type': ['hvm'],
      },
    });
  }
}

class ExplicitImage extends WorkerImage {
  constructor(private readonly image: ec2.IMachineImage, private readonly architecture: ec2.InstanceArchitecture) {
    super();
  }

  public bind(scope: Construct, architecture: ec2.InstanceArchitecture): ec2.IMachineImage {
    if (architecture !== this.architecture) {
      throw new WorkerPoolConfigError(scope, 'machineImage',
        `the image is ${this.architecture} but the instance types are ${architecture}`);
    }
    return this.image;
  }
}
