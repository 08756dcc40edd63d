/**
 * Export of flow and deny records for collectors (docs/observability.md, "Export"): every record the
 * agent makes, as one JSON object per line, appended to a file or written to a unix stream socket a
 * collector listens on (Vector's `socket` source, Fluent Bit's `unix_socket` input, Promtail, ...).
 *
 * Never in the way of the data path: records are queued (bounded, MAX_QUEUE lines) and written by
 * one asynchronous write at a time; what does not fit is dropped and counted (`dropped`). The file
 * is the host's (every tenant's records): created 0600, refused when it is a symlink, not a regular
 * file, owned by another user or hard-linked elsewhere; rotated once (PATH.1) at maxBytes. A socket is
 * connected to only when it is a socket (not a symlink) in a directory no one else may write to, or
 * one this user owns: whoever could put a socket there would read every tenant's records.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { FlowRecord } from '../../core/flows/record-types';
import type { Log } from '../../core/log';

export const MAX_QUEUE = 10000;
export const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;
const RECONNECT_MS = 1000;
/** Bytes the socket may hold unsent before lines are dropped rather than buffered. */
const SOCKET_HIGH_WATER = 1024 * 1024;

export type ExportTarget = { kind: 'file'; path: string } | { kind: 'unix'; path: string };

/** `PATH` or `unix:PATH`, absolute, printable, unix socket paths within the kernel's 107 bytes. */
export function parseExportTarget(text: string): ExportTarget {
  const unix = text.startsWith('unix:');
  const file = unix ? text.slice(5) : text;
  const shown = JSON.stringify(text.slice(0, 120));
  if (!path.isAbsolute(file) || path.normalize(file) !== file || file.endsWith('/'))
    throw new Error(`--flow-export ${shown}: an absolute, normalized path to a file, or unix:PATH`);
  if (/[\u0000-\u001f\u007f]/.test(file)) throw new Error(`--flow-export ${shown}: control characters in the path`);
  if (unix && Buffer.byteLength(file) > 107) throw new Error(`--flow-export ${shown}: a unix socket path is at most 107 bytes`);
  if (file.length > 4096) throw new Error('--flow-export: path too long');
  return unix ? { kind: 'unix', path: file } : { kind: 'file', path: file };
}

const uid = (): number => process.getuid?.() ?? 0;

/** Opens (or creates, 0600) the export file, refusing anything but a regular file of ours with one name. */
export function openExportFile(file: string): number {
  const flags = fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW;
  let fd: number;
  try {
    fd = fs.openSync(file, flags, 0o600);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new Error(`--flow-export ${file}: ${code === 'ELOOP' ? 'is a symbolic link' : (error as Error).message}`);
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) throw new Error(`--flow-export ${file}: not a regular file`);
    if (stat.uid !== uid()) throw new Error(`--flow-export ${file}: owned by uid ${stat.uid}, not by this agent's user`);
    if (stat.nlink !== 1) throw new Error(`--flow-export ${file}: has ${stat.nlink} names (a hard link)`);
    fs.fchmodSync(fd, 0o600);
    return fd;
  } catch (error) {
    fs.closeSync(fd);
    throw error;
  }
}

/** Whether a collector's socket may be trusted with every tenant's records (see the file comment). */
export function checkExportSocket(socketPath: string): void {
  const stat = fs.lstatSync(socketPath);
  if (!stat.isSocket())
    throw new Error(`--flow-export unix:${socketPath}: not a socket${stat.isSymbolicLink() ? ' (a symbolic link)' : ''}`);
  if (stat.uid === uid()) return;
  const dir = fs.statSync(path.dirname(socketPath));
  if ((dir.mode & 0o022) !== 0 || (dir.uid !== uid() && dir.uid !== stat.uid))
    throw new Error(
      `--flow-export unix:${socketPath}: the socket is another user's, in a directory others may write to (anyone could have put it there)`,
    );
}

export class FlowExport {
  /** Records written (handed to the file or the socket). */
  exported = 0;
  /** Records dropped: the queue was full (the collector or the disk too slow, the socket not connected). */
  dropped = 0;
  private queue: string[] = [];
  private writing = false;
  private fd?: number;
  private bytes = 0;
  private socket?: net.Socket;
  private connected = false;
  private reconnectTimer?: NodeJS.Timeout;
  private closed = false;

  constructor(
    readonly target: ExportTarget,
    private readonly log: Log,
    private readonly options: { maxQueue?: number; maxBytes?: number } = {},
  ) {
    if (target.kind === 'file') {
      this.fd = openExportFile(target.path);
      this.bytes = fs.fstatSync(this.fd).size;
    } else this.connect();
  }

  /** Queues one record (never blocks; over the bound it is dropped and counted). */
  write(record: FlowRecord): void {
    if (this.closed) return;
    if (this.queue.length >= (this.options.maxQueue ?? MAX_QUEUE)) {
      this.dropped++;
      return;
    }
    this.queue.push(`${JSON.stringify(record)}\n`);
    this.flush();
  }

  private flush(): void {
    if (this.writing || this.queue.length === 0) return;
    if (this.target.kind === 'unix') return this.flushSocket();
    if (this.fd === undefined) return;
    const lines = this.queue;
    this.queue = [];
    const data = Buffer.from(lines.join(''));
    this.writing = true;
    const fd = this.fd;
    fs.write(fd, data, (error) => {
      this.writing = false;
      if (this.closed) return void fs.close(fd, () => undefined);
      if (error) {
        this.dropped += lines.length;
        this.log('warn', 'flow export write failed', { path: this.target.path, error: error.message });
      } else {
        this.exported += lines.length;
        this.bytes += data.length;
        if (this.bytes >= (this.options.maxBytes ?? DEFAULT_MAX_BYTES)) this.rotate();
      }
      this.flush();
    });
  }

  /** PATH becomes PATH.1 (replacing the older one) and a new PATH is opened with the same checks. */
  private rotate(): void {
    const file = this.target.path;
    try {
      fs.renameSync(file, `${file}.1`);
      const fd = openExportFile(file);
      fs.closeSync(this.fd!);
      this.fd = fd;
      this.bytes = 0;
    } catch (error) {
      this.log('warn', 'flow export rotation failed; export stopped', { path: file, error: (error as Error).message });
      fs.closeSync(this.fd!);
      this.fd = undefined;
    }
  }

  private flushSocket(): void {
    const socket = this.socket;
    if (!socket || !this.connected) return;
    while (this.queue.length > 0 && socket.writableLength < SOCKET_HIGH_WATER) {
      const batch = this.queue.splice(0, 500);
      socket.write(batch.join(''));
      this.exported += batch.length;
    }
  }

  private connect(): void {
    if (this.closed) return;
    try {
      checkExportSocket(this.target.path);
    } catch (error) {
      this.log('warn', 'flow export socket refused', { error: (error as Error).message });
      return this.retry();
    }
    const socket = net.createConnection(this.target.path);
    this.socket = socket;
    socket.on('connect', () => {
      this.connected = true;
      this.flushSocket();
    });
    socket.on('drain', () => this.flushSocket());
    // A collector that sends something is ignored; a closed or failed connection is made again.
    socket.on('data', () => undefined);
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.connected = false;
      this.socket = undefined;
      this.retry();
    });
  }

  private retry(): void {
    if (this.closed || this.reconnectTimer) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.connect();
    }, RECONNECT_MS);
    this.reconnectTimer.unref();
  }

  /** Lines waiting to be written. */
  get queued(): number {
    return this.queue.length;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    this.socket?.destroy();
    if (this.fd !== undefined && !this.writing) fs.closeSync(this.fd);
  }
}
