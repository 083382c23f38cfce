import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { App } from 'aws-cdk-lib';
import { buildExamples } from '../../examples/app';
import { recommendedApp } from './recommended-app';

const CDK_JSON = path.join(__dirname, '..', '..', 'cdk.json');

/** A fresh App with the same context `cdk synth` uses (flags and offline lookups), writing to a temp dir. */
export function exampleApp(): App {
  const context = JSON.parse(fs.readFileSync(CDK_JSON, 'utf8')).context;
  return recommendedApp({ context, outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-examples-')) });
}

export { buildExamples };
