/**
 * A worker pool's key pair and its PKCS#10 certificate signing request (RFC 2986), made inside the function so the
 * private key never leaves AWS. Same shape as terraform-provider-spacelift's `spacelift_worker_pool`: RSA 4096,
 * subject CN=workers.spacelift.io, signed with SHA256withRSA, the CSR sent as base64 of its PEM, the key kept as
 * base64 of a PKCS#8 PEM (what the launcher reads from SPACELIFT_POOL_PRIVATE_KEY).
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { bitString, contextConstructed, integer, nullValue, objectIdentifier, sequence, setOf, utf8String } from './der';

export const WORKER_POOL_KEY_BITS = 4096;
export const CSR_COMMON_NAME = 'workers.spacelift.io';

const OID_COMMON_NAME = '2.5.4.3';
const OID_SHA256_WITH_RSA = '1.2.840.113549.1.1.11';

export interface WorkerPoolCredentials {
  /** base64 of the PEM CSR: the `certificateSigningRequest` argument of workerPoolCreate and workerPoolReset. */
  readonly csrBase64: string;
  /** base64 of the PKCS#8 PEM private key: the value the launcher expects. */
  readonly privateKeyBase64: string;
}

export function generateWorkerPoolCredentials(modulusLength: number = WORKER_POOL_KEY_BITS): WorkerPoolCredentials {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength });
  const privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  return {
    csrBase64: Buffer.from(certificationRequestPem(privateKey, publicKey)).toString('base64'),
    privateKeyBase64: Buffer.from(privateKeyPem).toString('base64'),
  };
}

/** The credentials of an existing key: a new CSR for it (another copy of the same event generated the key). */
export function credentialsForKey(privateKeyBase64: string): WorkerPoolCredentials {
  const privateKey = createPrivateKey(Buffer.from(privateKeyBase64, 'base64').toString('utf8'));
  const csr = certificationRequestPem(privateKey, createPublicKey(privateKey));
  return { csrBase64: Buffer.from(csr).toString('base64'), privateKeyBase64 };
}

export function certificationRequestPem(privateKey: KeyObject, publicKey: KeyObject): string {
  const info = sequence(
    integer(0), // version v1
    sequence(setOf(sequence(objectIdentifier(OID_COMMON_NAME), utf8String(CSR_COMMON_NAME)))), // subject
    publicKey.export({ type: 'spki', format: 'der' }), // subjectPKInfo, already DER
    contextConstructed(0, Buffer.alloc(0)), // attributes: none
  );
  // RSASSA-PKCS1-v1_5 is Node's default padding for an RSA key.
  const signature = sign('sha256', info, privateKey);
  const der = sequence(info, sequence(objectIdentifier(OID_SHA256_WITH_RSA), nullValue()), bitString(signature));
  return pem('CERTIFICATE REQUEST', der);
}

function pem(label: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/**
 * 32 hex characters of the SHA-256 of the key's SubjectPublicKeyInfo: names the key pair (pool-labels.ts) and is
 * the custom resource's `CredentialsFingerprint`, so it must reveal nothing of the private key, and it does not.
 */
export function keyFingerprint(privateKeyBase64: string): string {
  const publicKey = createPublicKey(createPrivateKey(Buffer.from(privateKeyBase64, 'base64').toString('utf8')));
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 32);
}
