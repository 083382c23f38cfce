import * as fc from 'fast-check';
import { bitString, contextConstructed, encodeLength, integer, nullValue, objectIdentifier, sequence, setOf, utf8String } from '../../lambda/registration/der';
import { readTlv } from './csr-check';

const hex = (b: Buffer) => b.toString('hex');

describe('DER encoder', () => {
  test('lengths: short form below 128, long form with the byte count above', () => {
    expect(hex(encodeLength(0))).toBe('00');
    expect(hex(encodeLength(127))).toBe('7f');
    expect(hex(encodeLength(128))).toBe('8180');
    expect(hex(encodeLength(255))).toBe('81ff');
    expect(hex(encodeLength(256))).toBe('820100');
    expect(hex(encodeLength(65_536))).toBe('83010000');
    expect(() => encodeLength(-1)).toThrow(RangeError);
  });

  test('property: a TLV of any content length reads back whole', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 70_000 }), (n) => {
      const encoded = sequence(Buffer.alloc(n, 7));
      const node = readTlv(encoded);
      return node.raw.length === encoded.length && node.content.length === n && node.tag === 0x30;
    }), { numRuns: 200 });
  });

  test('object identifiers (X.690 §8.19), including multi-byte arcs', () => {
    expect(hex(objectIdentifier('2.5.4.3'))).toBe('0603550403');
    expect(hex(objectIdentifier('1.2.840.113549.1.1.11'))).toBe('06092a864886f70d01010b');
    expect(hex(objectIdentifier('2.999.3'))).toBe('0603883703');
    expect(() => objectIdentifier('1')).toThrow(RangeError);
    expect(() => objectIdentifier('1.40')).toThrow(RangeError);
    expect(() => objectIdentifier('1.2.x')).toThrow(RangeError);
  });

  test('integers are minimal, with a leading zero when the top bit is set', () => {
    expect(hex(integer(0))).toBe('020100');
    expect(hex(integer(127))).toBe('02017f');
    expect(hex(integer(128))).toBe('02020080');
    expect(hex(integer(256))).toBe('02020100');
    expect(() => integer(-1)).toThrow(RangeError);
  });

  test('strings, bit strings, NULL and context tags', () => {
    expect(hex(utf8String('é'))).toBe('0c02c3a9');
    expect(hex(bitString(Buffer.from([0xff])))).toBe('030200ff');
    expect(hex(nullValue())).toBe('0500');
    expect(hex(contextConstructed(0, Buffer.alloc(0)))).toBe('a000');
    expect(hex(contextConstructed(3, Buffer.from([1])))).toBe('a30101');
  });

  test('SET OF sorts its elements by encoding (X.690 §11.6)', () => {
    expect(hex(setOf(integer(2), integer(1)))).toBe('3106020101020102');
  });
});
