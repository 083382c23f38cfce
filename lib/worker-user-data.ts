import * as fs from 'fs';
import * as path from 'path';
import { Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';

/** Values rendered into the bootstrap script. None of them may be a secret. */
export interface WorkerBootstrapParameters {
  readonly credentialsSecretArn: string;
  readonly tokenKey: string;
  readonly privateKeyKey: string;
  readonly infoLogGroupName: string;
  readonly errorLogGroupName: string;
  readonly poweroffDelaySeconds: number;
  readonly downloadBaseUrl: string;
  readonly signingKeyFingerprint: string;
}

const TEMPLATE = path.join(__dirname, 'bootstrap', 'worker-bootstrap.sh');

/**
 * Renders `bootstrap/worker-bootstrap.sh`. Values end up inside single quotes in the script, so a
 * literal value containing a quote is refused; CloudFormation tokens (ARNs, names) never contain one.
 */
export function renderWorkerBootstrap(params: WorkerBootstrapParameters): ec2.UserData {
  const values: Record<string, string> = {
    CREDENTIALS_SECRET_ARN: params.credentialsSecretArn,
    TOKEN_KEY: params.tokenKey,
    PRIVATE_KEY_KEY: params.privateKeyKey,
    INFO_LOG_GROUP: params.infoLogGroupName,
    ERROR_LOG_GROUP: params.errorLogGroupName,
    POWEROFF_DELAY_SECONDS: String(params.poweroffDelaySeconds),
    DOWNLOAD_BASE_URL: params.downloadBaseUrl,
    SIGNING_KEY_FINGERPRINT: params.signingKeyFingerprint,
  };
  let script = fs.readFileSync(TEMPLATE, 'utf8');
  for (const [name, value] of Object.entries(values)) {
    if (!Token.isUnresolved(value) && /['\n]/.test(value)) {
      throw new Error(`bootstrap parameter ${name} must not contain quotes or newlines`);
    }
    script = script.split(`@@${name}@@`).join(value);
  }
  const leftover = /@@[A-Z_]+@@/.exec(script);
  if (leftover) {
    throw new Error(`bootstrap template has an unrendered placeholder ${leftover[0]}`);
  }
  return ec2.UserData.custom(script);
}
