/** What the DNS-measuring benches share (bench/dns.ts, bench/services.ts). */

/** The p-th percentile (nearest rank). */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** Raw UDP A queries to the resolver; prints the round trips in ms, one per line. */
export const DNS_QUERY_SCRIPT = `
import socket, struct, sys, time
server, name, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
q = b''.join(bytes([len(l)]) + l.encode() for l in name.split('.')) + b'\\0' + struct.pack('>HH', 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(1)
out = []
for i in range(n):
    pkt = struct.pack('>HHHHHH', i & 0xffff, 0x0100, 1, 0, 0, 0) + q
    t = time.perf_counter(); s.sendto(pkt, (server, 53)); data = s.recv(512); out.append((time.perf_counter() - t) * 1000)
    assert data[:2] == pkt[:2] and (data[3] & 0x0f) == 0 and struct.unpack('>H', data[6:8])[0] >= 1
print('\\n'.join('%.4f' % v for v in out))
`;
