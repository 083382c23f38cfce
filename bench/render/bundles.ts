/** §5: the Lambda assets' size and init time. */
import { type Bundles, INIT_SAMPLES } from '../measure/bundles';
import { markdownTable } from '../sim/report';

export function renderBundles(bundles: Bundles): string[] {
  return [
    '## 5. Lambda assets',
    '',
    ...(bundles.missing.length > 0 ? [...bundles.missing.map((asset) => `- ${asset} is missing (run \`npm run bundle\`).`), ''] : []),
    `Module init time is the median of ${INIT_SAMPLES} fresh \`node\` processes timing \`require()\` of the bundle. The AWS SDK clients are ` +
      'external to the bundles (the Lambda runtime provides them), so they load from node_modules here, as they would from the runtime.',
    '',
    markdownTable(bundles.measured, [
      { title: 'asset', value: (r) => r.asset, right: false },
      { title: 'bytes', value: (r) => r.bytes.toLocaleString('en-US') },
      { title: 'gzip bytes', value: (r) => r.gzipBytes.toLocaleString('en-US') },
      { title: `init ms (median of ${INIT_SAMPLES})`, value: (r) => r.initMs.toFixed(1) },
    ]),
    '',
  ];
}
