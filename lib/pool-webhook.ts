import { Duration, Size, SizeRoundingBehavior } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { MAX_POKE_DEFER_SECONDS } from '../lambda/shared/poke';
import { DEFAULT_MAX_BODY_BYTES, DEFAULT_MIN_TRIGGER_INTERVAL_SECONDS, DEFAULT_REPLAY_WINDOW_SECONDS } from '../lambda/webhook/config';
import type { PoolFunctionProps } from './function-placement';
import { HandlerFunction } from './handler-function';
import { acknowledge } from './nag';
import { WorkerPoolConfigError, durationSeconds, validateInteger } from './validation';

/**
 * A Spacelift webhook endpoint that ticks the autoscaler at once when a run changes state, instead of
 * at its next scheduled invocation. Every delivery is only a poke: once its signature is verified, the
 * autoscaler is invoked and reads the real state of the pool as on any tick; the schedule stays the
 * fallback. Set it up in Spacelift as the README's Webhook section says.
 * @see https://docs.spacelift.io/integrations/webhooks
 * @see https://docs.spacelift.io/concepts/policy/notification-policy
 */
export interface PoolWebhookOptions {
  /**
   * The shortest time between two autoscaler ticks the webhook triggers: a delivery inside the interval
   * gets one trailing tick at its end (waiting at most 30 s), later ones join it, so a flood of
   * deliveries costs at most one tick per interval. From 1 to 30 seconds (the longest a trailing tick
   * waits; the schedule looks every minute anyway).
   * @default Duration.seconds(5)
   */
  readonly minTriggerInterval?: Duration;
  /**
   * The largest request body accepted; a larger one is refused before its signature is checked.
   * Spacelift's default run payload is a few KiB. From 1 KiB to 6 MiB (a function URL's limit).
   * @default Size.kibibytes(64)
   */
  readonly maxBodySize?: Size;
  /**
   * How long a delivery counts as fresh: within it the same body is refused as a replay, and a payload
   * whose `timestamp` is older is refused too. It must cover Spacelift's retries and clock skew. From 30
   * seconds to 1 hour.
   * @default Duration.minutes(5)
   */
  readonly replayWindow?: Duration;
}

/** The webhook endpoint of a pool: what to enter in Spacelift, and the function behind it. */
export interface IPoolWebhook {
  /** The endpoint URL to enter in Spacelift (a Lambda function URL). */
  readonly url: string;
  /** The secret whose `SecretString` is the signing secret to enter in Spacelift. */
  readonly secret: secretsmanager.ISecret;
  /** The function that verifies deliveries and invokes the autoscaler. */
  readonly function: lambda.IFunction;
}

/** Internal props of {@link PoolWebhook}. */
export interface PoolWebhookProps extends PoolWebhookOptions, PoolFunctionProps {
  /** The autoscaler function the webhook invokes. */
  readonly autoscaler: lambda.IFunction;
  /**
   * Key for the signing secret.
   * @default - the AWS managed key `aws/secretsmanager`
   */
  readonly encryptionKey?: kms.IKey;
}

/** A function URL takes request bodies up to 6 MB. https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html */
const MAX_BODY_BYTES = Size.mebibytes(6).toBytes();

/**
 * The webhook endpoint: a generated signing secret, a function that checks each delivery's HMAC-SHA256
 * signature (`X-Signature-256`) in constant time, its size, age and rate, and invokes the autoscaler
 * asynchronously; and a function URL without IAM auth, because Spacelift cannot sign SigV4 requests:
 * the signature is the authentication. Internal: the pool exposes it as {@link IPoolWebhook}.
 */
/** Reserved executions of the webhook function (see its use). */
const WEBHOOK_CONCURRENCY = 10;

export class PoolWebhook extends Construct implements IPoolWebhook {
  public readonly url: string;
  public readonly secret: secretsmanager.ISecret;
  public readonly function: lambda.IFunction;

