import { Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { acknowledgeWildcards } from './nag';
import { WorkerPoolConfigError } from './validation';

/** Common settings of a Spacelift API key. */
export interface SpaceliftApiKeyOptions {
  /**
   * The Spacelift API endpoint of your account.
   * @example 'https://acme.app.spacelift.io'
   */
  readonly endpoint: string;
  /**
   * The API key id (not secret).
   *
   * The key needs `Space:Read` on the pool's space and `Worker Pool:Drain Worker`.
   * @see https://docs.spacelift.io/integrations/api#api-key-management
   */
  readonly apiKeyId: string;
}

/** Options for an API key secret stored in Secrets Manager. */
export interface SpaceliftApiKeyFromSecretOptions extends SpaceliftApiKeyOptions {
  /** A secret whose `SecretString` is the API key secret, as plain text. */
  readonly secret: secretsmanager.ISecret;
}

/** Options for an API key secret stored as an SSM SecureString parameter. */
export interface SpaceliftApiKeyFromParameterOptions extends SpaceliftApiKeyOptions {
  /** Name of the SecureString parameter, starting with `/`. */
  readonly parameterName: string;
  /**
   * The customer managed key that encrypts the parameter.
   * @default - the AWS managed key `aws/ssm`
   */
  readonly encryptionKey?: kms.IKey;
}

/** What the Lambda functions need to reach the Spacelift API. */
export interface ISpaceliftApiKeyConfig {
  readonly endpoint: string;
  readonly apiKeyId: string;
  /** ARN of the secret or parameter; the functions read it at run time. */
  readonly secretArn: string;
  /** Grants read on the secret (and decrypt on its key) to a function. */
  grantRead(grantee: iam.IGrantable): void;
}

/**
 * The Spacelift API key used by the autoscaler and the drain function.
 *
 * Only those two functions can read it; its secret part never leaves Secrets Manager or SSM
 * except at run time inside them.
 */
export abstract class SpaceliftApiKey {
  /** The API key secret is the `SecretString` of a Secrets Manager secret. */
  public static fromSecret(options: SpaceliftApiKeyFromSecretOptions): SpaceliftApiKey {
    return new class extends SpaceliftApiKey {
      public bind(scope: Construct): ISpaceliftApiKeyConfig {
        validateCommon(scope, options);
        return {
          endpoint: options.endpoint,
          apiKeyId: options.apiKeyId,
          secretArn: options.secret.secretArn,
          grantRead: (grantee) => { options.secret.grantRead(grantee); },
        };
      }
    }();
  }

  /** The API key secret is an SSM SecureString parameter (the Terraform module's layout). */
  public static fromSecureStringParameter(options: SpaceliftApiKeyFromParameterOptions): SpaceliftApiKey {
    return new class extends SpaceliftApiKey {
      public bind(scope: Construct): ISpaceliftApiKeyConfig {
        validateCommon(scope, options);
        if (!Token.isUnresolved(options.parameterName) && !options.parameterName.startsWith('/')) {
          // The value is not echoed: a secret pasted into the wrong field would end up in terminal and CI logs.
          throw new WorkerPoolConfigError(scope, 'spaceliftApiKey (parameterName)', 'must be a parameter name starting with "/"');
        }
        const parameter = ssm.StringParameter.fromSecureStringParameterAttributes(scope, 'SpaceliftApiKeyParameter', {
          parameterName: options.parameterName,
          encryptionKey: options.encryptionKey,
          // The name starts with "/" (checked above for a literal, documented for a token): CDK cannot tell for a token.
          simpleName: false,
        });
        return {
          endpoint: options.endpoint,
          apiKeyId: options.apiKeyId,
          secretArn: parameter.parameterArn,
          grantRead: (grantee) => grantParameterRead(scope, grantee, parameter.parameterArn, options.encryptionKey),
        };
      }
    }();
  }

  /** Resolves the key for one pool. Called once per pool by the library. */
  public abstract bind(scope: Construct): ISpaceliftApiKeyConfig;
}

/**
 * Exactly what the functions send, `GetParameter` with decryption. `StringParameter.grantRead` would also grant
 * `GetParameterHistory` (earlier API keys), `GetParameters` and `DescribeParameters`, and `kms:Decrypt` on the key
 * for any ciphertext; here the key is usable only through SSM, for this parameter.
 * @see https://docs.aws.amazon.com/systems-manager/latest/userguide/security_iam_id-based-policy-examples.html
 * @see https://docs.aws.amazon.com/kms/latest/developerguide/services-parameter-store.html
 */
function grantParameterRead(scope: Construct, grantee: iam.IGrantable, parameterArn: string, key: kms.IKey | undefined): void {
  grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['ssm:GetParameter'], resources: [parameterArn] }));
  if (key === undefined) return;
  const stack = Stack.of(scope);
  const conditions: Record<string, Record<string, unknown>> = {
    StringEquals: {
      'kms:ViaService': `ssm.${stack.region}.amazonaws.com`,
      'kms:EncryptionContext:PARAMETER_ARN': parameterArn,
    },
  };
  // An alias ARN in a policy's Resource covers the alias, not its key: grant on the keys the alias names instead.
  // https://docs.aws.amazon.com/kms/latest/developerguide/alias-authorization.html
  const aliasName = (key as Partial<kms.IAlias>).aliasName;
  const resource = aliasName === undefined ? key.keyArn : stack.formatArn({ service: 'kms', resource: 'key', resourceName: '*' });
  if (aliasName !== undefined) conditions['ForAnyValue:StringEquals'] = { 'kms:ResourceAliases': aliasName };
  grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['kms:Decrypt'], resources: [resource], conditions }));
  if (aliasName !== undefined && Construct.isConstruct(grantee.grantPrincipal)) {
    acknowledgeWildcards(grantee.grantPrincipal, { resources: [resource] },
      'The API key parameter\'s key is given by its alias, which a policy can only name as a condition: kms:Decrypt on the '
      + 'account\'s keys is limited to the key the alias names, used through SSM for this parameter.');
  }
}

function validateCommon(scope: Construct, options: SpaceliftApiKeyOptions): void {
  if (!Token.isUnresolved(options.endpoint) && !/^https:\/\/[^\s/]+(\/[^\s]*)?$/.test(options.endpoint)) {
    throw new WorkerPoolConfigError(scope, 'spaceliftApiKey (endpoint)', `must be an https:// URL, got "${options.endpoint}"`);
  }
  if (!Token.isUnresolved(options.apiKeyId) && !/^[0-9A-Z]{26}$/.test(options.apiKeyId)) {
    // The value is not echoed: the API key secret given here by mistake would end up in terminal and CI logs.
    throw new WorkerPoolConfigError(scope, 'spaceliftApiKey (apiKeyId)',
      `is not a Spacelift API key id (26 upper-case letters and digits; got ${options.apiKeyId.length} characters, not shown)`);
  }
}
