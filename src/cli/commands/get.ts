import { Option, type Command } from 'commander';
import type { TenetClient, WatchEvent } from '../../client/api-client';
import { ApiError, UnreachableError } from '../../client/errors';
import type { KindInfo } from '../../core/model/registry';
import type { TenetObject } from '../../core/model/object';
import { parseSelector, selectorMatches, type LabelSelector } from '../../core/model/selectors';
import { API_VERSION } from '../../core/model/common';
import { clientFor } from '../context';
import { kindArg, selectorArg, targetArg, tenantOptionFor } from '../args';
import { findTarget } from '../lookup';
import { columnsFor, columnWidths, formatData, objectRows, renderTable, OUTPUT_FORMATS, type OutputFormat } from '../output';
import { compareByDependency } from '../normalize';

interface GetOptions {
  tenant?: string;
  selector?: string;
  output: OutputFormat;
  watch?: boolean;
}

export function register(program: Command): void {
  program
    .command('get')
    .description('list objects of a kind, or show one (kinds by plural, singular or alias: networks, net, ...)')
    .argument('<kind>', 'tenants, networks, scopes, groups, policies, globalpolicies, services, endpoints, hosts (or an alias)')
    .argument('[name]', 'one object; for tenant-scoped kinds also TENANT/NAME')
    .option('--tenant <tenant>', 'only this tenant (tenant-scoped kinds); without it every tenant is listed')
    .option('-l, --selector <selector>', 'label selector, e.g. app=web,tier!=db')
    .addOption(new Option('-o, --output <format>', 'output format').choices(OUTPUT_FORMATS as string[]).default('table'))
    .option('-w, --watch', 'after listing, print every change as it happens (Ctrl-C to stop)')
    .addHelpText('after', '\nExamples:\n  tenet get tenants\n  tenet get net --tenant acme -o wide\n  tenet get endpoints -l app=web -w\n  tenet get policy acme/allow-web -o yaml')
    .action(async (kindText: string, nameText: string | undefined, options: GetOptions, command: Command) => {
      const client = clientFor(command);
      const selectorText = selectorArg(options.selector);
      if (nameText !== undefined) {
        const target = targetArg(kindText, nameText, options.tenant);
        const object = await findTarget(client, target);
        if (options.watch) return watch(client, target.info, { tenant: object.metadata.tenant, name: object.metadata.name, selectorText }, options.output);
        print([object], target.info, options.output, target.tenant === undefined && target.info.tenantScoped, false);
        return;
      }
      const info = kindArg(kindText);
      const tenant = tenantOptionFor(info, options.tenant);
      if (options.watch) return watch(client, info, { tenant, selectorText }, options.output);
      const list = await client.list(info.kind, { tenant, labelSelector: selectorText });
      const items = [...list.items].sort(compareByDependency);
      if (options.output === 'json' || options.output === 'yaml') {
        process.stdout.write(formatData({ apiVersion: API_VERSION, kind: 'List', metadata: { resourceVersion: String(list.resourceVersion) }, items }, options.output));
        return;
      }
      if (items.length === 0) {
        process.stderr.write(`No ${info.plural} found${tenant ? ` in tenant ${tenant}` : ''}.\n`);
        return;
      }
      print(items, info, options.output, info.tenantScoped && tenant === undefined, true);
    });
}

function print(objects: TenetObject[], info: KindInfo, format: OutputFormat, showTenant: boolean, asList: boolean): void {
  if (format === 'json' || format === 'yaml') {
    process.stdout.write(formatData(asList ? objects : objects[0], format));
    return;
  }
  const columns = columnsFor(info, { wide: format === 'wide', showTenant });
  process.stdout.write(renderTable(columns.map((c) => c.header), objectRows(objects, columns)));
}

/** How long `get -w` keeps trying to reach a controller after its stream ended. */
const RECONNECT_MS = 60_000;

