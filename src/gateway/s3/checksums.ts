/**
 * s3/checksums: the digests an upload may carry and Gust checks before it keeps anything:
 * Content-MD5, x-amz-content-sha256 (hex), and the flexible checksums of current AWS SDKs
 * (x-amz-checksum-crc32|crc32c|sha1|sha256, as a header or an aws-chunked trailer), all computed
 * in one pass as the bytes stream to disk.
 */
import { createHash, type Hash } from 'node:crypto';
import { crc32 } from 'node:zlib';

export const CHECKSUM_ALGORITHMS = ['crc32', 'crc32c', 'sha1', 'sha256'] as const;
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];

/** CRC-32C (Castagnoli), table-driven: zlib has only the IEEE polynomial. */
const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32c(data: Uint8Array, previous: number): number {
  let crc = ~previous >>> 0;
  for (let i = 0; i < data.length; i++) crc = CRC32C_TABLE[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}

interface Digest {
  update(data: Uint8Array): void;
  /** base64, as S3 headers carry them */
  base64(): string;
}

function crcDigest(step: (data: Uint8Array, previous: number) => number): Digest {
  let value = 0;
  return {
    update: (data) => {
      value = step(data, value);
    },
    base64: () => {
      const out = Buffer.alloc(4);
      out.writeUInt32BE(value >>> 0);
      return out.toString('base64');
    },
  };
}

function hashDigest(hash: Hash): Digest {
  return { update: (data) => hash.update(data), base64: () => hash.digest('base64') };
}

export function newDigest(algorithm: ChecksumAlgorithm): Digest {
  switch (algorithm) {
    case 'crc32':
      return crcDigest((d, p) => crc32(d, p));
    case 'crc32c':
      return crcDigest(crc32c);
    case 'sha1':
      return hashDigest(createHash('sha1'));
    case 'sha256':
      return hashDigest(createHash('sha256'));
  }
}

export function isChecksumAlgorithm(name: string): name is ChecksumAlgorithm {
  return (CHECKSUM_ALGORITHMS as readonly string[]).includes(name);
}
