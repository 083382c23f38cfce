/**
 * Spacelift signs a webhook body the way GitHub does: `X-Signature-256: sha256=<hex HMAC-SHA256 of the raw body,
 * keyed with the webhook's secret>` (https://docs.spacelift.io/integrations/webhooks#validating-payload,
 * https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The header, as a function URL passes it (lower-cased). */
export const SIGNATURE_HEADER = 'x-signature-256';

const SIGNATURE = /^sha256=([0-9a-fA-F]{64})$/;

/** The 32 digest bytes a well-formed header carries, or undefined for anything else (two headers arrive comma-joined). */
export function parseSignature(header: string | undefined): Buffer | undefined {
  const match = header === undefined ? null : SIGNATURE.exec(header);
  return match === null ? undefined : Buffer.from(match[1], 'hex');
}

/** HMAC-SHA256 of the raw body bytes. */
export function digestOf(secret: string, body: Buffer): Buffer {
  return createHmac('sha256', secret).update(body).digest();
}

/**
 * Whether `claimed` is the body's digest. Both are 32 bytes (parseSignature guarantees it), and timingSafeEqual
 * takes as long wherever they differ, so the answer's timing tells a forger nothing about the right digest.
 */
export function signatureMatches(digest: Buffer, claimed: Buffer): boolean {
  return digest.length === claimed.length && timingSafeEqual(digest, claimed);
}
