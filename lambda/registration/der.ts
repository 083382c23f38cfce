/**
 * The few ASN.1 DER encodings a PKCS#10 certificate signing request needs (ITU-T X.690 §8, §10).
 * Node has no CSR API; this keeps the encoder small enough to check against known vectors and OpenSSL.
 */

const Tag = {
  integer: 0x02,
  bitString: 0x03,
  null: 0x05,
  objectIdentifier: 0x06,
  utf8String: 0x0c,
  sequence: 0x30,
  set: 0x31,
} as const;

/** Definite length: short form below 128, else 0x80 | byte count, then the length big-endian (X.690 §8.1.3). */
export function encodeLength(length: number): Buffer {
  if (!Number.isSafeInteger(length) || length < 0) throw new RangeError(`DER length must be a non-negative integer, got ${length}`);
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

export function tlv(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), encodeLength(content.length), content]);
}

export function sequence(...items: readonly Buffer[]): Buffer {
  return tlv(Tag.sequence, Buffer.concat(items));
}

/** SET OF with its elements in DER order (sorted by their encodings, X.690 §11.6). */
export function setOf(...items: readonly Buffer[]): Buffer {
  return tlv(Tag.set, Buffer.concat([...items].sort(Buffer.compare)));
}

/** A small non-negative INTEGER: minimal big-endian bytes, with a leading 0x00 when the top bit is set. */
export function integer(value: number): Buffer {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`DER integer must be a non-negative safe integer, got ${value}`);
  const bytes: number[] = [];
  for (let rest = value; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  if (bytes.length === 0 || bytes[0] >= 0x80) bytes.unshift(0);
  return tlv(Tag.integer, Buffer.from(bytes));
}

/** Dotted OID: the first two arcs as 40 × a + b, each arc base 128, high bit set on all but its last byte. */
export function objectIdentifier(dotted: string): Buffer {
  const arcs = dotted.split('.').map((arc) => {
    if (!/^\d+$/.test(arc)) throw new RangeError(`invalid object identifier "${dotted}"`);
    return Number(arc);
  });
  if (arcs.length < 2 || arcs[0] > 2 || (arcs[0] < 2 && arcs[1] > 39) || arcs.some((arc) => !Number.isSafeInteger(arc))) {
    throw new RangeError(`invalid object identifier "${dotted}"`);
  }
  const bytes = [arcs[0] * 40 + arcs[1], ...arcs.slice(2)].flatMap(base128);
  return tlv(Tag.objectIdentifier, Buffer.from(bytes));
}

function base128(arc: number): number[] {
  const bytes = [arc % 128];
  for (let rest = Math.floor(arc / 128); rest > 0; rest = Math.floor(rest / 128)) bytes.unshift(0x80 | (rest % 128));
  return bytes;
}

export function utf8String(value: string): Buffer {
  return tlv(Tag.utf8String, Buffer.from(value, 'utf8'));
}

/** A BIT STRING of whole bytes: the leading octet says no bits are unused. */
export function bitString(bytes: Buffer): Buffer {
  return tlv(Tag.bitString, Buffer.concat([Buffer.from([0]), bytes]));
}

export function nullValue(): Buffer {
  return tlv(Tag.null, Buffer.alloc(0));
}

/** `[n] IMPLICIT` constructed, context-specific (class bits 10, constructed bit set). */
export function contextConstructed(n: number, content: Buffer): Buffer {
  if (!Number.isInteger(n) || n < 0 || n > 30) throw new RangeError(`context tag must be 0..30, got ${n}`);
  return tlv(0xa0 | n, content);
}
