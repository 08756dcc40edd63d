import type { Command } from 'commander';
import { ServiceWatchColumns } from '../service-watch';
import type { TenetClient, WatchEvent } from '../../client/api-client';
import { ApiError, UnreachableError } from '../../client/errors';
import type { KindInfo } from '../../core/model/registry';
import type { TenetObject } from '../../core/model/object';
import { parseSelector, selectorMatches, type LabelSelector } from '../../core/model/selectors';
import { API_VERSION } from '../../core/model/common';
import { clientFor } from '../context';
import { kindArg, selectorArg, targetArg, tenantOptionFor } from '../args';
import { findTarget } from '../lookup';
import { columnsFor, columnWidths, formatData, objectRows, renderTable, type OutputFormat } from '../output';
import { CliError } from '../context';
import { jsonPath, JsonPathError } from '../jsonpath';
import { refPath } from '../manifests';
import { compareByDependency } from '../normalize';

interface GetOptions {
  tenant?: string;
  selector?: string;
  output: string;
  watch?: boolean;
  headers: boolean;
}

/** `-o`: the table formats, json, yaml, `name` (kind/[tenant/]name per line) or `jsonpath=TEMPLATE` (kubectl's syntax). */
type GetFormat = { type: OutputFormat } | { type: 'name' } | { type: 'jsonpath'; template: string };

function getFormat(text: string, watching: boolean): GetFormat {
  if (text.startsWith('jsonpath=')) {
    if (watching) throw new CliError('-o jsonpath does not apply to -w; use -o json', 2);
    const template = text.slice('jsonpath='.length);
    jsonPath(template, {}); // a template that does not parse is a usage error, before any request
    return { type: 'jsonpath', template };
  }
  if (text === 'name') {
    if (watching) throw new CliError('-o name does not apply to -w; use -o json', 2);
    return { type: 'name' };
  }
  if (['table', 'wide', 'json', 'yaml'].includes(text)) return { type: text as OutputFormat };
  throw new CliError(`-o ${text}: use one of table, wide, json, yaml, name, jsonpath=TEMPLATE`, 2);
}

export function register(program: Command): void {
  program
    .command('get')
    .description('list objects of a kind, or show one (kinds by plural, singular or alias: networks, net, ...)')
    .argument('<kind>', 'tenants, networks, scopes, groups, policies, globalpolicies, services, endpoints, hosts (or an alias)')
    .argument('[name]', 'one object; for tenant-scoped kinds also TENANT/NAME')
    .option('--tenant <tenant>', 'only this tenant (tenant-scoped kinds); without it every tenant is listed')
    .option('-l, --selector <selector>', 'label selector, e.g. app=web,tier!=db')
    .option('-o, --output <format>', 'table, wide, json, yaml, name, or jsonpath=TEMPLATE (kubectl syntax)', 'table')
    .option('--no-headers', 'table output without the header line')
    .option('-w, --watch', 'after listing, print every change as it happens (Ctrl-C to stop)')
    .addHelpText(
      'after',
      '\nExamples:\n  tenet get tenants\n  tenet get net --tenant acme -o wide\n  tenet get endpoints -l app=web -w\n  tenet get policy acme/allow-web -o yaml\n  tenet get networks -o name\n  tenet get endpoints -o jsonpath=\'{range .items[*]}{.metadata.name}{"\\t"}{.status.ipv4}{"\\n"}{end}\'',
    )
    .action(async (kindText: string, nameText: string | undefined, options: GetOptions, command: Command) => {
      let format: GetFormat;
      try {
        format = getFormat(options.output, options.watch ?? false);
      } catch (error) {
        if (error instanceof JsonPathError) throw new CliError(`-o jsonpath: ${error.message}`, 2);
        throw error;
      }
      const client = clientFor(command);
      const selectorText = selectorArg(options.selector);
      const headers = options.headers;
      if (nameText !== undefined) {
        const target = targetArg(kindText, nameText, options.tenant);
        const object = await findTarget(client, target);
        if (options.watch)
          return watch(
            client,
            target.info,
            { tenant: object.metadata.tenant, name: object.metadata.name, selectorText },
            format.type as OutputFormat,
            headers,
          );
        if (format.type === 'name') process.stdout.write(`${refPath(object)}\n`);
        else if (format.type === 'jsonpath') process.stdout.write(jsonPath(format.template, object));
        else print([object], target.info, format.type, target.tenant === undefined && target.info.tenantScoped, false, headers);
        return;
      }
      const info = kindArg(kindText);
      const tenant = tenantOptionFor(info, options.tenant);
      if (options.watch) return watch(client, info, { tenant, selectorText }, format.type as OutputFormat, headers);
      const list = await client.list(info.kind, { tenant, labelSelector: selectorText });
      const items = [...list.items].sort(compareByDependency);
      const asList = { apiVersion: API_VERSION, kind: 'List', metadata: { resourceVersion: String(list.resourceVersion) }, items };
      if (format.type === 'json' || format.type === 'yaml') {
        process.stdout.write(formatData(asList, format.type));
        return;
      }
      if (format.type === 'jsonpath') {
        process.stdout.write(jsonPath(format.template, asList));
        return;
      }
      if (format.type === 'name') {
        process.stdout.write(items.map((o) => `${refPath(o)}\n`).join(''));
        return;
      }
      if (items.length === 0) {
        process.stderr.write(`No ${info.plural} found${tenant ? ` in tenant ${tenant}` : ''}.\n`);
        return;
      }
      print(items, info, format.type, info.tenantScoped && tenant === undefined, true, headers);
    });
}

