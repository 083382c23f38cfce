/**
 * Independent checks of a CSR: OpenSSL when it is installed, and always a minimal DER reader plus node:crypto
 * verifying the signature over the CertificationRequestInfo (RFC 2986 §4) with the key the CSR carries.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createPrivateKey, createPublicKey, verify, type KeyObject } from 'node:crypto';

export const OPENSSL = (() => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

interface Node {
  readonly tag: number;
  /** The whole TLV. */
  readonly raw: Buffer;
  readonly content: Buffer;
}

/** One TLV at `offset` (definite lengths only, as DER requires). */
export function readTlv(der: Buffer, offset = 0): Node {
  const tag = der[offset];
  let length = der[offset + 1];
  let header = 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + der[offset + 2 + i];
    header += count;
  }
  return { tag, raw: der.subarray(offset, offset + header + length), content: der.subarray(offset + header, offset + header + length) };
}

export function children(node: Node): Node[] {
  const out: Node[] = [];
  for (let offset = 0; offset < node.content.length; offset += out[out.length - 1].raw.length) out.push(readTlv(node.content, offset));
  return out;
}

export function csrDer(csrBase64: string): Buffer {
  const pem = Buffer.from(csrBase64, 'base64').toString('utf8');
  const body = /^-----BEGIN CERTIFICATE REQUEST-----\n([A-Za-z0-9+/=\n]+)-----END CERTIFICATE REQUEST-----\n$/.exec(pem);
  if (!body) throw new Error('not a PEM CERTIFICATE REQUEST');
  return Buffer.from(body[1].replace(/\n/g, ''), 'base64');
}

/** The CSR's public key, after checking its self-signature with node:crypto. */
export function verifiedCsrKey(csrBase64: string): KeyObject {
  const [info, algorithm, signature] = children(readTlv(csrDer(csrBase64)));
  const [, , spki] = children(info);
  const key = createPublicKey({ key: spki.raw, format: 'der', type: 'spki' });
  // sha256WithRSAEncryption, NULL parameters.
  expectBytes(algorithm.raw, '300d06092a864886f70d01010b0500');
  if (signature.tag !== 0x03 || signature.content[0] !== 0) throw new Error('signature is not a whole-byte BIT STRING');
  if (!verify('sha256', info.raw, key, signature.content.subarray(1))) throw new Error('CSR signature does not verify');
  return key;
}

/** `openssl req -verify` and the subject it reads. OpenSSL 3.0 exits 0 on a bad signature, so its verdict is read. */
export function opensslSubject(csrBase64: string): string {
  const run = spawnSync('openssl', ['req', '-verify', '-noout', '-subject', '-nameopt', 'RFC2253'], { input: Buffer.from(csrBase64, 'base64') });
  const verdict = `${run.stdout.toString()}${run.stderr.toString()}`;
  if (run.status !== 0 || !/self-signature verify OK/.test(verdict)) throw new Error(`openssl rejected the CSR: ${verdict}`);
  return run.stdout.toString().trim();
}

export function publicKeyOfPrivate(privateKeyBase64: string): KeyObject {
  return createPublicKey(createPrivateKey(Buffer.from(privateKeyBase64, 'base64').toString('utf8')));
}

export function sameKey(a: KeyObject, b: KeyObject): boolean {
  return a.export({ type: 'spki', format: 'der' }).equals(b.export({ type: 'spki', format: 'der' }));
}

function expectBytes(actual: Buffer, hex: string): void {
  if (actual.toString('hex') !== hex) throw new Error(`expected ${hex}, got ${actual.toString('hex')}`);
}
