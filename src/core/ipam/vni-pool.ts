/** The VXLAN network identifiers tenants get: one each, from 4096 upward, returned on tenant deletion. */
import { RangeAllocator } from './range-allocator';

export const VNI_FIRST = 4096;
export const VNI_LAST = 16_777_215;

export class VniPool {
  private readonly allocator: RangeAllocator;

  constructor(first = VNI_FIRST, last = VNI_LAST) {
    this.allocator = new RangeAllocator(BigInt(first), BigInt(last));
  }

  markUsed(vni: number): void {
    this.allocator.markUsed(BigInt(vni));
  }

  release(vni: number): void {
    this.allocator.release(BigInt(vni));
  }

  allocate(): number | undefined {
    const value = this.allocator.allocate();
    return value === undefined ? undefined : Number(value);
  }

  get usedCount(): number {
    return this.allocator.usedCount;
  }
}