function print(objects: TenetObject[], info: KindInfo, format: OutputFormat, showTenant: boolean, asList: boolean, headers: boolean): void {
  if (format === 'json' || format === 'yaml') {
    process.stdout.write(formatData(asList ? objects : objects[0], format));
    return;
  }
  const columns = columnsFor(info, { wide: format === 'wide', showTenant });
  const table = renderTable(
    columns.map((c) => c.header),
    objectRows(objects, columns),
  );
  process.stdout.write(headers ? table : withoutHeader(table));
}

function withoutHeader(table: string): string {
  return table.slice(table.indexOf('\n') + 1);
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
async function watch(client: TenetClient, info: KindInfo, filter: WatchFilter, format: OutputFormat, headers = true): Promise<void> {
  const selector: LabelSelector | undefined = filter.selectorText ? parseSelector(filter.selectorText) : undefined;
  const named = (object: TenetObject) =>
    (filter.name === undefined || object.metadata.name === filter.name) &&
    (filter.tenant === undefined || object.metadata.tenant === filter.tenant);
  const wanted = (object: TenetObject) =>
    named(object) && (selector === undefined || selectorMatches(selector, object.metadata.labels ?? {}));
  const columns = columnsFor(info, { wide: format === 'wide', showTenant: info.tenantScoped && filter.tenant === undefined });
  const showHeaders = headers;
  const headers_ = ['EVENT', ...columns.map((c) => c.header)];
  let widths: number[] | undefined;
  const print = (type: string, objects: TenetObject[]) => {
    if (format === 'json' || format === 'yaml') {
      for (const object of objects)
        process.stdout.write(format === 'json' ? `${JSON.stringify({ type, object })}\n` : `---\n${formatData({ type, object }, 'yaml')}`);
      return;
    }
    const rows = objectRows(objects, columns).map((row) => [type, ...row]);
    if (!widths) {
      widths = columnWidths(headers_, rows).map((w, i) => (i === 0 ? Math.max(w, 'MODIFIED'.length) : w));
      const table = renderTable(headers_, rows, widths);
      process.stdout.write(showHeaders ? table : withoutHeader(table));
    } else if (rows.length > 0) {
      process.stdout.write(renderTable(headers_, rows, widths).split('\n').slice(1).join('\n'));
    }
  };
  // Services: READY and HOSTS follow endpoints and hosts (src/cli/service-watch.ts).
  const services = info.kind === 'Service' ? new ServiceWatchColumns(client, filter, wanted, print) : undefined;
  const emit = (type: string, objects: TenetObject[]) => (services ? services.show(type, objects) : print(type, objects));

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
    services?.start(revision);
    while (!stopped) {
      // The controller applies the selector: an object that stops matching comes as DELETED (carrying
      // its new labels), which a filter on the labels here would drop.
      const handle = client.watch(
        { kind: info.kind, tenant: filter.tenant, labelSelector: filter.selectorText },
        revision,
        (event: WatchEvent) => {
          revision = Math.max(revision, event.revision);
          if (event.type === 'BOOKMARK' || !event.object || !named(event.object)) return;
          emit(event.type, [event.object]);
        },
      );
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
    services?.stop();
    await services?.settled().catch(() => undefined);
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