  constructor(scope: Construct, id: string, props: PoolWebhookProps) {
    super(scope, id);
    const environment = this.environment(props);

    const secret = new secretsmanager.Secret(this, 'Secret', {
      description: `Signing secret of the Spacelift webhook of ${scope.node.path}`,
      encryptionKey: props.encryptionKey,
      // Letters and digits only, so that it pastes into Spacelift's form as is.
      generateSecretString: { passwordLength: 64, excludePunctuation: true, includeSpace: false },
    });
    acknowledge(secret, {
      id: 'AwsSolutions-SMG4',
      reason: 'The webhook signing secret is also stored in Spacelift, which Secrets Manager rotation cannot update; '
        + 'rotate it by hand in both places.',
    });
    this.secret = secret;

    const handler = new HandlerFunction(this, 'Handler', {
      asset: 'webhook',
      description: `Ticks the autoscaler of ${props.autoScalingGroup.node.path} on Spacelift webhooks`,
      timeout: Duration.seconds(10),
      // Spacelift delivers the updates of many runs at once (a push that queues ten stacks); a function URL answers
      // 429 to requests beyond the reserved concurrency, and Spacelift disables a webhook after 10 failed deliveries
      // in a row. Ten executions take such bursts, and bound what a flood can cost; each keeps its own rate limit, so
      // at most ten pokes per interval, which the autoscaler's single execution takes one after the other.
      reservedConcurrentExecutions: WEBHOOK_CONCURRENCY,
      callsSpaceliftApi: false,
      pool: props,
      environment: {
        ...environment,
        WEBHOOK_SECRET_ARN: secret.secretArn,
        AUTOSCALER_FUNCTION_NAME: props.autoscaler.functionArn,
      },
    });
    this.function = handler.function;
    secret.grantRead(handler.role);
    // Exactly the function's ARN: grantInvoke would add its versions and aliases (`:*`).
    handler.role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['lambda:InvokeFunction'],
      resources: [props.autoscaler.functionArn],
    }));

    // Lambda then adds the public lambda:InvokeFunctionUrl and lambda:InvokeFunction (via the URL only) permissions.
    // https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html
    const url = handler.function.addFunctionUrl({
      authType: lambda.FunctionUrlAuthType.NONE,
      invokeMode: lambda.InvokeMode.BUFFERED,
    });
    this.url = url.url;
    const reason = 'Spacelift cannot sign requests with SigV4, so the function URL has no IAM auth; the function authenticates '
      + 'every delivery by its HMAC-SHA256 signature with a secret only Spacelift and this function hold, and does nothing '
      + 'but start an autoscaler tick, at most once per minTriggerInterval.';
    acknowledge(handler.function, ...['HIPAA.Security', 'NIST.800.53.R4', 'NIST.800.53.R5', 'PCI.DSS.321']
      .map((pack) => ({ id: `${pack}-LambdaFunctionPublicAccessProhibited`, reason })));
  }

  /** Validates the options and renders them as the variables `lambda/webhook` reads. */
  private environment(props: PoolWebhookOptions): { [key: string]: string } {
    const seconds = (value: Duration | undefined, fallback: number, prop: string, min: number, max: number): number => {
      // Checked before the conversion to whole seconds, whose own error on a fraction would not name the prop.
      validateInteger(this, prop, value?.toSeconds({ integral: false }), min, max);
      return durationSeconds(this, prop, value, fallback);
    };
    let maxBodyBytes = DEFAULT_MAX_BODY_BYTES;
    if (props.maxBodySize) {
      if (props.maxBodySize.isUnresolved()) {
        throw new WorkerPoolConfigError(this, 'webhook.maxBodySize', 'must be known at synth, not a token');
      }
      maxBodyBytes = props.maxBodySize.toBytes({ rounding: SizeRoundingBehavior.NONE });
      validateInteger(this, 'webhook.maxBodySize', maxBodyBytes, Size.kibibytes(1).toBytes(), MAX_BODY_BYTES);
    }
    return {
      MIN_TRIGGER_INTERVAL_SECONDS: String(seconds(props.minTriggerInterval, DEFAULT_MIN_TRIGGER_INTERVAL_SECONDS, 'webhook.minTriggerInterval', 1, MAX_POKE_DEFER_SECONDS)),
      MAX_BODY_BYTES: String(maxBodyBytes),
      REPLAY_WINDOW_SECONDS: String(seconds(props.replayWindow, DEFAULT_REPLAY_WINDOW_SECONDS, 'webhook.replayWindow', 30, 3600)),
    };
  }
}
