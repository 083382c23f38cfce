import { App, type AppProps } from 'aws-cdk-lib';
import { CURRENTLY_RECOMMENDED_FLAGS } from 'aws-cdk-lib/cx-api';

/**
 * An App with the feature flags `cdk init` writes into a new project's cdk.json, so our tests see
 * what users' apps see (for example `@aws-cdk/core:checkSecretUsage`). Context passed in wins.
 */
export function recommendedApp(props: AppProps = {}): App {
  return new App({ ...props, context: { ...CURRENTLY_RECOMMENDED_FLAGS, ...props.context } });
}
