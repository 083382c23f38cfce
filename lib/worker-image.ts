import { ContextProvider, Stack, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as cxschema from 'aws-cdk-lib/cloud-assembly-schema';
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
   * Pinned AMIs, one per region (for example `{ 'eu-west-1': 'ami-0123456789abcdef0' }`).
   *
   * Nothing is looked up, so synth needs no AWS credentials and no `cdk.context.json` entry: use it
   * to pin the worker image, and in unit tests of a stack with a pool. A stack in a region the map
   * does not list fails at synth. The images need what the Spacelift AMI has (docker, the AWS CLI,
   * jq, gpg and curl), or use copies of the Spacelift AMI.
   *
   * @param amiMap AMI id per region
   * @param architecture the architecture of the images, checked against the pool's instance types
   * @default architecture ec2.InstanceArchitecture.X86_64
   */
  public static fromAmiMap(
    amiMap: { [region: string]: string },
    architecture: ec2.InstanceArchitecture = ec2.InstanceArchitecture.X86_64,
  ): WorkerImage {
    return new AmiMapImage(amiMap, architecture);
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
        + '(account and region); or pin images with WorkerImage.fromAmiMap() or WorkerImage.fromMachineImage()');
    }
    const amiArch = architecture === ec2.InstanceArchitecture.ARM_64 ? 'arm64' : 'x86_64';
    const owner = this.options.owner ?? (stack.region.startsWith('us-gov-') ? '092348861888' : '643313122712');
    return new SpaceliftAmiLookup(owner, amiArch);
  }
}

/** AMI ids as EC2 issues them: `ami-` and 8 or 17 hex digits. */
const AMI_ID = /^ami-([0-9a-f]{8}|[0-9a-f]{17})$/;

/**
 * The lookup `ec2.MachineImage.lookup()` makes, with the same context key, so existing
 * `cdk.context.json` entries keep working. It differs only in the placeholder used until the CLI
 * has looked the AMI up (and in unit tests, which never do): a well-formed id instead of
 * `ami-1234`, which aws-cdk-lib's own template validation reports as an error on every synth.
 */
class SpaceliftAmiLookup implements ec2.IMachineImage {
  constructor(private readonly owner: string, private readonly amiArch: string) {}

  public getImage(scope: Construct): ec2.MachineImageConfig {
    const { value } = ContextProvider.getValue(scope, {
      provider: cxschema.ContextProvider.AMI_PROVIDER,
      props: {
        owners: [this.owner],
        filters: {
          // Spacelift names its AMIs spacelift-<unix timestamp>-<arch>.
          'name': [`spacelift-??????????-${this.amiArch}`],
          'state': ['available'],
          'image-type': ['machine'],
          'architecture': [this.amiArch],
          'root-device-type': ['ebs'],
          'virtualization-type': ['hvm'],
        },
      },
      dummyValue: 'ami-00000000000000000',
    });
    if (typeof value !== 'string' || !AMI_ID.test(value)) {
      throw new WorkerPoolConfigError(scope, 'machineImage', `the Spacelift AMI lookup returned ${JSON.stringify(value)}, which is not an AMI id`);
    }
    return { imageId: value, osType: ec2.OperatingSystemType.LINUX, userData: ec2.UserData.forLinux() };
  }
}

class AmiMapImage extends WorkerImage {
  constructor(private readonly amiMap: { [region: string]: string }, private readonly architecture: ec2.InstanceArchitecture) {
    super();
  }

  public bind(scope: Construct, architecture: ec2.InstanceArchitecture): ec2.IMachineImage {
    const region = Stack.of(scope).region;
    const invalid = Object.entries(this.amiMap).filter(([, ami]) => !AMI_ID.test(ami));
    if (Object.keys(this.amiMap).length === 0 || invalid.length > 0) {
      throw new WorkerPoolConfigError(scope, 'machineImage',
        `the AMI map needs at least one region and AMI ids like ami-0123456789abcdef0; got ${JSON.stringify(this.amiMap)}`);
    }
    if (!Token.isUnresolved(region) && !(region in this.amiMap)) {
      throw new WorkerPoolConfigError(scope, 'machineImage',
        `the AMI map has no image for the stack's region ${region} (it lists ${Object.keys(this.amiMap).join(', ')})`);
    }
    return new ExplicitImage(ec2.MachineImage.genericLinux(this.amiMap), this.architecture).bind(scope, architecture);
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
