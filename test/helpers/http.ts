/** Raw HTTP for tests: any method, path, headers and body, over one keep-alive agent (or a fresh connection). */
import http from 'node:http';

export const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });

export interface Answer {
  status: number;
  text: string;
  json: unknown;
}

type SendOptions = { token?: string; body?: unknown; headers?: Record<string, string>; rawBody?: string | Buffer; fresh?: boolean };

/**
 * One request. A kept-alive socket the server closed after its previous answer (it closes after
 * refusing an oversized body, for instance) can reset the next request sent on it: that request is
 * sent once more on a new connection, which is what any HTTP client does.
 */
export async function send(base: string, method: string, path: string, options: SendOptions = {}): Promise<Answer> {
  try {
    return await sendOnce(base, method, path, options);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (options.fresh || (code !== 'ECONNRESET' && code !== 'EPIPE')) throw error;
    return sendOnce(base, method, path, { ...options, fresh: true });
  }
}

function sendOnce(base: string, method: string, path: string, options: SendOptions): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const url = new URL(base);
    const payload = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
    const headers: Record<string, string> = {
      ...(payload !== undefined && options.rawBody === undefined ? { 'content-type': 'application/json' } : {}),
      ...(options.headers ?? {}),
    };
    // Node's client sends a DELETE (or OPTIONS) body with neither Content-Length nor chunked framing, so
    // the server would read the body as the next request: always frame a body explicitly.
    if (payload !== undefined && !Object.keys(headers).some((h) => /^(content-length|transfer-encoding)$/i.test(h)))
      headers['content-length'] = String(Buffer.byteLength(payload));
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    const request = http.request(
      { host: url.hostname, port: url.port, method, path, headers, agent: options.fresh ? false : agent },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (c: Buffer) => chunks.push(c));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: response.statusCode ?? 0, text, json });
        });
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(payload);
  });
}

export async function mintToken(base: string, admin: string, body: Record<string, unknown>): Promise<{ token: string; id: string }> {
  const answer = await send(base, 'POST', '/api/v1/tokens', { token: admin, body });
  if (answer.status !== 201) throw new Error(`token create failed: ${answer.status} ${answer.text}`);
  return answer.json as { token: string; id: string };
}
