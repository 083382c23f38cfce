import { App, Stack } from 'aws-cdk-lib';
import { packWorkerBootstrap, renderWorkerBootstrapScript, embeddedSigningKey } from '../lib/worker-user-data.ts';
const stack = new Stack(new App(), 'S');
const params: any = { credentialsSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:spacelift/pool-AbCdEf', tokenKey: 'SPACELIFT_TOKEN', privateKeyKey: 'SPACELIFT_POOL_PRIVATE_KEY',
 infoLogGroupName: 'Pool-LogsInfo-abc', errorLogGroupName: 'Pool-LogsError-abc', poweroffDelaySeconds: 15, powerOffOnError: true,
 downloadBaseUrl: 'https://downloads.spacelift.io', signingKey: embeddedSigningKey(), signingKeyFingerprint: '175FD97AD2358EFE02832978E302FB5AA29D88F7',
 launcherEnvironment: { SPACELIFT_WORKER_COMMS_PROTOCOL: 'poll', SPACELIFT_WORKER_COMMS_URL: 'https://app.spacelift.io' }, secretEnvironment: [], whitelistEnvs: [], caCertificates: [], ecrRegistries: [], preStartCommands: [] };
const packed = packWorkerBootstrap(stack, params);
const plain = renderWorkerBootstrapScript(stack, params);
const lines = packed.split('\n');
const packedLine = lines.find(l => l.startsWith('packed='))!;
console.log('packed total', packed.length, 'blob', packedLine.length, 'head', packed.length - packedLine.length, 'plain', plain.length);
require('fs').writeFileSync('/tmp/packed.sh', packed); require('fs').writeFileSync('/tmp/plain.sh', plain);
