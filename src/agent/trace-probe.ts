/**
 * The probe of `tenet trace`, run by the agent inside the source endpoint's own network namespace
 * (`nsenter --net=<its namespace> setpriv --pdeathsig KILL -- node trace-probe.js ...`): one real TCP
 * connect, UDP datagram or ICMP echo from the endpoint's address and the source port the tracer
 * matches. Prints one JSON line, {result, detail?}, and exits. Arguments are checked again here:
 * protocol saddr sport daddr dport timeoutMs (ports 0 for ICMP).
 */
import net from 'node:net';
import dgram from 'node:dgram';
import { spawn } from 'node:child_process';

type Result = { result: 'connected' | 'refused' | 'replied' | 'timeout' | 'sent' | 'error'; detail?: string };

function finish(result: Result): void {
  process.stdout.write(JSON.stringify(result) + '\n');
  process.exit(0);
}

function main(argv: string[]): void {
  const [protocol, saddr, sportText, daddr, dportText, timeoutText] = argv;
  const sport = Number(sportText);
  const dport = Number(dportText);
  const timeoutMs = Number(timeoutText);
  if (!net.isIP(saddr) || !net.isIP(daddr) || !Number.isInteger(timeoutMs) || timeoutMs < 100 || timeoutMs > 30000)
    return finish({ result: 'error', detail: 'bad arguments' });
  const family = net.isIP(saddr);
  if (protocol === 'tcp') {
    const socket = net.connect({ host: daddr, port: dport, localAddress: saddr, localPort: sport, family });
    socket.setTimeout(timeoutMs, () => {
      socket.destroy();
      finish({ result: 'timeout' });
    });
    socket.on('connect', () => {
      socket.destroy();
      finish({ result: 'connected' });
    });
    socket.on('error', (error: NodeJS.ErrnoException) =>
      finish(error.code === 'ECONNREFUSED' ? { result: 'refused' } : { result: 'error', detail: error.code ?? error.message }),
    );
    return;
  }
  if (protocol === 'udp') {
    const socket = dgram.createSocket(family === 6 ? 'udp6' : 'udp4');
    socket.on('error', (error: NodeJS.ErrnoException) =>
      finish(error.code === 'ECONNREFUSED' ? { result: 'refused' } : { result: 'error', detail: error.code ?? error.message }),
    );
    socket.on('message', () => finish({ result: 'replied' }));
    socket.bind(sport, saddr, () => {
      // Connected: an ICMP port unreachable comes back as ECONNREFUSED.
      socket.connect(dport, daddr, () => {
        socket.send(Buffer.from('tenet trace\n'), (error) => {
          if (error) finish({ result: 'error', detail: error.message });
          setTimeout(() => finish({ result: 'sent' }), timeoutMs);
        });
      });
    });
    return;
  }
  if (protocol === 'icmp' || protocol === 'icmpv6') {
    const wait = String(Math.max(1, Math.round(timeoutMs / 1000)));
    const child = spawn('ping', [protocol === 'icmpv6' ? '-6' : '-4', '-c', '1', '-W', wait, '-I', saddr, daddr], { stdio: 'ignore' });
    child.on('error', (error) => finish({ result: 'error', detail: error.message }));
    child.on('exit', (code) => finish(code === 0 ? { result: 'replied' } : { result: 'timeout' }));
    return;
  }
  finish({ result: 'error', detail: 'unknown protocol' });
}

if (require.main === module) main(process.argv.slice(2));
