// Minimal strict DER reader/writer for the few structures Hotplane handles (SPKI, PKCS#8, SEC1, ECDSA/SM2
// signatures). Written here because no well-kept library in node_modules handles SM2 PKCS#8/SPKI, and
// node:crypto cannot be bundled for the browser. Pure: no node: imports.
import { concatBytes, hexToBytes } from './hex.ts';

export const DerTag = {
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OBJECT_IDENTIFIER: 0x06,
  SEQUENCE: 0x30,
} as const;

export function contextTag(number: number): number {
  return 0xa0 | number;
}

export type DerProblem = 'truncated' | 'indefinite-length' | 'non-minimal-length' | 'trailing-bytes' | 'unexpected-tag';

export class DerError extends Error {
  readonly problem: DerProblem;

  constructor(problem: DerProblem, message: string) {
    super(message);
    this.name = 'DerError';
    this.problem = problem;
  }
}

export interface DerNode {
  tag: number;
  /** The contents octets (a view into the input). */
  value: Uint8Array;
  /** Offset just past this element in the input. */
  end: number;
}

export function readDerElement(bytes: Uint8Array, offset = 0): DerNode {
  if (offset + 2 > bytes.length) throw new DerError('truncated', 'input ends inside a tag or length');
  const tag = bytes[offset];
  if ((tag & 0x1f) === 0x1f) throw new DerError('unexpected-tag', 'multi-byte tags are not used here');
  const first = bytes[offset + 1];
  let length = first;
  let headerLength = 2;
  if (first === 0x80) throw new DerError('indefinite-length', 'indefinite length is not DER');
  if (first > 0x80) {
    const lengthBytes = first & 0x7f;
    if (lengthBytes > 4) throw new DerError('non-minimal-length', `a ${lengthBytes}-byte length field is not plausible here`);
    if (offset + 2 + lengthBytes > bytes.length) throw new DerError('truncated', 'input ends inside a length');
    length = 0;
    for (let i = 0; i < lengthBytes; i++) length = length * 256 + bytes[offset + 2 + i];
    // DER: long form only for lengths >= 128, and with no leading zero byte.
    if (bytes[offset + 2] === 0 || length < 0x80) {
      throw new DerError('non-minimal-length', 'length is not in its shortest form');
    }
    headerLength += lengthBytes;
  }
  const start = offset + headerLength;
  if (start + length > bytes.length) throw new DerError('truncated', `element claims ${length} bytes but the input is shorter`);
  return { tag, value: bytes.subarray(start, start + length), end: start + length };
}

/** Reads one element that must span the whole input. */
export function readDer(bytes: Uint8Array): DerNode {
  const node = readDerElement(bytes);
  if (node.end !== bytes.length) {
    throw new DerError('trailing-bytes', `${bytes.length - node.end} byte(s) follow the end of the DER structure`);
  }
  return node;
}

/** Splits a constructed element's contents into its children. */
export function readDerChildren(node: DerNode): DerNode[] {
  const children: DerNode[] = [];
  let offset = 0;
  while (offset < node.value.length) {
    const child = readDerElement(node.value, offset);
    children.push(child);
    offset = child.end;
  }
  return children;
}

export function expectTag(node: DerNode | undefined, tag: number, what: string): DerNode {
  if (!node) throw new DerError('truncated', `${what} is missing`);
  if (node.tag !== tag) {
    throw new DerError('unexpected-tag', `${what}: expected tag 0x${tag.toString(16)}, found 0x${node.tag.toString(16)}`);
  }
  return node;
}

export function decodeOid(value: Uint8Array): string {
  if (value.length === 0 || (value[value.length - 1] & 0x80) !== 0) {
    throw new DerError('truncated', 'object identifier is empty or cut short');
  }
  const arcs: number[] = [];
  let arc = 0;
  for (const byte of value) {
    arc = arc * 128 + (byte & 0x7f);
    if ((byte & 0x80) === 0) {
      arcs.push(arc);
      arc = 0;
    }
  }
  const first = Math.min(Math.floor(arcs[0] / 40), 2);
  return [first, arcs[0] - first * 40, ...arcs.slice(1)].join('.');
}

function encodeLength(length: number): Uint8Array {
  if (length < 0x80) return Uint8Array.of(length);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

export function derElement(tag: number, ...contents: Uint8Array[]): Uint8Array {
  const value = concatBytes(...contents);
  return concatBytes(Uint8Array.of(tag), encodeLength(value.length), value);
}

export function derSequence(...children: Uint8Array[]): Uint8Array {
  return derElement(DerTag.SEQUENCE, ...children);
}

/** Non-negative INTEGER in its minimal two's-complement form. */
export function derInteger(value: bigint): Uint8Array {
  if (value < 0n) throw new RangeError('only non-negative integers are encoded here');
  let hex = value.toString(16);
  if (hex.length % 2 === 1) hex = `0${hex}`;
  if (Number.parseInt(hex.slice(0, 2), 16) >= 0x80) hex = `00${hex}`;
  return derElement(DerTag.INTEGER, hexToBytes(hex));
}

export function derOid(dotted: string): Uint8Array {
  const arcs = dotted.split('.').map(Number);
  const body: number[] = [];
  for (const arc of [arcs[0] * 40 + arcs[1], ...arcs.slice(2)]) {
    const groups = [arc & 0x7f];
    for (let rest = Math.floor(arc / 128); rest > 0; rest = Math.floor(rest / 128)) groups.unshift(0x80 | (rest & 0x7f));
    body.push(...groups);
  }
  return derElement(DerTag.OBJECT_IDENTIFIER, Uint8Array.from(body));
}

export function derBitString(bytes: Uint8Array): Uint8Array {
  return derElement(DerTag.BIT_STRING, Uint8Array.of(0), bytes);
}

export function derOctetString(bytes: Uint8Array): Uint8Array {
  return derElement(DerTag.OCTET_STRING, bytes);
}