interface WatchFilter {
  tenant?: string;
  name?: string;
  selectorText?: string;
}

/**
 * List, then follow the watch stream from the list's revision. A 410 (history compacted) means
 * events were lost: list again and print the fresh state, then follow from there. Runs until
 * SIGINT/SIGTERM; a stream that ends is resumed from the last revision seen once a controller
 * answers again (RECONNECT_MS at most).
 */
async function watch(client: TenetClient, info: KindInfo, filter: WatchFilter, format: OutputFormat): Promise<void> {
  const selector: LabelSelector | undefined = filter.selectorText ? parseSelector(filter.selectorText) : undefined;
  const named = (object: TenetObject) =>
    (filter.name === undefined || object.metadata.name === filter.name) && (filter.tenant === undefined || object.metadata.tenant === filter.tenant);
  const wanted = (object: TenetObject) => named(object) && (selector === undefined || selectorMatches(selector, object.metadata.labels ?? {}));
  const columns = columnsFor(info, { wide: format === 'wide', showTenant: info.tenantScoped && filter.tenant === undefined });
  const headers = ['EVENT', ...columns.map((c) => c.header)];
  let widths: number[] | undefined;
  const emit = (type: string, objects: TenetObject[]) => {
    if (format === 'json' || format === 'yaml') {
      for (const object of objects) process.stdout.write(format === 'json' ? `${JSON.stringify({ type, object })}\n` : `---\n${formatData({ type, object }, 'yaml')}`);
      return;
    }
    const rows = objectRows(objects, columns).map((row) => [type, ...row]);
    if (!widths) {
      widths = columnWidths(headers, rows).map((w, i) => (i === 0 ? Math.max(w, 'MODIFIED'.length) : w));
      process.stdout.write(renderTable(headers, rows, widths));
    } else if (rows.length > 0) {
      process.stdout.write(renderTable(headers, rows, widths).split('\n').slice(1).join('\n'));
    }
  };

  let stopped = false;
  let current: { close(): void } | undefined;
  let wake: (() => void) | undefined;
  const stop = () => {
    stopped = true;
    current?.close();
    wake?.();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    let revision = await relist('ADDED');
    while (!stopped) {
      // The controller applies the selector: an object that stops matching comes as DELETED (carrying
      // its new labels), which a filter on the labels here would drop.
      const handle = client.watch({ kind: info.kind, tenant: filter.tenant, labelSelector: filter.selectorText }, revision, (event: WatchEvent) => {
        revision = Math.max(revision, event.revision);
        if (event.type === 'BOOKMARK' || !event.object || !named(event.object)) return;
        emit(event.type, [event.object]);
      });
      current = handle;
      if (stopped) handle.close();
      try {
        await handle.done;
      } catch (error) {
        if (stopped) break;
        if (error instanceof ApiError && error.status === 410) {
          revision = await relist('SYNC');
          continue;
        }
        if (!(error instanceof UnreachableError)) throw error;
      }
      if (stopped) break;
      // The stream ended (controller restarted, or failed over): resume from the last revision seen.
      await reconnect();
    }
  } finally {
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
  }

  /** Waits until a controller answers again (trying every --server), or gives up after RECONNECT_MS. */
  async function reconnect(): Promise<void> {
    process.stderr.write('note: the watch stream ended; reconnecting\n');
    const deadline = Date.now() + RECONNECT_MS;
    let delay = 100;
    while (!stopped) {
      try {
        await client.request('GET', '/healthz');
        return;
      } catch (error) {
        if (!(error instanceof UnreachableError) || Date.now() > deadline) throw error;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      delay = Math.min(delay * 2, 2000);
    }
  }

  async function relist(type: string): Promise<number> {
    const list = await client.list(info.kind, { tenant: filter.tenant, labelSelector: filter.selectorText });
    emit(type, [...list.items].filter(wanted).sort(compareByDependency));
    return list.resourceVersion;
  }
}
