import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import { buildExamples } from '../../examples/app';

const CDK_JSON = path.join(__dirname, '..', '..', 'cdk.json');

/** A fresh App with the same offline lookup context `cdk synth` uses, writing to a temp dir. */
export function exampleApp(): App {
  const context = JSON.parse(fs.readFileSync(CDK_JSON, 'utf8')).context;
  return new App({ context, outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-examples-')) });
}

export { buildExamples };
