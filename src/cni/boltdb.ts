/**
 * A read-only reader of bbolt files (go.etcd.io/bbolt: podman 4's container database), just enough
 * to fetch one value under nested buckets. Layout (little-endian, as written on amd64/arm64):
 *   page header: id u64, flags u16, count u16, overflow u32 (16 bytes), then the elements;
 *   meta (pages 0 and 1): magic, version, pageSize, flags (u32 each), root bucket {pgid, sequence},
 *     freelist, pgid, txid (u64 each), checksum (FNV-1a 64 of the 56 bytes before it);
 *   branch element: pos u32, ksize u32, pgid u64; leaf element: flags u32, pos u32, ksize u32, vsize u32
 *     (pos counts from the element itself); a bucket's value is {root pgid, sequence} and, when root
 *     is 0, the bucket's single page inline after it.
 * The file is read without bbolt's lock, so a write may be under way: only a meta page whose checksum
 * holds is used (the newer of the two), every offset is bounds-checked, and anything inconsistent is
 * an error the caller may retry — never a wrong answer silently taken.
 */
const MAGIC = 0xed0cdaed;
const PAGE_HEADER = 16;
const ELEMENT = 16;
const BRANCH = 0x01;
const LEAF = 0x02;
const META = 0x04;
const BUCKET_LEAF = 0x01;
const MAX_DEPTH = 64;

export class BoltFormatError extends Error {}

interface PageRef {
  buf: Buffer;
  offset: number;
}

function fnv1a64(bytes: Buffer): bigint {
  let hash = 0xcbf29ce484222325n;
  for (const byte of bytes) {
    hash ^= BigInt(byte);
    hash = (hash * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return hash;
}

function check(condition: boolean, what: string): void {
  if (!condition) throw new BoltFormatError(`not a consistent bbolt file: ${what}`);
}

export class BoltReader {
  private readonly pageSize: number;
  private readonly root: bigint;

  constructor(private readonly file: Buffer) {
    const metas: Array<{ pageSize: number; root: bigint; txid: bigint }> = [];
    const firstPageSize = file.length >= 64 ? file.readUInt32LE(PAGE_HEADER + 8) : 0;
    for (const offset of [0, firstPageSize]) {
      const meta = this.meta(offset);
      if (meta) metas.push(meta);
    }
    check(metas.length > 0, 'no valid meta page');
    const newest = metas.sort((a, b) => (a.txid > b.txid ? -1 : 1))[0];
    this.pageSize = newest.pageSize;
    this.root = newest.root;
  }

  private meta(offset: number): { pageSize: number; root: bigint; txid: bigint } | undefined {
    const at = offset + PAGE_HEADER;
    if (at + 64 > this.file.length) return undefined;
    if ((this.file.readUInt16LE(offset + 8) & META) === 0 || this.file.readUInt32LE(at) !== MAGIC) return undefined;
    if (fnv1a64(this.file.subarray(at, at + 56)) !== this.file.readBigUInt64LE(at + 56)) return undefined;
    const pageSize = this.file.readUInt32LE(at + 8);
    if (pageSize < 512 || pageSize > 1 << 20 || (pageSize & (pageSize - 1)) !== 0) return undefined;
    return { pageSize, root: this.file.readBigUInt64LE(at + 16), txid: this.file.readBigUInt64LE(at + 48) };
  }

  private page(pgid: bigint): PageRef {
    const offset = Number(pgid) * this.pageSize;
    check(pgid > 1n && Number.isSafeInteger(offset) && offset + PAGE_HEADER <= this.file.length, `page ${pgid} outside the file`);
    check(this.file.readBigUInt64LE(offset) === pgid, `page ${pgid} carries another id`);
    return { buf: this.file, offset };
  }

  /** The value under `path` (bucket names, then the key), or undefined when any part is missing. */
  get(path: readonly string[]): Buffer | undefined {
    check(path.length > 0, 'empty path');
    let bucket: PageRef | bigint = this.root;
    for (const [i, name] of path.entries()) {
      const last = i === path.length - 1;
      const found = this.lookup(bucket, Buffer.from(name, 'utf8'), 0);
      if (!found) return undefined;
      if (last) return found.isBucket ? undefined : found.value;
      if (!found.isBucket) return undefined;
      check(found.value.length >= 16, 'short bucket header');
      const root = found.value.readBigUInt64LE(0);
      bucket = root === 0n ? { buf: found.value, offset: 16 } : root;
    }
    return undefined;
  }

  private lookup(where: PageRef | bigint, key: Buffer, depth: number): { value: Buffer; isBucket: boolean } | undefined {
    check(depth < MAX_DEPTH, 'tree too deep');
    const { buf, offset } = typeof where === 'bigint' ? this.page(where) : where;
    check(offset + PAGE_HEADER <= buf.length, 'page header outside its buffer');
    const flags = buf.readUInt16LE(offset + 8);
    const count = buf.readUInt16LE(offset + 10);
    const elements = offset + PAGE_HEADER;
    check(elements + count * ELEMENT <= buf.length, 'elements outside the page');
    const keyAt = (index: number, keySizeAt: number): Buffer => {
      const element = elements + index * ELEMENT;
      const start = element + buf.readUInt32LE(element + (keySizeAt === 4 ? 0 : 4));
      const size = buf.readUInt32LE(element + keySizeAt);
      check(start + size <= buf.length, 'key outside the page');
      return buf.subarray(start, start + size);
    };
    if (flags & BRANCH) {
      // The last child whose first key is <= the key sought.
      let child = -1;
      for (let i = 0; i < count; i++) {
        if (Buffer.compare(keyAt(i, 4), key) <= 0) child = i;
        else break;
      }
      if (child < 0) return undefined;
      return this.lookup(buf.readBigUInt64LE(elements + child * ELEMENT + 8), key, depth + 1);
    }
    check((flags & LEAF) !== 0, `page of unexpected type ${flags}`);
    for (let i = 0; i < count; i++) {
      const element = elements + i * ELEMENT;
      const k = keyAt(i, 8);
      const order = Buffer.compare(k, key);
      if (order < 0) continue;
      if (order > 0) return undefined;
      const vsize = buf.readUInt32LE(element + 12);
      const start = k.byteOffset - buf.byteOffset + k.length;
      check(start + vsize <= buf.length, 'value outside the page');
      return { value: buf.subarray(start, start + vsize), isBucket: (buf.readUInt32LE(element) & BUCKET_LEAF) !== 0 };
    }
    return undefined;
  }
}
