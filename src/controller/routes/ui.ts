/**
 * The web console's files under /ui/ (docs/ui.md). The bundle is built at setup (`npm run build`,
 * scripts/build-ui.mjs) into dist/console and read once here: the answer to /ui/NAME is a lookup in that
 * fixed table, so no request path ever reaches the file system. The page holds no data: every view
 * asks the API with the token the user typed, and the API alone decides what the token may see or do.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { access } from '../auth/access';
import { notFound, ServiceError } from '../errors';

/** dist/console, next to dist/src where this module runs from (dist/ui would collide with tsc's output of ui/ for unit tests). */
export const UI_DIR = path.resolve(__dirname, '..', '..', '..', 'console');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  // The bundled libraries' licence texts (esbuild's legalComments: linked).
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/**
 * Scripts only from this origin (no inline script, no eval): a name or label that slipped past
 * escaping still cannot run. Styles may be inline because the graph library positions its
 * canvases with style attributes.
 */
const HEADERS = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; " +
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'; object-src 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

function readAssets(dir: string): Map<string, { type: string; body: Buffer }> {
  const assets = new Map<string, { type: string; body: Buffer }>();
  if (!fs.existsSync(dir)) return assets;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const type = TYPES[path.extname(entry.name)];
    if (entry.isFile() && type && FILE_NAME.test(entry.name))
      assets.set(entry.name, { type, body: fs.readFileSync(path.join(dir, entry.name)) });
  }
  return assets;
}

export function registerUiRoutes(app: FastifyInstance, dir: string = UI_DIR): void {
  const assets = readAssets(dir);
  const send = (reply: FastifyReply, name: string) => {
    const asset = assets.get(name);
    if (!asset) {
      if (name === 'index.html')
        throw new ServiceError(503, 'Internal', `the web console is not built (no ${path.join(dir, name)}): run npm run build`);
      throw notFound(`no file ${JSON.stringify(name.slice(0, 100))} in the web console`);
    }
    return reply.headers(HEADERS).type(asset.type).send(asset.body);
  };
  app.get('/ui', access({ type: 'public' }), async (_request, reply) => reply.redirect('/ui/', 302));
  app.get('/ui/', access({ type: 'public' }), async (_request, reply) => send(reply, 'index.html'));
  app.get('/ui/:file', access({ type: 'public' }), async (request, reply) => send(reply, (request.params as { file: string }).file));
}
