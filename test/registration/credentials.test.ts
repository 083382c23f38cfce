import { createPrivateKey } from 'node:crypto';
import { CSR_COMMON_NAME, generateWorkerPoolCredentials, WORKER_POOL_KEY_BITS } from '../../lambda/registration/credentials';
import { children, csrDer, OPENSSL, opensslSubject, publicKeyOfPrivate, readTlv, sameKey, verifiedCsrKey } from './csr-check';

// One default (4096-bit) pair for the whole file: generating it takes a second or more.
const credentials = generateWorkerPoolCredentials();

describe('worker pool credentials', () => {
  test('the private key is RSA 4096 by default, as base64 of a PKCS#8 PEM', () => {
    const pem = Buffer.from(credentials.privateKeyBase64, 'base64').toString('utf8');
    expect(pem).toMatch(/^-----BEGIN PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+-----END PRIVATE KEY-----\n$/);
    const key = createPrivateKey(pem);
    expect(key.asymmetricKeyType).toBe('rsa');
    expect(key.asymmetricKeyDetails?.modulusLength).toBe(WORKER_POOL_KEY_BITS);
    expect(WORKER_POOL_KEY_BITS).toBe(4096);
  });

  test('the CSR is base64 of a PEM CERTIFICATE REQUEST whose signature verifies with node:crypto, for the same key', () => {
    expect(credentials.csrBase64).toMatch(/^[A-Za-z0-9+/]+={0,2}$/);
    expect(sameKey(verifiedCsrKey(credentials.csrBase64), publicKeyOfPrivate(credentials.privateKeyBase64))).toBe(true);
  });

  test('the CSR is v1, subject CN=workers.spacelift.io (UTF8String), no attributes', () => {
    const [info] = children(readTlv(csrDer(credentials.csrBase64)));
    const [version, subject, , attributes] = children(info);
    expect(version.raw.toString('hex')).toBe('020100');
    const cn = Buffer.from(CSR_COMMON_NAME, 'utf8');
    // SEQUENCE { SET { SEQUENCE { OID 2.5.4.3, UTF8String "workers.spacelift.io" } } }
    expect(subject.raw.toString('hex')).toBe(`301f311d301b0603550403${'0c'}${cn.length.toString(16)}${cn.toString('hex')}`);
    expect(attributes.raw.toString('hex')).toBe('a000');
  });

  test('a CSR whose signed bytes were changed does not verify', () => {
    const der = csrDer(credentials.csrBase64);
    // Flip one bit of the common name inside the signed CertificationRequestInfo.
    const at = der.indexOf(Buffer.from(CSR_COMMON_NAME));
    der[at] ^= 0x01;
    const tampered = Buffer.from(`-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE REQUEST-----\n`)
      .toString('base64');
    expect(() => verifiedCsrKey(tampered)).toThrow('CSR signature does not verify');
  });

  (OPENSSL ? test : test.skip)('openssl req -verify accepts the CSR and reads the subject', () => {
    expect(opensslSubject(credentials.csrBase64)).toBe('subject=CN=workers.spacelift.io');
  });

  test('every call makes a new key', () => {
    const other = generateWorkerPoolCredentials(2048);
    expect(other.privateKeyBase64).not.toBe(credentials.privateKeyBase64);
    expect(other.csrBase64).not.toBe(credentials.csrBase64);
  });
});
